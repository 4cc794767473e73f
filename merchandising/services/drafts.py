"""Drafts: a merchandiser's edits held back from the storefront, previewed beside the live page, then
published at once. A draft holds rule operations, not copies of rules: the preview replays them in a
transaction that is rolled back, and publishing replays them for good, so both run the very services
the live edits run."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Shop
from homepage.cache import homepage_rules_changes_silenced

from ..lookups import open_draft
from ..models import AuditEntry, Draft, DraftChange
from . import rules
from .audit import audit_collected, audit_record
from .revert import RevertRefused, audit_entry_revert

OPERATIONS = {
    "rail_create": rules.rail_create,
    "rail_update": rules.rail_update,
    "rails_reorder": rules.rails_reorder,
    "pin_create": rules.pin_create,
    "adjustment_create": rules.adjustment_create,
    "block_create": rules.block_create,
    "rule_update": rules.rule_update,
    "rule_end": rules.rule_end,
    "rule_delete": rules.rule_delete,
    "campaign_create": rules.campaign_create,
    "campaign_update": rules.campaign_update,
}
# These services make a row: a draft records the id its first replay gave the row and makes it with that
# id on every replay, so later changes (in the draft, or made live after publishing) can name it.
CREATE_OPERATIONS = {"rail_create", "pin_create", "adjustment_create", "block_create", "campaign_create"}
# These services take the shop itself: the one the change is made in (rules_change's own shop=), never an argument.
SHOP_OPERATIONS = {"rail_create", "rails_reorder", "adjustment_create", "block_create", "campaign_create"}
MODELS = {"catalog.item", "merchandising.rail", "merchandising.pin", "merchandising.adjustment",
          "merchandising.block", "merchandising.campaign"}


class DraftConflict(ValueError):
    """A draft's change no longer applies: what it names was deleted or changed since."""


def _encoded(value):
    if isinstance(value, models.Model):
        return {"$model": value._meta.label_lower, "pk": value.pk}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encoded(entry) for entry in value]
    return value


def _owner(row: models.Model) -> int:
    return row.rail.shop_id if hasattr(row, "rail_id") else row.shop_id


def _decoded(value, shop: Shop):
    if isinstance(value, list):
        return [_decoded(entry, shop) for entry in value]
    if not isinstance(value, dict):
        return value
    if "$datetime" in value:
        return parse_datetime(value["$datetime"])
    label = value.get("$model")
    if label not in MODELS:
        raise DraftConflict(f"A draft cannot name {label!r}.")
    row = apps.get_model(label).objects.filter(pk=value["pk"]).first()
    if row is None or _owner(row) != shop.pk:
        raise DraftConflict(f"The {label.split('.')[1]} #{value['pk']} this draft changes no longer exists.")
    return row


def _apply(shop: Shop, operation: str, arguments: dict, *, actor):
    decoded = {name: _decoded(value, shop) for name, value in arguments.items()}
    if operation in SHOP_OPERATIONS:
        decoded["shop"] = shop
    return OPERATIONS[operation](actor=actor, **decoded)


def _replay(draft: Draft, *, actor) -> None:
    for change in draft.changes.all():
        try:
            _apply(draft.shop, change.operation, change.arguments, actor=actor)
        except (ValidationError, ValueError) as error:
            # A change that validated when made but fails now (what it names was deleted, a key got taken)
            # is a conflict, named by its summary: not a field error of the form being submitted.
            reasons = " ".join(getattr(error, "messages", None) or [str(error)])
            raise DraftConflict(f"“{change.summary}” no longer applies: {reasons}") from error


class _RolledBack(Exception):
    pass


@contextmanager
def draft_applied(*, draft: Draft) -> Iterator[None]:
    """Inside the block, the database holds the shop's rules as the draft would leave them; after it,
    the live rules again. Nothing is logged and no cached page goes stale."""
    try:
        with transaction.atomic(), homepage_rules_changes_silenced():
            _replay(draft, actor=None)
            yield
            raise _RolledBack
    except _RolledBack:
        pass


def draft_open(*, shop: Shop, author) -> Draft:
    """The author's open draft in this shop, started if there is none."""
    draft, _ = Draft.objects.get_or_create(shop=shop, author=author, published_at=None, discarded_at=None)
    return draft


def rules_change(*, shop: Shop, actor, operation: str, summary: str, **arguments):
    """The one way the console changes rules: applied and logged now, or, while the actor has an open
    draft in the shop, checked against the draft and kept in it. A change that does not validate raises
    the service's ValidationError either way, so forms show the same messages in both modes.

    Returns the rule the service returned, or the DraftChange that holds the edit.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"Unknown rule operation {operation!r}.")
    # Live edits go through the encoding too: the rows they name are read back within this shop, exactly
    # as a draft's replay reads them, so both modes accept and refuse the same edits.
    encoded = {name: _encoded(value) for name, value in arguments.items()}
    draft = open_draft(shop=shop, user=actor)
    if draft is None:
        return _apply(shop, operation, encoded, actor=actor)
    with draft_applied(draft=draft):
        made = _apply(shop, operation, encoded, actor=None)
    if operation in CREATE_OPERATIONS:
        encoded["pk"] = made.pk
    return DraftChange.objects.create(draft=draft, operation=operation, arguments=encoded, summary=summary[:300])


@transaction.atomic
def draft_publish(*, draft: Draft, actor) -> int:
    """Apply every change of the draft at once, or none if one fails; returns how many were applied."""
    draft = Draft.objects.select_for_update().get(pk=draft.pk)
    if not draft.is_open:
        raise ValidationError("This draft was already published or discarded.")
    with audit_collected() as entries:
        _replay(draft, actor=actor)
    draft.published_at = timezone.now()
    draft.save(update_fields=["published_at"])
    count = draft.changes.count()
    # The entries of its changes are kept with the publish: rolling the draft back reverts exactly those.
    audit_record(
        shop=draft.shop, actor=actor, action="draft_publish", rule=draft, object_repr=f"draft #{draft.pk}",
        after={"changes": list(draft.changes.values_list("summary", flat=True)), "entries": [entry.pk for entry in entries]},
    )
    return count


def draft_publish_entry(*, draft: Draft) -> AuditEntry | None:
    """The audit entry of the draft's publish; None while it is unpublished."""
    return AuditEntry.objects.filter(shop_id=draft.shop_id, action="draft_publish", object_type="draft",
                                     object_id=draft.pk).first()


def draft_rollback(*, draft: Draft, actor) -> AuditEntry:
    """Back to the live rules from before the draft's publish: each change it made reverted, the last first,
    all or none (RevertRefused says which one could not be, and why)."""
    entry = draft_publish_entry(draft=draft)
    if entry is None:
        raise RevertRefused("This draft was never published: there is nothing live to roll back.")
    return audit_entry_revert(entry=entry, actor=actor)


def draft_discard(*, draft: Draft, actor) -> None:
    draft.discarded_at = timezone.now()
    draft.save(update_fields=["discarded_at"])
    audit_record(
        shop=draft.shop, actor=actor, action="draft_discard", object_repr=f"draft #{draft.pk}",
        before={"changes": list(draft.changes.values_list("summary", flat=True))},
    )


def draft_change_remove(*, change: DraftChange) -> None:
    """Take one edit out of an open draft (the later ones are kept: each is checked again on preview)."""
    if not change.draft.is_open:
        raise ValidationError("This draft was already published or discarded.")
    change.delete()

"""Undo: put back what an audit entry changed, through the services that made the change, so every
guardrail applies to a revert as to an edit; and the revert is an audited change itself."""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.dateparse import parse_datetime

from recommender.models import ModelVersion
from recommender.selectors import active_version
from recommender.services.registry import VersionNotServable

from ..models import Adjustment, AuditEntry, Block, Campaign, Draft, Pin, Rail
from . import rules
from .audit import (
    audit_collected,
    audit_diff,
    audit_record,
    audit_reverted_by,
    audit_reverting,
    rule_state,
)
from .serving import model_version_serve

RULE_MODELS: dict[str, type[models.Model]] = {
    model._meta.model_name: model for model in (Rail, Pin, Adjustment, Block, Campaign)
}
CREATE = {
    Rail: rules.rail_create, Pin: rules.pin_create, Adjustment: rules.adjustment_create, Block: rules.block_create,
    Campaign: rules.campaign_create,
}
UPDATABLE = {
    Rail: rules.RAIL_FIELDS, Campaign: rules.CAMPAIGN_FIELDS, **rules.RULE_FIELDS,
}
# Actions by what they did to their row; the admin's are named by the admin's own verbs.
CREATES, UPDATES, DELETES = ("_create", "admin_add"), ("_update", "_end", "admin_change"), ("_delete", "admin_delete")
SERVING_ACTIONS = {"model_promote", "model_rollback"}


class RevertRefused(ValueError):
    """The entry cannot be reverted (or no longer can): the message says why."""


def _change_kind(entry: AuditEntry) -> str:
    if entry.action == "rails_reorder":
        return "reorder"
    if entry.action in SERVING_ACTIONS:
        return "serving"
    if entry.action == "draft_publish":
        return "publish"
    if entry.object_type not in RULE_MODELS:
        return ""
    for kind, endings in (("create", CREATES), ("update", UPDATES), ("delete", DELETES)):
        if entry.action.endswith(endings):
            state = entry.after if kind == "create" else entry.before
            return kind if state else ""
    return ""


def audit_entry_revertable(*, entry: AuditEntry) -> bool:
    """Whether the log offers to revert the entry: a kind of change a revert knows how to undo."""
    return bool(_change_kind(entry))


def _reasons(error: Exception) -> str:
    return " ".join(getattr(error, "messages", None) or [str(error)])


def _row_of_shop(model: type[models.Model], pk, shop_id: int) -> models.Model | None:
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        return None
    owner = row.rail.shop_id if isinstance(row, Pin) else row.shop_id
    return row if owner == shop_id else None


def _decoded(model: type[models.Model], name: str, value, shop_id: int):
    """A stored field's value as the services take it: the row a key names (refused if it is gone)."""
    field = model._meta.get_field(name)
    if value is None:
        return None
    if isinstance(field, models.ForeignKey):
        row = _row_of_shop(field.related_model, value, shop_id)
        if row is None:
            raise RevertRefused(f"The {field.related_model._meta.verbose_name} #{value} it named no longer exists.")
        return row
    if isinstance(field, models.DateTimeField):
        return parse_datetime(value)
    return value


def _changed_since(entry: AuditEntry, current: dict, names) -> list[str]:
    """The fields of `names` that a later change made different from what the entry left."""
    model = RULE_MODELS[entry.object_type]
    return [str(model._meta.get_field(name).verbose_name) for name in names if current.get(name) != entry.after.get(name)]


def _row(entry: AuditEntry, model: type[models.Model]) -> models.Model:
    row = _row_of_shop(model, entry.object_id, entry.shop_id)
    if row is None:
        raise RevertRefused(f"The {model._meta.verbose_name} #{entry.object_id} was deleted since: there is nothing to restore.")
    return row


def _update_revert(entry: AuditEntry, actor) -> None:
    model = RULE_MODELS[entry.object_type]
    row = _row(entry, model)
    names = [name for name in entry.before if name != "id" and entry.before[name] != entry.after.get(name)]
    stale = _changed_since(entry, rule_state(row), names)
    if stale:
        raise RevertRefused(f"{', '.join(stale).capitalize()} changed again since: revert the later change first.")
    fixed = [name for name in names if name not in UPDATABLE[model]]
    if fixed:
        raise RevertRefused(f"{', '.join(fixed).capitalize()} cannot be changed back: only the admin edits it.")
    fields = {name: _decoded(model, name, entry.before[name], entry.shop_id) for name in names}
    if model is Rail:
        rules.rail_update(rail=row, actor=actor, **fields)
    elif model is Campaign:
        rules.campaign_update(campaign=row, actor=actor, **fields)
    else:
        rules.rule_update(rule=row, actor=actor, **fields)


def _create_revert(entry: AuditEntry, actor) -> None:
    rules.rule_delete(rule=_row(entry, RULE_MODELS[entry.object_type]), actor=actor)


def _delete_revert(entry: AuditEntry, actor) -> None:
    """The row again, with its old fields (and a new id); what its delete took with it stays deleted."""
    model = RULE_MODELS[entry.object_type]
    fields = {
        name: _decoded(model, name, value, entry.shop_id) for name, value in entry.before.items() if name not in ("id", "shop")
    }
    if any(field.name == "shop" for field in model._meta.fields):
        fields["shop"] = entry.shop
    CREATE[model](actor=actor, **fields)


def _reorder_revert(entry: AuditEntry, actor) -> None:
    current = dict(Rail.objects.filter(shop_id=entry.shop_id).values_list("key", "position"))
    if any(key in current and current[key] != position for key, position in entry.after.items()):
        raise RevertRefused("The page order changed again since: revert the later change first.")
    keys = [key for key in sorted(entry.before, key=entry.before.get) if key in current]
    rules.rails_reorder(shop=entry.shop, keys=keys, actor=actor)


def _serving_revert(entry: AuditEntry, actor) -> None:
    version = ModelVersion.objects.filter(pk=entry.object_id, shop_id=entry.shop_id).first()
    previous_pk = entry.before.get("serving") if entry.before else None
    if version is None or previous_pk is None:
        raise RevertRefused("No version of this family served before it: there is nothing to go back to.")
    serving = active_version(shop=entry.shop, family=version.family)
    if serving is None or serving.pk != entry.after.get("serving"):
        raise RevertRefused(f"{serving or 'Nothing'} serves now, not #{entry.after.get('serving')}: "
                            "revert the later change first.")
    previous = ModelVersion.objects.filter(pk=previous_pk, shop_id=entry.shop_id).first()
    if previous is None:
        raise RevertRefused(f"Version #{previous_pk} was deleted since: it cannot serve again.")
    model_version_serve(version=previous, actor=actor)


def _publish_revert(entry: AuditEntry, actor) -> None:
    """Each change of the publish reverted, the last first; one refused refuses them all."""
    draft = Draft.objects.filter(pk=entry.object_id, shop_id=entry.shop_id).first()
    ids = (entry.after or {}).get("entries")
    if draft is None or ids is None:
        raise RevertRefused("This publish did not keep its changes apart: revert them one by one.")
    for change in AuditEntry.objects.filter(pk__in=ids, shop_id=entry.shop_id).order_by("-pk"):
        try:
            audit_entry_revert(entry=change, actor=actor)
        except RevertRefused as refused:
            raise RevertRefused(f"“{change.object_repr}”: {refused}") from refused
    audit_record(
        shop=entry.shop, actor=actor, action="draft_rollback", rule=draft, object_repr=f"draft #{draft.pk}",
        before={"changes": (entry.after or {}).get("changes", [])},
    )


REVERTS = {
    "update": _update_revert, "create": _create_revert, "delete": _delete_revert, "reorder": _reorder_revert,
    "serving": _serving_revert, "publish": _publish_revert,
}


@transaction.atomic
def audit_entry_revert(*, entry: AuditEntry, actor) -> AuditEntry:
    """Restore what `entry` found: an update's old values, a created row deleted, a deleted one made again,
    the previous page order or serving version, every change of a draft's publish. Raises RevertRefused,
    saying why, when it cannot; nothing is changed then. Returns the entry that records the revert."""
    entry = AuditEntry.objects.select_for_update().select_related("shop").get(pk=entry.pk)
    kind = _change_kind(entry)
    if not kind:
        raise RevertRefused(f"A change of this kind ({entry.action}) cannot be reverted here.")
    earlier = audit_reverted_by(entry=entry)
    if earlier is not None:
        raise RevertRefused(f"#{entry.pk} was already reverted by #{earlier.pk}.")
    with audit_collected() as written, audit_reverting(entry=entry):
        try:
            REVERTS[kind](entry, actor)
        except RevertRefused:
            raise
        except (ValidationError, VersionNotServable, ValueError, TypeError) as error:
            # A guardrail (or a constraint) says no, for the reason it gives an edit.
            raise RevertRefused(_reasons(error)) from error
    return written[-1]


def audit_entry_revert_summary(*, entry: AuditEntry) -> str:
    """The revert of `entry` in words, for the message that confirms it."""
    changes = "; ".join(
        f"{change.label} {change.after or '—'} → {change.before or 'deleted'}" for change in audit_diff(entry=entry)
    )
    return f"Reverted #{entry.pk}" + (f": {changes}" if changes else f": {entry.object_repr}")

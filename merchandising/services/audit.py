"""The audit log: every change to a shop's rules and to what its models serve, by whom, with the row before
and after; and the difference between the two as a person reads it."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms.models import model_to_dict
from django.utils.dateparse import parse_datetime

from catalog.models import Shop

from ..models import AuditEntry

REVERTED = "Reverted #{pk}: "
# Apps whose rows the log names by their model name (AuditEntry.object_type).
LOGGED_APPS = ("merchandising", "recommender")
# Kept in every state, but no one reads a difference in them.
UNSHOWN_FIELDS = {"id", "shop"}
NOTHING = "—"

_collecting: ContextVar[list[AuditEntry] | None] = ContextVar("audit_collecting", default=None)
_reverting: ContextVar[AuditEntry | None] = ContextVar("audit_reverting", default=None)


def rule_state(rule: models.Model | None) -> dict | None:
    """A rule's fields as JSON (foreign keys as ids), as the audit log keeps them."""
    if rule is None:
        return None
    return json.loads(json.dumps(model_to_dict(rule), cls=DjangoJSONEncoder))


def audit_record(
    *, shop: Shop, actor, action: str, rule: models.Model | None = None, before: dict | None = None,
    after: dict | None = None, object_repr: str = "",
) -> AuditEntry:
    described = object_repr or str(rule or "")
    reverting = _reverting.get()
    if reverting is not None:
        described = REVERTED.format(pk=reverting.pk) + described
    entry = AuditEntry.objects.create(
        shop=shop,
        user=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=rule._meta.model_name if rule is not None else "",
        object_id=rule.pk if rule is not None else None,
        object_repr=described[:300],
        before=before,
        after=after,
    )
    collecting = _collecting.get()
    if collecting is not None:
        collecting.append(entry)
    return entry


@contextmanager
def audit_collected() -> Iterator[list[AuditEntry]]:
    """The entries written inside the block, in order (a draft's publish keeps them, to be rolled back)."""
    entries: list[AuditEntry] = []
    token = _collecting.set(entries)
    try:
        yield entries
    finally:
        _collecting.reset(token)


@contextmanager
def audit_reverting(*, entry: AuditEntry) -> Iterator[None]:
    """Every entry written inside the block says that it reverts `entry` ("Reverted #123: …")."""
    token = _reverting.set(entry)
    try:
        yield
    finally:
        _reverting.reset(token)


def audit_reverted_by(*, entry: AuditEntry) -> AuditEntry | None:
    """The first entry that reverted `entry`, if one did."""
    marker = REVERTED.format(pk=entry.pk)
    return AuditEntry.objects.filter(shop_id=entry.shop_id, object_repr__startswith=marker).order_by("pk").first()


@dataclass(frozen=True)
class FieldChange:
    """One line of an entry's difference; `before` is None for a row created, `after` for one deleted."""

    label: str
    before: str | None
    after: str | None


def logged_model(object_type: str) -> type[models.Model] | None:
    for label in LOGGED_APPS:
        try:
            return apps.get_model(label, object_type)
        except LookupError:
            continue
    return None


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _label(field: models.Field | None, name: str) -> str:
    text = str(field.verbose_name) if field is not None else name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _row_shown(model: type[models.Model], pk) -> str:
    row = model._default_manager.filter(pk=pk).first()
    return str(row) if row is not None else f"#{pk} (deleted)"


def value_shown(value, field: models.Field | None = None) -> str:
    """A stored value as a person reads it: the row a key names, dates in UTC, yes or no."""
    if value is None or value == "" or value == {} or value == []:
        return NOTHING
    if isinstance(field, models.ForeignKey):
        return _row_shown(field.related_model, value)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(field, models.DateTimeField) and isinstance(value, str) and (moment := parse_datetime(value)):
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {value_shown(inner)}" for key, inner in value.items())
    if isinstance(value, list):
        return "; ".join(value_shown(inner) for inner in value)
    return str(value)


def _order_shown(positions: dict | None) -> str:
    return ", ".join(sorted(positions or {}, key=lambda key: positions[key])) or NOTHING


def _serving_shown(pk) -> str:
    if pk is None:
        return "none"
    return _row_shown(apps.get_model("recommender", "ModelVersion"), pk)


def audit_diff(*, entry: AuditEntry) -> list[FieldChange]:
    """What the entry changed, field by field, labelled by the model's own names."""
    before, after = entry.before, entry.after
    if entry.action == "rails_reorder":
        return [FieldChange("Page order", _order_shown(before), _order_shown(after))]
    if isinstance(before or after, dict) and "serving" in (before or after):
        return [FieldChange("Serving version", _serving_shown((before or {}).get("serving")),
                            _serving_shown((after or {}).get("serving")))]
    model = logged_model(entry.object_type)
    old, new = before or {}, after or {}
    # The database keeps JSON keys in an order of its own: the model's order of fields reads better.
    order = {field.name: number for number, field in enumerate(model._meta.fields)} if model is not None else {}
    changes = []
    for name in sorted(dict.fromkeys([*old, *new]), key=lambda name: order.get(name, len(order))):
        if name in UNSHOWN_FIELDS or name == "entries":  # a publish's entries are ids, listed as its changes
            continue
        if before is not None and after is not None and old.get(name) == new.get(name):
            continue
        if (before is None or after is None) and value_shown((old or new).get(name)) == NOTHING:
            continue  # a row created or deleted: its empty fields say nothing
        field = _field(model, name)
        changes.append(FieldChange(
            _label(field, name),
            value_shown(old.get(name), field) if before is not None else None,
            value_shown(new.get(name), field) if after is not None else None,
        ))
    return changes

"""The audit log: every change to a shop's rules, by whom, with the rule before and after."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms.models import model_to_dict

from catalog.models import Shop

from ..models import AuditEntry


def rule_state(rule: models.Model | None) -> dict | None:
    """A rule's fields as JSON (foreign keys as ids), as the audit log keeps them."""
    if rule is None:
        return None
    return json.loads(json.dumps(model_to_dict(rule), cls=DjangoJSONEncoder))


def audit_record(
    *, shop: Shop, actor, action: str, rule: models.Model | None = None, before: dict | None = None,
    after: dict | None = None, object_repr: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        shop=shop,
        user=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=rule._meta.model_name if rule is not None else "",
        object_id=rule.pk if rule is not None else None,
        object_repr=(object_repr or str(rule or ""))[:300],
        before=before,
        after=after,
    )

"""The audit trail. Services call `record_audit` inside their own transaction."""

from django.db import models

from retention.actors import Actor
from retention.models import AuditEntry


def snapshot(instance: models.Model, fields: list[str]) -> dict:
    """A JSON-safe picture of `fields` of `instance` for an audit entry's before/after."""
    picture = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, models.Model):
            value = value.pk
        picture[name] = value
    return picture


def record_audit(*, actor: Actor, action: str, target: models.Model | None = None, **fields) -> AuditEntry:
    """Write one audit entry; `fields` are audit_values' optional object_type, object_id, object_repr,
    before and after."""
    return AuditEntry.objects.create(**audit_values(actor=actor, action=action, target=target, **fields))


def audit_values(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> dict:
    """The AuditEntry fields record_audit writes, for a caller that inserts the row with its own SQL
    (campaigns' one-statement redemption)."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
        object_repr = object_repr or str(target)[:255]
    return {
        "actor_user": actor.user,
        "actor_api_key": actor.api_key,
        "actor_label": actor.label[:150],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr[:255],
        "before": before,
        "after": after,
    }

"""Webhook endpoints configured in the back-office. Deliveries sign with the endpoint's secret."""

import secrets

from django.db import transaction

from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.models import WebhookEndpoint

# The types of shared/API.md ("Webhooks (out)"); an endpoint with none selected receives every type.
EVENT_TYPES = [
    "code.issued",
    "code.redeemed",
    "redemption.rolled_back",
    "loyalty.points_earned",
    "loyalty.tier_changed",
    "loyalty.reward_redeemed",
    "referral.converted",
    "campaign.paused",
    "campaign.resumed",
]

# The secret never goes into the audit trail: anyone reading the log could forge signatures.
_AUDITED_FIELDS = ["url", "description", "event_types", "is_active"]


class UnknownEventType(ValueError):
    def __init__(self, event_types: list[str]):
        self.event_types = event_types
        super().__init__(f"Unknown event types: {', '.join(event_types)}")


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(29)  # 64 characters, the column's size


def _checked_event_types(event_types: list[str]) -> list[str]:
    unknown = [event_type for event_type in event_types if event_type not in EVENT_TYPES]
    if unknown:
        raise UnknownEventType(unknown)
    # Stored in the documented order so that an edit that changes nothing shows no difference.
    return [event_type for event_type in EVENT_TYPES if event_type in event_types]


@transaction.atomic(durable=True)
def create_webhook_endpoint(
    *, url: str, description: str = "", event_types: list[str], actor: Actor
) -> WebhookEndpoint:
    """Create an active endpoint with a fresh secret. Raises UnknownEventType."""
    endpoint = WebhookEndpoint.objects.create(
        url=url, description=description, event_types=_checked_event_types(event_types), secret=new_webhook_secret()
    )
    record_audit(actor=actor, action="webhook_endpoint.created", target=endpoint,
                 after=snapshot(endpoint, _AUDITED_FIELDS))
    return endpoint


@transaction.atomic(durable=True)
def update_webhook_endpoint(
    *, endpoint: WebhookEndpoint, url: str, description: str, event_types: list[str], actor: Actor
) -> WebhookEndpoint:
    """Change where and what an endpoint receives. Raises UnknownEventType."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = snapshot(endpoint, _AUDITED_FIELDS)
    endpoint.url = url
    endpoint.description = description
    endpoint.event_types = _checked_event_types(event_types)
    endpoint.save(update_fields=["url", "description", "event_types"])
    after = snapshot(endpoint, _AUDITED_FIELDS)
    if after != before:
        record_audit(actor=actor, action="webhook_endpoint.updated", target=endpoint, before=before, after=after)
    return endpoint


@transaction.atomic(durable=True)
def set_webhook_endpoint_active(*, endpoint: WebhookEndpoint, is_active: bool, actor: Actor) -> WebhookEndpoint:
    """Enable or disable; a second identical call changes nothing and writes no audit entry."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(is_active=is_active).update(is_active=is_active)
    endpoint.refresh_from_db()
    if updated:
        action = "webhook_endpoint.enabled" if is_active else "webhook_endpoint.disabled"
        record_audit(actor=actor, action=action, target=endpoint,
                     before={"is_active": not is_active}, after={"is_active": is_active})
    return endpoint


@transaction.atomic(durable=True)
def rotate_webhook_secret(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEndpoint:
    """Replace the secret at once; receivers must switch to the new one."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=new_webhook_secret())
    endpoint.refresh_from_db()
    record_audit(actor=actor, action="webhook_endpoint.secret_rotated", target=endpoint)
    return endpoint


@transaction.atomic(durable=True)
def delete_webhook_endpoint(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    before = snapshot(endpoint, _AUDITED_FIELDS)
    record_audit(actor=actor, action="webhook_endpoint.deleted", target=endpoint, before=before)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()

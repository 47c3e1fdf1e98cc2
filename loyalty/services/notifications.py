"""Messages to members through retention.messaging. Not durable: inside the caller's transaction.

The texts are message templates named `loyalty_tier_changed` and `loyalty_points_expiring` (one per
channel, edited in the back-office like any template). Without such a template nothing is sent: the
webhook still tells the shop. Both are transactional (about the customer's own account), so they need
no marketing consent; suppressed addresses are still skipped by messaging.
"""

from datetime import datetime

from retention.messaging.models import MessageKind, MessageTemplate
from retention.messaging.rendering import MessageContext
from retention.messaging.services.deliveries import queue_message

TIER_CHANGED_TEMPLATE = "loyalty_tier_changed"
POINTS_EXPIRING_TEMPLATE = "loyalty_points_expiring"


def _send(customer, name: str, context: MessageContext, occasion_key: str, now: datetime, templates=None) -> list:
    deliveries = []
    if templates is None:
        templates = MessageTemplate.objects.filter(name=name).order_by("channel")
    for template in templates:
        deliveries.append(queue_message(customer=customer, channel=template.channel, template=template,
                                        context=context, kind=MessageKind.TRANSACTIONAL,
                                        occasion_key=occasion_key, now=now))
    return deliveries


def tier_changed_templates() -> list:
    """The templates notify_tier_changed sends, read once for a batch."""
    return list(MessageTemplate.objects.filter(name=TIER_CHANGED_TEMPLATE).order_by("channel"))


def notify_tier_changed(account, *, old_tier, new_tier, now: datetime, templates: list | None = None) -> list:
    text = f"Your tier is now {new_tier.name}" if new_tier else "You no longer hold a tier"
    key = f"loyalty:{account.pk}:tier:{new_tier.pk if new_tier else 0}:{now:%Y%m%d%H%M%S}"
    return _send(account.customer, TIER_CHANGED_TEMPLATE, MessageContext(discount_text=text), key, now, templates)


def notify_points_expiring(account, *, points: int, expires_at: datetime, first_lot_id: int, now: datetime) -> list:
    context = MessageContext(discount_text=f"{points} points", expires_at=expires_at.date())
    return _send(account.customer, POINTS_EXPIRING_TEMPLATE, context,
                 f"loyalty:{account.pk}:expiring:{first_lot_id}", now)

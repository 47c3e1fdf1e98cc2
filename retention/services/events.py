"""Custom events sent by the shop (`review_submitted`, ...)."""

from datetime import datetime

from django.db import IntegrityError, transaction

from retention.actors import Actor
from retention.audit import record_audit
from retention.models import Customer, Event
from retention.signals import event_recorded


def record_event(
    *,
    customer: Customer,
    type: str,
    occurred_at: datetime,
    properties: dict,
    event_id: str | None = None,
    actor: Actor,
) -> tuple[Event, bool]:
    """Store an event; return (event, created). With `event_id`, a second call returns the first event."""
    if event_id:
        existing = Event.objects.filter(event_id=event_id).first()
        if existing is not None:
            return existing, False
    try:
        return _create_event(customer=customer, type=type, occurred_at=occurred_at, properties=properties,
                             event_id=event_id, actor=actor), True
    except IntegrityError:
        # The same event_id arrived twice at once; the unique constraint let one through.
        existing = Event.objects.filter(event_id=event_id).first() if event_id else None
        if existing is None:
            raise
        return existing, False


@transaction.atomic(durable=True)
def _create_event(*, customer, type, occurred_at, properties, event_id, actor) -> Event:
    event = Event.objects.create(customer=customer, type=type, occurred_at=occurred_at,
                                 properties=properties or {}, event_id=event_id or None)
    record_audit(actor=actor, action="event.recorded", target=event, object_repr=f"{type} by {customer.source_id}",
                 after={"type": type, "event_id": event_id, "customer": customer.source_id})
    transaction.on_commit(lambda: event_recorded.send(sender=Event, event=event))
    return event

"""record_event: idempotent by event_id."""

from datetime import UTC, datetime

import pytest

from retention.actors import Actor
from retention.models import AuditEntry, Event
from retention.services.events import record_event
from retention.signals import event_recorded
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_event_with_id_is_recorded_once(django_capture_on_commit_callbacks):
    # given a customer and a listener
    customer = CustomerFactory()
    seen = []

    def receive(sender, event, **kwargs):
        seen.append(event.event_id)

    event_recorded.connect(receive)
    try:
        # when the same event id comes twice
        with django_capture_on_commit_callbacks(execute=True):
            first, created = record_event(customer=customer, type="review_submitted", occurred_at=AT,
                                          properties={"stars": 5}, event_id="e1", actor=ACTOR)
            again, created_again = record_event(customer=customer, type="review_submitted", occurred_at=AT,
                                                properties={"stars": 1}, event_id="e1", actor=ACTOR)
    finally:
        event_recorded.disconnect(receive)
    # then one event exists, with the first properties, and one signal was sent
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert list(Event.objects.values_list("event_id", "properties")) == [("e1", {"stars": 5})]
    assert seen == ["e1"]
    assert AuditEntry.objects.filter(action="event.recorded").count() == 1


def test_events_without_id_are_all_recorded():
    # given a customer
    customer = CustomerFactory()
    # when two events without id come
    for _ in range(2):
        record_event(customer=customer, type="newsletter_signup", occurred_at=AT, properties={}, actor=ACTOR)
    # then both are stored
    assert list(Event.objects.values_list("event_id", flat=True)) == [None, None]

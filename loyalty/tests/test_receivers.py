import pytest

from loyalty.models import LedgerEntry
from loyalty.tests.factories import LoyaltyProgramFactory
from retention.actors import Actor
from retention.services.events import record_event
from retention.services.orders import record_order
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
API = Actor.system("test")


def order_body(status: str) -> dict:
    return {"source_id": "A-1", "customer": "c-1", "amount": 2500, "currency": "EUR", "status": status, "items": []}


def test_paid_then_refunded_order_earns_then_reverses(django_capture_on_commit_callbacks):
    # given
    LoyaltyProgramFactory()
    CustomerFactory(source_id="c-1")
    # when the order arrives, then is refunded (signals and tasks run on commit)
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_body("paid"), actor=API)
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_body("paid"), actor=API)  # a re-send: no change, no signal
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_body("refunded"), actor=API)
    # then
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "points")) == [("earn", 25), ("reverse", -25)]


def test_event_earns_through_its_rule(django_capture_on_commit_callbacks):
    from django.utils import timezone

    from loyalty.models import EarningRule

    program = LoyaltyProgramFactory()
    EarningRule.objects.create(program=program, event_type="social_share", points=4)
    customer = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record_event(customer=customer, type="social_share", occurred_at=timezone.now(), properties={},
                     event_id="e-1", actor=API)
    assert list(LedgerEntry.objects.values_list("kind", "points", "source_id")) == [("earn", 4, "e-1")]

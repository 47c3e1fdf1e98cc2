"""record_order: idempotent by source_id, status changes once, aggregates equal paid orders."""

from datetime import UTC, datetime

import pytest

from retention.actors import Actor
from retention.errors import DomainError, NotFound
from retention.models import AuditEntry, Customer, Order, OrderItem
from retention.services.orders import record_order
from retention.signals import order_recorded
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)


def order_data(source_id="o1", status="paid", amount=5000, created_at=JAN, customer="c1"):
    return {"source_id": source_id, "customer": customer, "amount": amount, "currency": "eur", "status": status,
            "created_at": created_at, "items": [{"sku": "SOCK-1", "name": "Sock", "category": "socks",
                                                 "quantity": 2, "unit_price": 2500}]}


@pytest.fixture
def listener():
    calls = []

    def receive(sender, order, previous_status, **kwargs):
        calls.append((order.source_id, previous_status, order.status))

    order_recorded.connect(receive)
    yield calls
    order_recorded.disconnect(receive)


def test_records_order_items_and_aggregates(listener, django_capture_on_commit_callbacks):
    # given a customer
    CustomerFactory(source_id="c1")
    # when two paid orders are recorded
    with django_capture_on_commit_callbacks(execute=True):
        order, created = record_order(data=order_data(), actor=ACTOR)
        record_order(data=order_data("o2", amount=3000, created_at=FEB), actor=ACTOR)
    # then both are stored with their items and the aggregates add up
    customer = Customer.objects.get(source_id="c1")
    assert created is True and order.currency == "EUR"
    assert list(OrderItem.objects.filter(order=order).values_list("sku", "quantity", "unit_price")) == [
        ("SOCK-1", 2, 2500)]
    assert (customer.orders_count, customer.total_spent, customer.first_order_at, customer.last_order_at) == (
        2, 8000, JAN, FEB)
    assert listener == [("o1", None, "paid"), ("o2", None, "paid")]


def test_same_order_again_does_nothing(listener, django_capture_on_commit_callbacks):
    # given a recorded order
    CustomerFactory(source_id="c1")
    record_order(data=order_data(), actor=ACTOR)
    audits = AuditEntry.objects.count()
    # when it comes again, even with other items
    with django_capture_on_commit_callbacks(execute=True):
        order, created = record_order(data={**order_data(), "items": []}, actor=ACTOR)
    # then nothing changed and no signal was sent
    assert created is False
    assert (Order.objects.count(), OrderItem.objects.count(), AuditEntry.objects.count()) == (1, 1, audits)
    assert Customer.objects.get().orders_count == 1
    assert listener == []


def test_refund_is_applied_once(listener, django_capture_on_commit_callbacks):
    # given two paid orders
    CustomerFactory(source_id="c1")
    record_order(data=order_data(), actor=ACTOR)
    record_order(data=order_data("o2", amount=3000, created_at=FEB), actor=ACTOR)
    # when the second is refunded twice
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_data("o2", status="refunded", amount=3000, created_at=FEB), actor=ACTOR)
        record_order(data=order_data("o2", status="refunded", amount=3000, created_at=FEB), actor=ACTOR)
    # then the aggregates count only the first order, and one signal says paid -> refunded
    customer = Customer.objects.get()
    assert (customer.orders_count, customer.total_spent, customer.first_order_at, customer.last_order_at) == (
        1, 5000, JAN, JAN)
    assert Order.objects.get(source_id="o2").status == "refunded"
    assert listener == [("o2", "paid", "refunded")]
    assert AuditEntry.objects.filter(action="order.status_changed").count() == 1


def test_refunded_order_cannot_be_paid_again():
    # given a refunded order
    CustomerFactory(source_id="c1")
    record_order(data=order_data(status="refunded"), actor=ACTOR)
    audits = AuditEntry.objects.count()
    # when it comes as paid
    with pytest.raises(DomainError) as caught:
        record_order(data=order_data(status="paid"), actor=ACTOR)
    # then it is refused and nothing changed
    assert caught.value.code == "invalid_status_change"
    assert Order.objects.get().status == "refunded"
    assert (Customer.objects.get().orders_count, AuditEntry.objects.count()) == (0, audits)


def test_unknown_customer_is_not_found():
    # given no customer
    # when an order names one
    with pytest.raises(NotFound):
        record_order(data=order_data(customer="nobody"), actor=ACTOR)
    # then nothing is stored
    assert (Order.objects.count(), AuditEntry.objects.count()) == (0, 0)

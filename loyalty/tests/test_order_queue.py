"""Orders recorded one by one are queued and earned in batches by one collecting task (earn_for_orders)."""

import pytest

from loyalty import tasks
from loyalty.models import LedgerEntry, QueuedOrder
from loyalty.services import earning
from loyalty.services.earning import earn_queued_orders, queue_order_earning
from loyalty.tests.factories import LoyaltyProgramFactory, paid_order, refund
from retention.actors import Actor
from retention.services.orders import record_order
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
API = Actor.system("test")


def entries():
    return sorted(LedgerEntry.objects.values_list("source_id", "kind", "points"))


def test_recorded_orders_are_queued_then_earned_in_one_batch(django_capture_on_commit_callbacks, monkeypatch):
    # given a program and two customers; the collecting task does not run yet (it waits for the burst)
    LoyaltyProgramFactory()
    CustomerFactory(source_id="c-1")
    CustomerFactory(source_id="c-2")
    scheduled = []
    monkeypatch.setattr(tasks.earn_queued_orders_task, "apply_async", lambda **kwargs: scheduled.append(kwargs))
    # when three orders arrive
    for source_id, customer in (("A-1", "c-1"), ("A-2", "c-2"), ("A-3", "c-1")):
        with django_capture_on_commit_callbacks(execute=True):
            record_order(data={"source_id": source_id, "customer": customer, "amount": 1000, "currency": "EUR",
                               "status": "paid", "items": []}, actor=API)
    # then they wait in the queue, behind one scheduled collector
    assert QueuedOrder.objects.count() == 3
    assert len(scheduled) == 1 and entries() == []
    # when the collector runs (twice: a redelivered task)
    batches = []
    real = earning._earn_for_orders
    monkeypatch.setattr(earning, "_earn_for_orders", lambda ids, **kw: batches.append(ids) or real(ids, **kw))
    assert tasks.earn_queued_orders_task() == 3
    assert tasks.earn_queued_orders_task() == 0
    # then one batch earned them all, once
    assert len(batches) == 1
    assert entries() == [("A-1", "earn", 10), ("A-2", "earn", 10), ("A-3", "earn", 10)]
    assert not QueuedOrder.objects.exists()


def test_a_new_collector_is_scheduled_once_the_last_one_started(monkeypatch):
    LoyaltyProgramFactory()
    scheduled = []
    monkeypatch.setattr(tasks.earn_queued_orders_task, "apply_async", lambda **kwargs: scheduled.append(kwargs))
    customer = CustomerFactory()
    for index in range(2):
        queue_order_earning(order_id=paid_order(customer, 500, source_id=f"B-{index}").pk)
        earning._schedule_collector()  # what on_commit runs
    assert len(scheduled) == 1
    earn_queued_orders()  # the collector clears the flag before reading the queue
    queue_order_earning(order_id=paid_order(customer, 500, source_id="B-2").pk)
    earning._schedule_collector()
    assert len(scheduled) == 2
    assert QueuedOrder.objects.count() == 1


def test_a_queued_order_refunded_before_collection_earns_nothing():
    LoyaltyProgramFactory()
    order = paid_order(CustomerFactory(), 2500)
    queue_order_earning(order_id=order.pk)
    refund(order)
    assert earn_queued_orders() == 1
    assert entries() == [] and not QueuedOrder.objects.exists()


def test_a_failed_batch_stays_queued(monkeypatch):
    LoyaltyProgramFactory()
    order = paid_order(CustomerFactory(), 2500)
    queue_order_earning(order_id=order.pk)

    def fail(ids, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(earning, "_earn_for_orders", fail)
    with pytest.raises(RuntimeError):
        earn_queued_orders()
    monkeypatch.undo()
    assert list(QueuedOrder.objects.values_list("order_id", flat=True)) == [order.pk]
    assert earn_queued_orders() == 1
    assert entries() == [(order.source_id, "earn", 25)]


def test_program_rules_are_cached_per_process_and_read_again_when_the_program_changes():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loyalty.models import CategoryMultiplier, LoyaltyProgram
    from loyalty.services.earning import active_programs, earn_for_orders

    program = LoyaltyProgramFactory(points_per_unit=1)
    customer = CustomerFactory()
    earn_for_orders(order_ids=[paid_order(customer, 1000, [("shoes", 1, 1000)]).pk])
    with CaptureQueriesContext(connection) as captured:
        active_programs()
    assert len(captured) == 1  # the programs' rows only: the rules come from the cache
    # a rule written without signals (as another process would), then the program saved by the service
    CategoryMultiplier.objects.bulk_create([CategoryMultiplier(program=program, category="shoes",
                                                               multiplier_percent=300)])
    LoyaltyProgram.objects.filter(pk=program.pk).update(pending_days=0, points_per_unit=2)
    earn_for_orders(order_ids=[paid_order(customer, 1000, [("shoes", 1, 1000)]).pk])
    assert entries()[-1][2] == 60  # 10.00 at 2 points per unit, shoes x3


def test_a_beat_job_earns_what_a_lost_message_left_queued():
    from django_celery_beat.models import PeriodicTask

    job = PeriodicTask.objects.get(name="Loyalty: earn queued orders")
    assert (job.task, job.interval.every, job.interval.period, job.enabled) == (
        "loyalty.earn_queued_orders", 1, "minutes", True)

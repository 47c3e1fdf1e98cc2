"""Every task, run twice: the second run changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from loyalty import tasks
from loyalty.models import EarningRule, LedgerEntry, LoyaltyAccount, TierBasis
from loyalty.tests.factories import LoyaltyProgramFactory, TierFactory, paid_order, refund
from retention.models import Event
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def entries():
    return list(LedgerEntry.objects.order_by("pk").values_list("kind", "points", "pending_points"))


def test_order_tasks_twice():
    LoyaltyProgramFactory()
    order = paid_order(CustomerFactory(), 1000)
    tasks.earn_for_order_task(order.pk)
    tasks.earn_for_order_task(order.pk)
    refund(order)
    tasks.reverse_order_points_task(order.pk)
    tasks.reverse_order_points_task(order.pk)
    assert entries() == [("earn", 10, 0), ("reverse", -10, 0)]


def test_event_and_signup_tasks_twice():
    program = LoyaltyProgramFactory(signup_bonus=7)
    EarningRule.objects.create(program=program, event_type="newsletter_signup", points=3)
    customer = CustomerFactory()
    event = Event.objects.create(customer=customer, type="newsletter_signup", occurred_at=timezone.now())
    for _run in range(2):
        tasks.earn_for_event_task(event.pk)
        tasks.earn_signup_bonus_task(customer.pk)
    assert LoyaltyAccount.objects.get().points == 10


def test_daily_jobs_twice():
    program = LoyaltyProgramFactory(pending_days=1, points_expire_after_days=2, tier_basis=TierBasis.ROLLING_12_MONTHS)
    TierFactory(program=program, threshold=5)
    order = paid_order(CustomerFactory(), 1000)
    tasks.earn_for_order_task(order.pk)
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=1)):
        assert [tasks.release_pending_points_task(), tasks.release_pending_points_task()] == [1, 0]
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert [tasks.send_expiry_reminders_task(), tasks.send_expiry_reminders_task()] == [0, 0]
        assert [tasks.expire_points_task(), tasks.expire_points_task()] == [10, 0]
    with time_machine.travel(timezone.now() + timedelta(days=400)):
        assert [tasks.reevaluate_tiers_task(), tasks.reevaluate_tiers_task()] == [1, 0]
    assert entries() == [("pending", 0, 10), ("release", 10, -10), ("expire", -10, 0)]

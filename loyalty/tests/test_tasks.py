"""Every task, run twice: the second run changes nothing."""

import os
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
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


def test_a_worker_knows_every_loyalty_task_including_the_portal_sign_in_mail():
    # What `celery worker` loads (autodiscovery of each app's `tasks` module), in a fresh interpreter: in
    # this one other tests have imported the portal's tasks already.
    import subprocess
    import sys

    script = ("import django; django.setup(); from retention.celery import app; "
              "app.loader.import_default_modules(); print(' '.join(sorted(app.tasks)))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "retention.test_settings"}
    names = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env,
                           cwd=settings.BASE_DIR).stdout.split()
    assert {"loyalty.send_portal_sign_in_link", "loyalty.earn_for_order", "loyalty.earn_queued_orders",
            "loyalty.expire_points",
            "loyalty.release_pending_points", "loyalty.send_expiry_reminders", "loyalty.reevaluate_tiers"} \
        <= set(names)

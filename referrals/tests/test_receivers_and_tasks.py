"""Signals reach the services through tasks; every task is safe to run twice."""


import pytest
from django.utils import timezone

from referrals.models import Referral, ReferralReward, RewardRole
from referrals.services.referrals import register_referral
from referrals.tasks import (
    cancel_for_refund_task,
    convert_for_event_task,
    convert_for_order_task,
    release_held_referrals_task,
)
from retention.actors import Actor
from retention.services.events import record_event
from retention.services.orders import record_order
from retention.tests.factories import CustomerFactory, EventFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def order_body(status: str) -> dict:
    return {"source_id": "F-1", "customer": "friend", "amount": 5000, "currency": "EUR", "status": status,
            "items": [], "created_at": timezone.now()}


def test_paid_then_refunded_order_signals_convert_then_cancel(anna_code, django_capture_on_commit_callbacks):
    # given
    register_referral(code="ANNA-7KQ2", friend=CustomerFactory(source_id="friend"), actor=ACTOR)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_body("paid"), actor=ACTOR)
    assert Referral.objects.get().status == "rewarded"
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data=order_body("refunded"), actor=ACTOR)
    # then
    assert Referral.objects.get().status == "cancelled"
    assert ReferralReward.objects.get(role=RewardRole.REFERRER).is_cancelled is True


def test_event_signal_converts(anna_code, program, django_capture_on_commit_callbacks):
    program.conversion_event = "account_verified"
    program.save()
    friend = CustomerFactory(source_id="friend")
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        record_event(customer=friend, type="account_verified", occurred_at=timezone.now(), properties={},
                     event_id=None, actor=ACTOR)
    assert Referral.objects.get().status == "rewarded"


def test_each_task_run_twice_does_the_work_once(anna_code, program):
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    order = OrderFactory(customer=friend, amount=5000)
    convert_for_order_task(order.pk)
    convert_for_order_task(order.pk)
    convert_for_event_task(EventFactory(customer=friend).pk)
    release_held_referrals_task()
    release_held_referrals_task()
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 1
    order.status = "refunded"
    order.save()
    cancel_for_refund_task(order.pk)
    cancel_for_refund_task(order.pk)
    assert ReferralReward.objects.get(role=RewardRole.REFERRER).is_cancelled is True

"""Exactly-once rewarding under concurrent order messages: threads, each with its own PostgreSQL connection."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.models import QueuedConversion, Referral, ReferralProgram, ReferralReward, RewardRole
from referrals.services import conversions
from referrals.services.conversions import (
    convert_for_order,
    convert_for_orders,
    convert_queued_orders,
    queue_conversion,
)
from referrals.services.referrals import register_referral, register_referrals
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory, ReferralTierFactory
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.tests.concurrency import run_together
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


@contextmanager
def override_queue_batch(size: int):
    """Small collector batches, so that several collectors have something to share."""
    saved, conversions.QUEUE_BATCH = conversions.QUEUE_BATCH, size
    try:
        yield
    finally:
        conversions.QUEUE_BATCH = saved


def setup_program(**fields) -> tuple[ReferralProgram, object]:
    LoyaltyProgramFactory(is_default=True)
    program = ReferralProgramFactory(**fields)
    ReferralTierFactory(program=program, referrals=1, points=500)
    referrer = CustomerFactory(first_name="Anna", email="anna@example.org")
    ReferralCodeFactory(program=program, customer=referrer, code="ANNA-7KQ2")
    return program, referrer


def test_the_same_order_message_twenty_times_at_once_rewards_once():
    # given
    _program, referrer = setup_program()
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    order = OrderFactory(customer=friend, amount=5000)
    # when
    outcomes = run_together(20, lambda _n: len(convert_for_order(order_id=order.pk)))
    # then
    assert sorted(outcomes) == [0] * 19 + [1]
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 1
    assert LedgerEntry.objects.filter(source_type="referral").count() == 1
    assert LoyaltyAccount.objects.get(customer=referrer).points == 500
    assert WebhookEvent.objects.filter(type="referral.converted").count() == 1


@pytest.mark.parametrize(("limit", "budget", "rewarded", "reason"), [
    (3, None, 3, "limit_reached"),
    (5, 4 * 500, 4, "budget_exhausted"),
])
def test_many_friends_converting_at_once_respect_the_monthly_limit_and_the_budget(limit, budget, rewarded, reason):
    # given a referrer with 12 friends
    program, referrer = setup_program(max_rewards_per_referrer_per_month=limit, budget=budget)
    orders = []
    for index in range(12):
        friend = CustomerFactory()
        # two hours apart: no burst signal, so none waits for review
        register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR,
                          now=timezone.now() - timedelta(hours=2 * index))
        orders.append(OrderFactory(customer=friend, amount=5000))
    # when every friend's order (each sent twice) arrives at once
    run_together(24, lambda n: len(convert_for_order(order_id=orders[n % 12].pk)))
    # then
    program.refresh_from_db()
    assert Referral.objects.filter(status="rewarded").count() == 12
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == rewarded
    assert program.budget_spent == (rewarded * 500 if budget else 0)
    assert LoyaltyAccount.objects.get(customer=referrer).points == rewarded * 500
    assert Referral.objects.filter(skipped_reason=reason).count() == 12 - rewarded


def test_overlapping_batches_and_single_orders_at_once_reward_each_referral_once():
    # given a referrer with 12 friends and a monthly limit of 5
    program, referrer = setup_program(max_rewards_per_referrer_per_month=5)
    orders = []
    for index in range(12):
        friend = CustomerFactory()
        register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR,
                          now=timezone.now() - timedelta(hours=2 * index))
        orders.append(OrderFactory(customer=friend, amount=5000).pk)
    # when batches overlapping each other, and single orders, all arrive at once
    def work(number: int) -> int:
        if number % 2:
            return len(convert_for_order(order_id=orders[number]))
        return len(convert_for_orders(order_ids=[orders[(number + k) % 12] for k in range(6)][::-1]))

    run_together(12, work)
    # then
    assert Referral.objects.filter(status="rewarded").count() == 12
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 5
    assert LoyaltyAccount.objects.get(customer=referrer).points == 5 * 500
    assert LedgerEntry.objects.filter(source_type="referral").count() == 5
    assert WebhookEvent.objects.filter(type="referral.converted").count() == 12
    assert Referral.objects.filter(skipped_reason="limit_reached").count() == 7


def test_collectors_running_at_once_take_disjoint_batches(monkeypatch):
    # given 30 queued orders (the scheduled collector does not run: the test runs them)
    monkeypatch.setattr("referrals.tasks.convert_queued_orders_task.apply_async", lambda **kwargs: None)
    setup_program()
    for index in range(30):
        friend = CustomerFactory()
        register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR,
                          now=timezone.now() - timedelta(hours=2 * index))
        queue_conversion(order_id=OrderFactory(customer=friend, amount=5000).pk)
    # when
    with override_queue_batch(7):
        taken = run_together(4, lambda _n: convert_queued_orders())
    # then
    assert sum(taken) == 30
    assert QueuedConversion.objects.count() == 0
    assert Referral.objects.filter(status="rewarded").count() == 30
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 30


def test_batches_registering_the_same_friends_at_once_register_each_once():
    # given
    setup_program()
    friends = [CustomerFactory() for _ in range(10)]
    # when four batches with the same friends in different orders arrive at once
    def work(number: int) -> list:
        order = friends[number:] + friends[:number]
        return register_referrals(entries=[{"code": "ANNA-7KQ2", "friend": friend} for friend in order],
                                  actor=ACTOR)

    results = run_together(4, work)
    # then
    assert Referral.objects.count() == 10
    outcomes = [result for batch in results for result in batch]
    assert sum(isinstance(result, Referral) for result in outcomes) == 10
    assert {result.code for result in outcomes if not isinstance(result, Referral)} == {"already_referred"}

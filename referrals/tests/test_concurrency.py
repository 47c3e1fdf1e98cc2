"""Exactly-once rewarding under concurrent order messages: threads, each with its own PostgreSQL connection."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.models import Referral, ReferralProgram, ReferralReward, RewardRole
from referrals.services.conversions import convert_for_order
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory, ReferralTierFactory
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (DATABASE_URL=postgres://...)")


def run_together(clients: int, work) -> list:
    barrier = threading.Barrier(clients)
    results, errors, lock = [], [], threading.Lock()

    def client(number: int) -> None:
        try:
            barrier.wait()
            outcome = work(number)
            with lock:
                results.append(outcome)
        except Exception as error:  # surfaced below, so a crash cannot pass as "nothing to do"
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


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

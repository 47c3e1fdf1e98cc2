"""earn_for_orders (the set-based batch) leaves exactly what earn_for_order leaves, in a fixed number of queries."""

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from loyalty.models import CategoryMultiplier, LedgerEntry, LoyaltyAccount, Milestone, MilestoneAchievement, PointLot
from loyalty.services.earning import earn_for_order, earn_for_orders, reverse_order_points
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order, refund
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.tests.factories import CustomerFactory

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def scenario(prefix: str):
    """Two programs (one with pending days); a customer who climbs a tier mid-batch, one with a negative
    balance paid off by the batch, a milestone, an order already earned (a replay) and a refunded one."""
    climber, debtor, quiet = (CustomerFactory(source_id=f"{prefix}-{name}") for name in ("climber", "debtor", "quiet"))
    orders = [paid_order(climber, 10000, [("shoes", 1, 10000)], source_id=f"{prefix}-1", created_at=NOW),
              paid_order(climber, 5000, source_id=f"{prefix}-2", created_at=NOW),
              paid_order(debtor, 3000, source_id=f"{prefix}-3", created_at=NOW),
              paid_order(quiet, 24, source_id=f"{prefix}-4", created_at=NOW)]
    return (climber, debtor, quiet), orders


def state(customers):
    accounts = LoyaltyAccount.objects.filter(customer__in=customers).order_by("customer__source_id", "program_id")
    entries = LedgerEntry.objects.filter(account__customer__in=customers).order_by("account__customer__source_id",
                                                                                  "account__program_id", "id")
    lots = PointLot.objects.filter(account__customer__in=customers).order_by("account__customer__source_id",
                                                                            "account__program_id", "id")
    return (
        [(a.points, a.pending_points, a.lifetime_points, a.tier_points, a.tier_id) for a in accounts],
        [(e.kind, e.points, e.pending_points, e.balance_after, e.pending_after, e.source_type,
          e.source_id.split("-")[-1] if e.source_type == "order" else "") for e in entries],
        [(lot.points, lot.remaining, lot.is_pending, lot.available_at, lot.expires_at) for lot in lots],
        MilestoneAchievement.objects.filter(account__customer__in=customers).count(),
    )


def prepare_debt(debtor, reward, prefix):
    # the debtor earned 100, spent 80, then the order was refunded: -80
    order = paid_order(debtor, 10000, source_id=f"{prefix}-0", created_at=NOW)
    earn_for_order(order_id=order.pk, now=NOW)
    redeem_reward(account_or_customer=debtor, reward=reward, actor=Actor.system(), now=NOW)
    reverse_order_points(order_id=refund(order).pk, now=NOW)


def test_batch_equals_one_order_at_a_time_and_the_ledger_stays_clean(capsys):
    # given
    program = LoyaltyProgramFactory(points_per_unit=1, is_default=True, points_expire_after_days=365)
    CategoryMultiplier.objects.create(program=program, category="shoes", multiplier_percent=200)
    TierFactory(program=program, name="Silver", threshold=0)
    TierFactory(program=program, name="Gold", threshold=150, multiplier_percent=150)
    Milestone.objects.create(program=program, name="First 200", kind="points", threshold=200, bonus_points=10)
    LoyaltyProgramFactory(points_per_unit=2, pending_days=14)
    reward = RewardFactory(program=program, cost=80)
    one_by_one, one_orders = scenario("a")
    batched, batch_orders = scenario("b")
    prepare_debt(one_by_one[1], reward, "a")
    prepare_debt(batched[1], reward, "b")
    earn_for_order(order_id=one_orders[0].pk, now=NOW)
    earn_for_orders(order_ids=[batch_orders[0].pk], now=NOW)
    # when: the rest one at a time, and as one batch that also replays the first order
    for order in one_orders[1:]:
        earn_for_order(order_id=order.pk, now=NOW)
    entries = earn_for_orders(order_ids=[order.pk for order in batch_orders], now=NOW)
    # then
    assert len(entries) == 4  # orders 2 and 3 in both programs; the first was already earned, the 4th earns 0
    assert state(one_by_one) == state(batched)
    climber = LoyaltyAccount.objects.get(customer=batched[0], program=program)
    assert climber.tier.name == "Gold"
    assert climber.points == 200 + 75 + 10  # shoes doubled, then Gold's 150 %, then the milestone bonus
    assert earn_for_orders(order_ids=[order.pk for order in batch_orders], now=NOW) == []
    assert WebhookEvent.objects.filter(type="loyalty.points_earned", data__order="b-3").count() == 2
    call_command("check_loyalty_ledger")
    assert "match their ledger" in capsys.readouterr().out


def test_batch_runs_a_fixed_number_of_queries_whatever_the_number_of_orders(django_assert_num_queries):
    program = LoyaltyProgramFactory(points_per_unit=1)
    TierFactory(program=program, name="Silver", threshold=0)
    few = [paid_order(CustomerFactory(), 1000, [("socks", 1, 1000)]).pk for _ in range(2)]
    many = [paid_order(CustomerFactory(), 1000, [("socks", 1, 1000)]).pk for _ in range(40)]
    # first earnings reach Silver (one tier change each: a webhook and a template lookup), so earn once first
    earn_for_orders(order_ids=few + many)
    few = [paid_order(LoyaltyAccount.objects.all()[n].customer, 1000).pk for n in range(2)]
    many = [paid_order(LoyaltyAccount.objects.all()[n].customer, 1000).pk for n in range(2, 42)]
    with django_assert_num_queries(BATCH_QUERIES):
        earn_for_orders(order_ids=few)
    with django_assert_num_queries(BATCH_QUERIES):
        earn_for_orders(order_ids=many)
    assert LoyaltyAccount.objects.get(customer__orders__pk=many[-1]).points == 20


# Returning members: the orders' customers, the active programs' rows (their rules are cached per process),
# the accounts made sure to exist (an insert that finds them all), lock the accounts, the orders (read under
# the locks), items, entries earned already, the tier window, insert entries, insert lots, update accounts,
# webhook events + endpoints (no deliveries), plus the SAVEPOINT/RELEASE of the transaction (a savepoint inside
# the test's). Was 20 (5 for the rules, a Django bulk_create per table, emit_webhooks' own savepoint).
BATCH_QUERIES = 15


def test_one_order_at_a_time_query_counts(django_assert_num_queries):
    # given a program with tiers and a milestone nobody reaches yet, and a returning member
    program = LoyaltyProgramFactory(points_per_unit=1)
    TierFactory(program=program, name="Silver", threshold=0)
    Milestone.objects.create(program=program, name="Big", kind="points", threshold=10**6, bonus_points=10)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 1000, [("socks", 1, 1000)]).pk)
    order = paid_order(customer, 1000, [("socks", 1, 1000)])
    new_member_order = paid_order(CustomerFactory(), 1000, [("socks", 1, 1000)])
    # then
    with django_assert_num_queries(PER_ORDER_QUERIES):
        earn_for_order(order_id=order.pk)
    with django_assert_num_queries(PER_ORDER_QUERIES_NEW_MEMBER):
        earn_for_order(order_id=new_member_order.pk)


# A member: order, the programs' stamps (rules cached per process; 5 queries before), the account made sure to
# exist, items, lock the account,
# replay check, entry, account, lot, tier window sum, tier update, webhook event + endpoints, plus
# SAVEPOINT/RELEASE (the transaction inside the test's). Was 20, then 18 (a lookup before the lock, the
# achievements read when none is reachable).
PER_ORDER_QUERIES = 15
# A new member: the same, and the tier change (its webhook and template lookup).
PER_ORDER_QUERIES_NEW_MEMBER = 18


def test_no_order_ids_earn_nothing_and_run_no_query(django_assert_num_queries):
    with django_assert_num_queries(2):  # the transaction's SAVEPOINT and RELEASE inside the test's
        assert earn_for_orders(order_ids=[]) == []

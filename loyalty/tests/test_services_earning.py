from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from loyalty.errors import LoyaltyError
from loyalty.models import BonusPeriod, CategoryMultiplier, EntryKind, LedgerEntry, LoyaltyAccount, PointLot
from loyalty.services.earning import earn_for_order, order_points, reverse_order_points
from loyalty.services.expiry import release_pending_points
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order, refund
from retention.actors import Actor
from retention.tests.factories import CustomerFactory

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def account_of(customer, program):
    return LoyaltyAccount.objects.get(customer=customer, program=program)


def test_order_earns_points_per_unit_rounded_half_up_once():
    # given 2 points per 1.00 and an order of 10.25 (20.5 points)
    program = LoyaltyProgramFactory(points_per_unit=2)
    customer = CustomerFactory()
    order = paid_order(customer, 1025)
    # when
    entries = earn_for_order(order_id=order.pk, now=NOW)
    # then 20.5 rounds up to 21, spendable at once
    account = account_of(customer, program)
    assert [(entry.kind, entry.points, entry.balance_after) for entry in entries] == [(EntryKind.EARN, 21, 21)]
    assert (account.points, account.pending_points, account.lifetime_points) == (21, 0, 21)
    assert list(PointLot.objects.values_list("points", "remaining")) == [(21, 21)]


def test_just_below_half_rounds_down():
    program = LoyaltyProgramFactory(points_per_unit=1)
    order = paid_order(CustomerFactory(), 49)
    assert order_points(program, order, []) == 0
    assert order_points(program, paid_order(CustomerFactory(), 50), []) == 1


def test_category_bonus_period_and_tier_multipliers_combine_before_one_rounding():
    # given shoes at 150 %, a double-points week on new arrivals, a 125 % tier
    program = LoyaltyProgramFactory(points_per_unit=1)
    CategoryMultiplier.objects.create(program=program, category="shoes", multiplier_percent=150)
    BonusPeriod.objects.create(program=program, name="New arrivals", starts_at=NOW - timedelta(days=1),
                               ends_at=NOW + timedelta(days=1), multiplier_percent=200, categories=["new"])
    customer = CustomerFactory()
    # 60.00 shoes (x1.5 = 90) + 40.00 new (x2 = 80): 170 for 100.00 of items; paid 99.00 -> 168.3
    order = paid_order(customer, 9900, [("shoes", 1, 6000), ("new", 2, 2000)], created_at=NOW)
    # when / then
    assert order_points(program, order, list(order.items.all())) == 168
    # x1.25 -> 210.375 -> 210
    assert order_points(program, order, list(order.items.all()), tier_multiplier_percent=125) == 210


def test_tier_multiplier_applies_when_earning():
    program = LoyaltyProgramFactory(points_per_unit=1)
    TierFactory(program=program, name="Gold", threshold=0, multiplier_percent=150)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)  # becomes Gold on this earning
    # when
    entries = earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)
    # then 10 x 1.5
    assert entries[0].points == 15
    assert account_of(customer, program).tier.name == "Gold"


def test_other_currency_earns_nothing():
    program = LoyaltyProgramFactory()
    customer = CustomerFactory()
    assert earn_for_order(order_id=paid_order(customer, 1000, currency="USD").pk, now=NOW) == []
    assert account_of(customer, program).points == 0


def test_replayed_order_never_earns_twice():
    program = LoyaltyProgramFactory()
    customer = CustomerFactory()
    order = paid_order(customer, 1000)
    earn_for_order(order_id=order.pk, now=NOW)
    # when
    second = earn_for_order(order_id=order.pk, now=NOW)
    # then
    assert second == []
    assert account_of(customer, program).points == 10
    assert LedgerEntry.objects.count() == 1


def test_pending_points_wait_then_release_once():
    # given a 14-day return window
    program = LoyaltyProgramFactory(pending_days=14)
    customer = CustomerFactory()
    entries = earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)
    account = account_of(customer, program)
    assert (entries[0].kind, account.points, account.pending_points) == (EntryKind.PENDING, 0, 10)
    # when the window is not over, nothing; when it is, released once
    assert release_pending_points(now=NOW + timedelta(days=13)) == 0
    assert release_pending_points(now=NOW + timedelta(days=14)) == 1
    assert release_pending_points(now=NOW + timedelta(days=15)) == 0
    # then
    account.refresh_from_db()
    assert (account.points, account.pending_points, account.lifetime_points) == (10, 0, 10)
    assert list(PointLot.objects.values_list("remaining", "is_pending")) == [(10, False)]


def test_refund_inside_window_reverses_pending_points_once():
    program = LoyaltyProgramFactory(pending_days=14)
    customer = CustomerFactory()
    order = paid_order(customer, 1000)
    earn_for_order(order_id=order.pk, now=NOW)
    refund(order)
    # when
    entries = reverse_order_points(order_id=order.pk, now=NOW + timedelta(days=2))
    again = reverse_order_points(order_id=order.pk, now=NOW + timedelta(days=2))
    # then
    account = account_of(customer, program)
    assert [(entry.kind, entry.points, entry.pending_points) for entry in entries] == [(EntryKind.REVERSE, 0, -10)]
    assert again == []
    assert (account.points, account.pending_points, account.lifetime_points) == (0, 0, 0)
    assert release_pending_points(now=NOW + timedelta(days=20)) == 0


def test_refund_after_spending_leaves_negative_balance_that_blocks_and_is_paid_off():
    # given 100 points earned, 80 spent on a reward
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=80)
    customer = CustomerFactory()
    order = paid_order(customer, 10000)
    earn_for_order(order_id=order.pk, now=NOW)
    redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.system(), now=NOW)
    # when the order is refunded after the window
    reverse_order_points(order_id=refund(order).pk, now=NOW + timedelta(days=30))
    # then the balance is -80 and spending is refused
    account = account_of(customer, program)
    assert (account.points, account.lifetime_points) == (-80, 0)
    cheap = RewardFactory(program=program, cost=0)
    with pytest.raises(LoyaltyError) as refused:
        redeem_reward(account_or_customer=customer, reward=cheap, actor=Actor.system(), now=NOW)
    assert refused.value.code == "insufficient_points"
    assert account.reward_redemptions.count() == 1
    # when a later order earns 100, the debt is paid first
    earn_for_order(order_id=paid_order(customer, 10000).pk, now=NOW + timedelta(days=31))
    account.refresh_from_db()
    assert account.points == 20
    assert sum(PointLot.objects.filter(account=account).values_list("remaining", flat=True)) == 20


def test_refunded_before_earning_task_earns_nothing():
    LoyaltyProgramFactory()
    order = refund(paid_order(CustomerFactory(), 1000))
    assert earn_for_order(order_id=order.pk, now=NOW) == []
    assert LedgerEntry.objects.count() == 0


def test_customer_earns_in_every_active_program():
    first, second = LoyaltyProgramFactory(points_per_unit=1), LoyaltyProgramFactory(points_per_unit=3)
    LoyaltyProgramFactory(is_active=False)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)
    assert account_of(customer, first).points == 10
    assert account_of(customer, second).points == 30
    assert LoyaltyAccount.objects.count() == 2


@time_machine.travel(NOW, tick=False)
def test_earning_emits_points_earned_webhook():
    from retention.messaging.models import WebhookEvent

    LoyaltyProgramFactory()
    customer = CustomerFactory(source_id="c-77")
    earn_for_order(order_id=paid_order(customer, 1000, source_id="A-1").pk)
    event = WebhookEvent.objects.get(type="loyalty.points_earned")
    assert (event.data["customer"], event.data["points"], event.data["order"]) == ("c-77", 10, "A-1")

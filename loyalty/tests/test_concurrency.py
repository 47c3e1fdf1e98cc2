"""Real threads on PostgreSQL: the account's row lock keeps racing redemptions within the balance, and
replayed order and event messages arriving at the same moment earn once."""


import pytest
from django.core.management import call_command
from django.db import connection

from loyalty.errors import LoyaltyError
from loyalty.models import EarningRule, EntryKind, LedgerEntry, LoyaltyAccount, PointLot, Reward, RewardRedemption
from loyalty.services.earning import earn_for_event, earn_for_order, earn_signup_bonus, reverse_order_points
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order, refund
from retention.actors import Actor
from retention.models import Event
from retention.tests.concurrency import run_together
from retention.tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_racing_redemptions_never_spend_more_than_the_balance():
    # given 100 points and a 30-point reward; 8 threads each try to redeem it
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=30)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 10000).pk)

    def redeem() -> str:
        redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.system("race"))
        return "ok"

    # when
    outcomes = race(*[redeem] * 8)
    # then exactly three fit in 100 points
    assert sorted(outcomes) == ["insufficient_points"] * 5 + ["ok"] * 3
    account = LoyaltyAccount.objects.get()
    assert (account.points, RewardRedemption.objects.count()) == (10, 3)
    assert list(LedgerEntry.objects.order_by("pk").values_list("balance_after", flat=True)) == [100, 70, 40, 10]


def test_database_refuses_update_and_delete_of_entries():
    from django.db import DatabaseError, transaction

    LoyaltyProgramFactory()
    earn_for_order(order_id=paid_order(CustomerFactory(), 1000).pk)
    table = LedgerEntry._meta.db_table
    for statement in (f"UPDATE {table} SET points = 99", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert list(LedgerEntry.objects.values_list("points", flat=True)) == [10]


def race(*calls) -> list:
    """Run the calls in threads released together; returns each one's result or LoyaltyError code, in order."""
    def run(index: int):
        try:
            return calls[index]()
        except LoyaltyError as error:
            return error.code

    return run_together(len(calls), run)


def test_a_replayed_order_arriving_at_once_earns_once():
    # given a paid order of a customer who has no account yet (so the account is created in the race too)
    program = LoyaltyProgramFactory()
    TierFactory(program=program, name="Silver", threshold=50)
    customer = CustomerFactory()
    order = paid_order(customer, 12000, source_id="A-7")
    # when six workers process the same order message at the same moment
    outcomes = race(*[lambda: len(earn_for_order(order_id=order.pk))] * 6)
    # then one earned, the others found its entry under the lock
    assert sorted(outcomes) == [0] * 5 + [1]
    account = LoyaltyAccount.objects.get()
    assert (account.points, account.lifetime_points, account.tier.name) == (120, 120, "Silver")
    assert LedgerEntry.objects.count() == PointLot.objects.count() == 1
    call_command("check_loyalty_ledger")


def test_collectors_and_a_replayed_single_order_racing_on_the_queue_earn_each_order_once(monkeypatch):
    # given 600 queued orders of 15 customers (more than one batch), every customer in several batches
    from loyalty.services import earning

    monkeypatch.setattr(earning, "QUEUE_BATCH", 100)
    monkeypatch.setattr(earning, "_schedule_collector", lambda: None)  # the collectors run below, together
    program = LoyaltyProgramFactory()
    TierFactory(program=program, name="Silver", threshold=50)
    customers = [CustomerFactory() for _ in range(15)]
    orders = [paid_order(customers[index % 15], 1000, source_id=f"Q-{index}") for index in range(600)]
    for order in orders:
        earning.queue_order_earning(order_id=order.pk)
    # when three collectors and an old per-order message for one of the orders run at once
    outcomes = race(earning.earn_queued_orders, earning.earn_queued_orders, earning.earn_queued_orders,
                    lambda: len(earn_for_order(order_id=orders[0].pk)))
    # then every order was taken once from the queue and earned once, and the balances match the ledger
    assert sum(outcomes[:3]) == 600 and outcomes[3] in (0, 1)
    assert LedgerEntry.objects.count() == PointLot.objects.count() == 600
    assert sorted(LoyaltyAccount.objects.values_list("points", flat=True)) == [400] * 15
    assert not earning.QueuedOrder.objects.exists()
    call_command("check_loyalty_ledger")


def test_a_replayed_refund_arriving_at_once_reverses_once():
    LoyaltyProgramFactory()
    customer = CustomerFactory()
    order = paid_order(customer, 5000)
    earn_for_order(order_id=order.pk)
    refund(order)
    outcomes = race(*[lambda: len(reverse_order_points(order_id=order.pk))] * 4)
    assert sorted(outcomes) == [0, 0, 0, 1]
    assert LoyaltyAccount.objects.get().points == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1


def test_replayed_events_and_sign_ups_earn_once_and_monthly_limits_hold():
    # given a review rule (once per order) and a share rule (at most 2 a month)
    program = LoyaltyProgramFactory(signup_bonus=50)
    EarningRule.objects.create(program=program, event_type="review_submitted", points=20, once_per_property="order_id")
    EarningRule.objects.create(program=program, event_type="social_share", points=5, max_per_month=2)
    customer = CustomerFactory()
    review = Event.objects.create(customer=customer, type="review_submitted", properties={"order_id": "A-1"},
                                  occurred_at=customer.created_at, event_id="rev-1")
    second_review = Event.objects.create(customer=customer, type="review_submitted", properties={"order_id": "A-1"},
                                         occurred_at=customer.created_at, event_id="rev-2")
    shares = [Event.objects.create(customer=customer, type="social_share", properties={},
                                   occurred_at=customer.created_at, event_id=f"share-{index}") for index in range(5)]
    # when the same review is delivered three times, a second review of the same order arrives, five
    # different shares and the sign-up bonus twice, all at once
    calls = [lambda: earn_for_event(event_id=review.pk)] * 3 + [lambda: earn_for_event(event_id=second_review.pk)]
    calls += [lambda event=event: earn_for_event(event_id=event.pk) for event in shares]
    calls += [lambda: earn_signup_bonus(customer_id=customer.pk)] * 2
    race(*calls)
    # then one review bonus, two shares and one sign-up bonus: 20 + 10 + 50
    assert LoyaltyAccount.objects.get().points == 80
    assert LedgerEntry.objects.filter(description="social_share").count() == 2
    call_command("check_loyalty_ledger")


def test_the_last_item_in_stock_goes_to_one_customer():
    # given a reward with one left and four customers who can all afford it
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=10, stock=1)
    customers = [CustomerFactory() for _ in range(4)]
    for customer in customers:
        earn_for_order(order_id=paid_order(customer, 5000).pk)
    # when they all redeem at once
    outcomes = race(*[lambda customer=customer: redeem_reward(account_or_customer=customer, reward=reward,
                                                              actor=Actor.system("race")).pk
                      for customer in customers])
    # then one got it, the others were told it is gone, and no points left the losers' balances
    assert sorted(map(str, outcomes)).count("reward_unavailable") == 3
    assert Reward.objects.get().stock == 0 and RewardRedemption.objects.count() == 1
    assert sorted(LoyaltyAccount.objects.values_list("points", flat=True)) == [40, 50, 50, 50]


def test_redemptions_racing_a_refund_never_spend_points_that_are_gone():
    # given 100 points from one order; a 60-point reward is redeemed twice while the order is refunded
    program = LoyaltyProgramFactory()
    reward = RewardFactory(program=program, cost=60)
    customer = CustomerFactory()
    order = paid_order(customer, 10000)
    earn_for_order(order_id=order.pk)
    refund(order)
    redeem = lambda: redeem_reward(account_or_customer=customer, reward=reward, actor=Actor.system("race")).pk  # noqa: E731
    outcomes = race(redeem, redeem, lambda: len(reverse_order_points(order_id=order.pk)))
    # then at most one redemption went through, and the balance is exactly what the ledger says
    spent = RewardRedemption.objects.count()
    assert spent <= 1 and outcomes.count("insufficient_points") == 2 - spent
    assert LoyaltyAccount.objects.get().points == 100 - 60 * spent - 100
    call_command("check_loyalty_ledger")

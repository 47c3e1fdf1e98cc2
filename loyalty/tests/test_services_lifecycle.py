"""Expiry, reminders, tiers, milestones, events, sign-up bonus and manual adjustments."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.errors import LoyaltyError
from loyalty.models import (
    AdjustmentRequest,
    EarningRule,
    EntryKind,
    LedgerEntry,
    LoyaltyAccount,
    Milestone,
    MilestoneAchievement,
    PointLot,
    TierBasis,
)
from loyalty.services.adjustments import adjust_points, approve_adjustment, reject_adjustment
from loyalty.services.earning import earn_for_event, earn_for_order, earn_signup_bonus, reverse_order_points
from loyalty.services.expiry import expire_points, send_expiry_reminders
from loyalty.services.ledger import account_for
from loyalty.services.rewards import redeem_reward
from loyalty.services.tiers import reevaluate_tiers
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order, refund
from retention.actors import Actor
from retention.messaging.models import Channel, Delivery, MessageTemplate, WebhookEvent
from retention.models import AuditEntry, Event
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def balance(customer, program):
    account = LoyaltyAccount.objects.get(customer=customer, program=program)
    return account.points


def test_expiry_takes_what_is_left_once():
    # given 50 points earned on day 0 and 70 on day 10, expiring after 30 days; 60 spent (50 + 10)
    program = LoyaltyProgramFactory(points_expire_after_days=30)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 5000).pk, now=NOW)
    earn_for_order(order_id=paid_order(customer, 7000).pk, now=NOW + 10 * DAY)
    redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=60), actor=Actor.system(),
                  now=NOW + 11 * DAY)
    # when day 30 passes: the first lot is empty, nothing expires; day 40: the second lot's 60 expire
    assert expire_points(now=NOW + 30 * DAY) == 0
    assert expire_points(now=NOW + 40 * DAY) == 60
    assert expire_points(now=NOW + 41 * DAY) == 0
    # then
    assert balance(customer, program) == 0
    assert list(LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).values_list("points", flat=True)) == [-60]


def test_reminders_only_for_live_points_and_once_per_lot():
    # given a reminder template, 14-day reminders, lots expiring on day 30 (spent) and day 40 (live)
    MessageTemplate.objects.create(name="loyalty_points_expiring", channel=Channel.EMAIL, subject="Points expire",
                                   text_body="{{ discount_text }} expire on {{ expires_at }}", html_body="x")
    program = LoyaltyProgramFactory(points_expire_after_days=30, expiry_reminder_days=14)
    customer = CustomerFactory(email="ana@example.com")
    earn_for_order(order_id=paid_order(customer, 5000).pk, now=NOW)
    earn_for_order(order_id=paid_order(customer, 7000).pk, now=NOW + 10 * DAY)
    redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=50), actor=Actor.system(),
                  now=NOW + DAY)
    # when day 20 (the spent lot is within 14 days, the live one not yet)
    assert send_expiry_reminders(now=NOW + 20 * DAY) == 0
    # when day 27: the live lot (70) is within 14 days
    assert send_expiry_reminders(now=NOW + 27 * DAY) == 1
    assert send_expiry_reminders(now=NOW + 28 * DAY) == 0
    # then one delivery, about 70 points
    assert Delivery.objects.count() == 1
    assert "70 points" in str(Delivery.objects.get().payload)
    # expired points are never the subject of a reminder
    expire_points(now=NOW + 45 * DAY)
    assert send_expiry_reminders(now=NOW + 46 * DAY) == 0


def test_tier_goes_up_on_earning_and_down_when_the_window_rolls():
    program = LoyaltyProgramFactory(tier_basis=TierBasis.ROLLING_12_MONTHS)
    TierFactory(program=program, name="Gold", threshold=100)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 15000).pk, now=NOW)
    account = LoyaltyAccount.objects.get(customer=customer)
    assert (account.tier.name, account.tier_points) == ("Gold", 150)
    assert WebhookEvent.objects.filter(type="loyalty.tier_changed").count() == 1
    # when the daily job runs within the year: nothing; after it: down
    assert reevaluate_tiers(now=NOW + 300 * DAY) == 0
    assert reevaluate_tiers(now=NOW + 366 * DAY) == 1
    assert reevaluate_tiers(now=NOW + 367 * DAY) == 0
    account.refresh_from_db()
    assert (account.tier, account.tier_points) == (None, 0)
    changes = WebhookEvent.objects.filter(type="loyalty.tier_changed").order_by("created_at")
    assert [(event.data["previous_tier"], event.data["tier"]) for event in changes] == [(None, "Gold"), ("Gold", None)]


def test_refund_downgrades_and_lifetime_basis_keeps_tier():
    program = LoyaltyProgramFactory(tier_basis=TierBasis.LIFETIME)
    TierFactory(program=program, name="Gold", threshold=100)
    customer = CustomerFactory()
    order = paid_order(customer, 15000)
    earn_for_order(order_id=order.pk, now=NOW)
    assert reevaluate_tiers(now=NOW + 800 * DAY) == 0  # lifetime: the window never rolls
    reverse_order_points(order_id=refund(order).pk, now=NOW + DAY)
    assert LoyaltyAccount.objects.get().tier is None


def test_milestone_is_awarded_once():
    program = LoyaltyProgramFactory()
    Milestone.objects.create(program=program, name="Second order", kind="orders", threshold=2, bonus_points=25)
    customer = CustomerFactory(orders_count=2)
    earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)
    earn_for_order(order_id=paid_order(customer, 1000).pk, now=NOW)
    assert MilestoneAchievement.objects.count() == 1
    assert balance(customer, program) == 45


def test_milestone_reward_is_given_free():
    program = LoyaltyProgramFactory()
    gift = RewardFactory(program=program, type="experience", cost=500)
    Milestone.objects.create(program=program, name="100 points", kind="points", threshold=100, reward=gift)
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 10000).pk, now=NOW)
    account = LoyaltyAccount.objects.get()
    assert list(account.reward_redemptions.values_list("points_spent", "status")) == [(0, "requested")]
    assert account.points == 100


def test_event_rule_limits_per_month_and_per_property():
    program = LoyaltyProgramFactory()
    EarningRule.objects.create(program=program, event_type="social_share", points=5, max_per_month=2)
    EarningRule.objects.create(program=program, event_type="review_submitted", points=20,
                               once_per_property="order_id")
    customer = CustomerFactory()

    def send(type_, event_id, **properties):
        event = Event.objects.create(customer=customer, type=type_, occurred_at=NOW, properties=properties,
                                     event_id=event_id)
        return earn_for_event(event_id=event.pk, now=NOW)

    shares = [len(send("social_share", f"s-{index}")) for index in range(3)]
    reviews = [len(send("review_submitted", f"r-{index}", order_id="A-1")) for index in range(2)]
    other = len(send("review_submitted", "r-9", order_id="A-2"))
    replay = earn_for_event(event_id=Event.objects.get(event_id="s-0").pk, now=NOW)
    assert (shares, reviews, other, replay) == ([1, 1, 0], [1, 0], 1, [])
    assert balance(customer, program) == 50
    # next month the share limit starts again
    assert len(earn_for_event(event_id=Event.objects.get(event_id="s-2").pk, now=NOW + 31 * DAY)) == 1


def test_signup_bonus_once():
    program = LoyaltyProgramFactory(signup_bonus=100)
    customer = CustomerFactory()
    earn_signup_bonus(customer_id=customer.pk, now=NOW)
    earn_signup_bonus(customer_id=customer.pk, now=NOW)
    assert balance(customer, program) == 100


def test_small_adjustment_applies_at_once(marketer):
    program = LoyaltyProgramFactory(adjustment_approval_threshold=100)
    account = account_for(program=program, customer=CustomerFactory())
    entry = adjust_points(account=account, points=100, reason="Late delivery", actor=Actor.for_user(marketer))
    assert (entry.kind, entry.points, entry.balance_after, entry.actor_label) == ("adjust", 100, 100, "alice")
    assert AuditEntry.objects.filter(action="loyalty.points_adjusted").count() == 1


def test_large_adjustment_needs_a_second_person(marketer, agent, admin_user):
    program = LoyaltyProgramFactory(adjustment_approval_threshold=100)
    account = account_for(program=program, customer=CustomerFactory())
    request = adjust_points(account=account, points=500, reason="Big apology", actor=Actor.for_user(marketer))
    assert isinstance(request, AdjustmentRequest)
    assert LedgerEntry.objects.count() == 0
    # the requester cannot approve their own request
    with pytest.raises(LoyaltyError) as refused:
        approve_adjustment(request=request, actor=Actor.for_user(marketer))
    assert refused.value.code == "second_person_required"
    assert LedgerEntry.objects.count() == 0
    # someone else can, once
    entry = approve_adjustment(request=request, actor=Actor.for_user(admin_user))
    with pytest.raises(LoyaltyError):
        reject_adjustment(request=request, actor=Actor.for_user(agent))
    assert (entry.points, entry.source_type, balance(account.customer, program)) == (500, "adjustment_request", 500)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", admin_user)
    assert AuditEntry.objects.filter(action__startswith="loyalty.adjustment_").count() == 2


def test_rejected_adjustment_moves_nothing(marketer, admin_user):
    program = LoyaltyProgramFactory(adjustment_approval_threshold=0)
    account = account_for(program=program, customer=CustomerFactory())
    request = adjust_points(account=account, points=-5, reason="Typo", actor=Actor.for_user(marketer))
    reject_adjustment(request=request, actor=Actor.for_user(admin_user))
    assert (LedgerEntry.objects.count(), PointLot.objects.count()) == (0, 0)

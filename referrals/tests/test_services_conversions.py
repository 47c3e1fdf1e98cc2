"""Conversion, hold and release, refunds, tiers, limits, budget, review decisions, payouts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from loyalty.models import LedgerEntry, LoyaltyAccount
from referrals.errors import ReferralError
from referrals.models import PayoutStatus, Referral, ReferralReward, ReferralStatus, RewardRole
from referrals.services.conversions import (
    approve_referral,
    cancel_for_refund,
    convert_for_event,
    convert_for_order,
    reject_referral,
    release_held_referrals,
    set_payout_status,
)
from referrals.services.programs import set_program_enabled
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralTierFactory
from retention.actors import Actor
from retention.messaging.models import WebhookEvent
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, EventFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def referred(code="ANNA-7KQ2", **kwargs):
    friend = CustomerFactory(**kwargs)
    return register_referral(code=code, friend=friend, actor=ACTOR), friend


def points_of(customer) -> int:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.points if account else 0


def test_first_paid_order_converts_and_rewards_the_referrer_once(anna_code, anna):
    # given
    referral, friend = referred()
    order = OrderFactory(customer=friend, amount=5000)
    # when the order message arrives twice
    first = convert_for_order(order_id=order.pk)
    second = convert_for_order(order_id=order.pk)
    # then
    referral.refresh_from_db()
    assert (len(first), second, referral.status) == (1, [], ReferralStatus.REWARDED)
    assert referral.conversion_order_id == order.pk and referral.conversion_amount == 5000
    assert points_of(anna) == 500
    reward = ReferralReward.objects.get(role=RewardRole.REFERRER)
    assert (reward.type, reward.points, reward.cost) == ("points", 500, 500)
    event = WebhookEvent.objects.get(type="referral.converted")
    assert (event.data["referrer"], event.data["customer"], event.data["amount"]) == ("anna", friend.source_id, 5000)


def test_orders_below_the_minimum_or_too_late_or_not_first_do_not_convert(anna_code, program):
    referral, friend = referred()
    small = OrderFactory(customer=friend, amount=1999)
    assert convert_for_order(order_id=small.pk) == []
    big_second = OrderFactory(customer=friend, amount=9000)
    assert convert_for_order(order_id=big_second.pk) == []  # not the first order
    late_referral, late_friend = referred()
    late = OrderFactory(customer=late_friend, amount=9000, created_at=timezone.now() + timedelta(days=31))
    assert convert_for_order(order_id=late.pk) == []
    assert Referral.objects.filter(status="pending").count() == 2
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 0


def test_a_chosen_event_converts(anna_code, program, anna):
    program.conversion_event = "account_verified"
    program.save()
    referral, friend = referred()
    assert convert_for_event(event_id=EventFactory(customer=friend, type="review_submitted").pk) == []
    assert len(convert_for_event(event_id=EventFactory(customer=friend, type="account_verified").pk)) == 1
    assert points_of(anna) == 500


def test_disabled_program_converts_nothing(anna_code, program):
    referral, friend = referred()
    set_program_enabled(program=program, enabled=False, actor=ACTOR)
    assert convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk) == []
    assert AuditEntry.objects.filter(action="referral.program_disabled").count() == 1


def test_held_reward_is_given_after_the_hold(anna_code, program, anna):
    # given a 14-day hold
    program.reward_hold_days = 14
    program.save()
    referral, friend = referred()
    now = timezone.now()
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk, now=now)
    referral.refresh_from_db()
    assert (referral.status, points_of(anna)) == (ReferralStatus.HELD, 0)
    # when the release runs before and after the hold
    assert release_held_referrals(now=now + timedelta(days=13)) == 0
    assert release_held_referrals(now=now + timedelta(days=14, seconds=1)) == 1
    assert release_held_referrals(now=now + timedelta(days=15)) == 0
    # then
    referral.refresh_from_db()
    assert (referral.status, points_of(anna)) == (ReferralStatus.REWARDED, 500)


def test_refund_inside_the_window_cancels_conversion_and_reward(anna_code, program, anna):
    # given a rewarded conversion with a 30 EUR budget
    program.budget = 3000
    program.save()
    referral, friend = referred()
    order = OrderFactory(customer=friend, amount=5000)
    now = timezone.now()
    convert_for_order(order_id=order.pk, now=now)
    program.refresh_from_db()
    assert (points_of(anna), program.budget_spent) == (500, 500)
    # when the order is refunded a week later
    order.status = "refunded"
    order.save()
    cancelled = cancel_for_refund(order_id=order.pk, now=now + timedelta(days=7))
    # then
    referral.refresh_from_db()
    program.refresh_from_db()
    assert (len(cancelled), referral.status, points_of(anna), program.budget_spent) == (1, "cancelled", 0, 0)
    assert ReferralReward.objects.get(role=RewardRole.REFERRER).is_cancelled is True
    assert LedgerEntry.objects.filter(kind="reverse", source_type="referral").count() == 1


def test_refund_after_the_window_changes_nothing(anna_code, anna):
    referral, friend = referred()
    order = OrderFactory(customer=friend, amount=5000)
    now = timezone.now()
    convert_for_order(order_id=order.pk, now=now)
    order.status = "refunded"
    order.save()
    assert cancel_for_refund(order_id=order.pk, now=now + timedelta(days=15)) == []
    assert points_of(anna) == 500


def test_tiers_reward_by_the_number_of_converted_referrals(anna_code, program, anna):
    # given 1st → 500 points, 3rd → a 30 EUR code, 4th → a cash payout
    ReferralTierFactory(program=program, referrals=3, reward_type="code", points=None,
                        campaign=CampaignFactory(discount_type="amount", percent=None, amount=3000))
    ReferralTierFactory(program=program, referrals=4, reward_type="cash", points=None, cash_amount=2500)
    # when four friends convert
    for _ in range(4):
        _referral, friend = referred()
        convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    # then
    rewards = list(ReferralReward.objects.filter(role=RewardRole.REFERRER).order_by("pk")
                   .values_list("type", "points", "cost", "payout_status"))
    assert rewards == [("points", 500, 500, ""), ("points", 500, 500, ""), ("code", None, 3000, ""),
                       ("cash", None, 2500, "pending")]
    assert points_of(anna) == 1000


def test_monthly_limit_converts_but_gives_no_reward(anna_code, program, anna):
    program.max_rewards_per_referrer_per_month = 1
    program.save()
    first, friend_one = referred()
    second, friend_two = referred()
    convert_for_order(order_id=OrderFactory(customer=friend_one, amount=5000).pk)
    convert_for_order(order_id=OrderFactory(customer=friend_two, amount=5000).pk)
    second.refresh_from_db()
    assert (second.status, second.skipped_reason) == ("rewarded", "limit_reached")
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 1


def test_budget_is_never_overspent(anna_code, program, anna):
    program.budget = 700
    program.save()
    referrals = [referred() for _ in range(2)]
    for _referral, friend in referrals:
        convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    program.refresh_from_db()
    assert program.budget_spent == 500
    assert Referral.objects.filter(skipped_reason="budget_exhausted").count() == 1


def test_flagged_referral_waits_for_review_then_approve_rewards(anna_code, marketer, anna):
    referral, friend = referred()
    Referral.objects.filter(pk=referral.pk).update(needs_review=True)
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    assert release_held_referrals(now=timezone.now() + timedelta(days=60)) == 0
    approve_referral(referral=referral, actor=Actor.for_user(marketer), note="Checked by phone")
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by_id, points_of(anna)) == ("rewarded", marketer.pk, 500)
    with pytest.raises(ReferralError):
        approve_referral(referral=referral, actor=Actor.for_user(marketer))
    assert points_of(anna) == 500


def test_reject_needs_a_reason_and_gives_nothing(anna_code, marketer, anna):
    referral, friend = referred()
    Referral.objects.filter(pk=referral.pk).update(needs_review=True)
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    with pytest.raises(Exception):  # noqa: B017
        reject_referral(referral=referral, actor=Actor.for_user(marketer), note=" ")
    reject_referral(referral=referral, actor=Actor.for_user(marketer), note="Same household")
    referral.refresh_from_db()
    assert (referral.status, referral.decision_note, points_of(anna)) == ("rejected", "Same household", 0)


def test_cash_payout_moves_pending_approved_paid(anna_code, program, marketer):
    program.tiers.update(reward_type="cash", points=None, cash_amount=2000)
    _referral, friend = referred()
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    reward = ReferralReward.objects.get(role=RewardRole.REFERRER)
    assert reward.payout_status == PayoutStatus.PENDING
    with pytest.raises(Exception):  # noqa: B017
        set_payout_status(reward=reward, status="paid", actor=Actor.for_user(marketer))
    set_payout_status(reward=reward, status="approved", actor=Actor.for_user(marketer))
    set_payout_status(reward=reward, status="paid", actor=Actor.for_user(marketer))
    reward.refresh_from_db()
    assert reward.payout_status == "paid"


def test_an_email_changed_to_the_referrers_after_registration_holds_the_reward(anna_code, anna):
    # given a friend who later takes the referrer's address with a +tag
    referral, friend = referred()
    friend.email = "annasmith+2@gmail.com"
    friend.save()
    # when the friend orders
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    # then the reward waits for review, with the reason recorded
    referral.refresh_from_db()
    assert (referral.status, referral.needs_review, points_of(anna)) == ("held", True, 0)
    assert list(referral.fraud_signals.values_list("kind", flat=True)) == ["same_email"]


def test_a_reward_that_cannot_be_given_is_recorded_and_hands_the_budget_back(anna_code, program):
    # given a code reward from a campaign that was paused, and a budget
    program.budget = 10000
    program.save()
    program.tiers.update(reward_type="code", points=None,
                         campaign=CampaignFactory(discount_type="amount", percent=None, amount=3000, is_paused=True))
    referral, friend = referred()
    # when the friend converts
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    # then the conversion stands, the reason is recorded and the budget is untouched
    referral.refresh_from_db()
    program.refresh_from_db()
    assert (referral.status, referral.skipped_reason, program.budget_spent) == ("rewarded", "campaign_paused", 0)
    assert ReferralReward.objects.filter(role=RewardRole.REFERRER).count() == 0


def test_refund_of_a_still_held_conversion_cancels_it_even_after_the_window(anna_code, program, anna):
    program.reward_hold_days, program.return_window_days = 30, 7
    program.save()
    referral, friend = referred()
    order = OrderFactory(customer=friend, amount=5000)
    now = timezone.now()
    convert_for_order(order_id=order.pk, now=now)
    order.status = "refunded"
    order.save()
    cancel_for_refund(order_id=order.pk, now=now + timedelta(days=20))
    assert release_held_referrals(now=now + timedelta(days=31)) == 0
    referral.refresh_from_db()
    assert (referral.status, points_of(anna)) == ("cancelled", 0)


def test_a_gift_card_campaign_reward_is_recorded_as_gift_card_credit(anna_code, program, anna):
    from campaigns.models import Code

    program.tiers.update(reward_type="gift_card", points=None, campaign=CampaignFactory(
        discount_type="gift_card", percent=None, gift_card_balance=2500, max_uses_per_code=None))
    _referral, friend = referred()
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    reward = ReferralReward.objects.get(role=RewardRole.REFERRER)
    assert (reward.type, reward.cost) == ("gift_card", 2500)
    assert (Code.objects.get(pk=reward.code_id).customer_id, Code.objects.get(pk=reward.code_id).balance) == (
        anna.pk, 2500)

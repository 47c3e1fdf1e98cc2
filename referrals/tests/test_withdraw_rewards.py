"""A refund that cancels a conversion withdraws the code rewards nobody used yet (friend's and referrer's)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.discounts import OrderInput
from campaigns.services.redemptions import redeem_code
from campaigns.tests.factories import CampaignFactory
from referrals.models import ReferralReward, RewardRole
from referrals.services.conversions import cancel_for_refund, convert_for_order
from referrals.services.referrals import register_referral
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def code_tier_program(program):
    program.budget = 10000
    program.save()
    program.tiers.update(points=None, reward_type="code", campaign=CampaignFactory(
        name="Thanks", slug="thanks", discount_type="amount", percent=None, amount=3000))
    return program


def converted_then_refunded(*, use_friend_code=False, use_referrer_code=False):
    friend = CustomerFactory()
    referral = register_referral(code="ANNA-7KQ2", friend=friend, actor=ACTOR)
    order = OrderFactory(customer=friend, amount=5000)
    now = timezone.now()
    convert_for_order(order_id=order.pk, now=now)
    rewards = {reward.role: reward for reward in ReferralReward.objects.filter(referral=referral)
               .select_related("code", "customer")}
    for role, wanted in ((RewardRole.FRIEND, use_friend_code), (RewardRole.REFERRER, use_referrer_code)):
        if wanted:
            reward = rewards[role]
            redeem_code(code=reward.code.code, customer_source_id=reward.customer.source_id, actor=ACTOR,
                        order=OrderInput(amount=9000, currency="EUR", items=(), source_id=f"o-{role}",
                                         shipping_amount=None))
    order.status = "refunded"
    order.save()
    cancel_for_refund(order_id=order.pk, now=now + timedelta(days=3))
    return {reward.role: reward for reward in ReferralReward.objects.filter(referral=referral).select_related("code")}


def test_unused_codes_of_both_sides_are_withdrawn_and_the_budget_given_back(anna_code, code_tier_program):
    rewards = converted_then_refunded()
    friend, referrer = rewards[RewardRole.FRIEND], rewards[RewardRole.REFERRER]
    assert (friend.code.is_disabled, friend.is_cancelled, friend.code_was_used) == (True, True, False)
    assert (referrer.code.is_disabled, referrer.is_cancelled, referrer.code_was_used) == (True, True, False)
    code_tier_program.refresh_from_db()
    assert code_tier_program.budget_spent == 0
    assert AuditEntry.objects.filter(action="code.withdrawn").count() == 2


def test_used_codes_stay_and_are_recorded_as_used(anna_code, code_tier_program):
    rewards = converted_then_refunded(use_friend_code=True, use_referrer_code=True)
    friend, referrer = rewards[RewardRole.FRIEND], rewards[RewardRole.REFERRER]
    # the friend spent the welcome code: the reward was given and stays
    assert (friend.code.is_disabled, friend.is_cancelled, friend.code_was_used) == (False, False, True)
    # the referrer's reward no longer counts for tiers, but its spent value stays in the budget
    assert (referrer.code.is_disabled, referrer.is_cancelled, referrer.code_was_used) == (False, True, True)
    code_tier_program.refresh_from_db()
    assert code_tier_program.budget_spent == 3000
    assert not AuditEntry.objects.filter(action="code.withdrawn").exists()


def test_points_rewards_record_no_code_use(anna_code, program):
    rewards = converted_then_refunded()
    assert (rewards[RewardRole.REFERRER].is_cancelled, rewards[RewardRole.REFERRER].code_was_used) == (True, None)
    assert rewards[RewardRole.FRIEND].code.is_disabled is True

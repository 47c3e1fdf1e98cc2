from datetime import UTC, datetime, timedelta

import pytest

from campaigns.tests.factories import CampaignFactory
from loyalty.errors import LoyaltyError
from loyalty.models import LoyaltyAccount, PointLot, RewardRedemption, RewardRedemptionStatus
from loyalty.services.earning import earn_for_order
from loyalty.services.rewards import fulfil_reward_redemption, redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.actors import Actor
from retention.models import Segment, SegmentKind, StaticSegmentMember
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SYSTEM = Actor.system("test")


@pytest.fixture
def program():
    return LoyaltyProgramFactory()


@pytest.fixture
def customer(program):
    customer = CustomerFactory()
    earn_for_order(order_id=paid_order(customer, 5000, source_id="old").pk, now=NOW - timedelta(days=2))
    earn_for_order(order_id=paid_order(customer, 7000, source_id="new").pk, now=NOW - timedelta(days=1))
    return customer  # lots of 50 (older) and 70 points


def test_fifo_across_lots(program, customer):
    # when 80 points are spent
    redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=80), actor=SYSTEM, now=NOW)
    # then the older lot is emptied, the newer one gives 30
    assert list(PointLot.objects.order_by("earned_at").values_list("points", "remaining")) == [(50, 0), (70, 40)]
    assert LoyaltyAccount.objects.get(customer=customer).points == 40


@pytest.mark.parametrize("kind", ["code", "gift_card", "product", "free_shipping"])
def test_code_like_rewards_issue_a_code_of_their_campaign(program, customer, kind):
    campaign = CampaignFactory()
    reward = RewardFactory(program=program, type=kind, campaign=campaign, cost=100)
    redemption = redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM, now=NOW)
    assert (redemption.status, redemption.points_spent) == (RewardRedemptionStatus.ISSUED, 100)
    assert (redemption.code.campaign_id, redemption.code.customer_id, redemption.code.source) == (
        campaign.pk, customer.pk, "loyalty")


def test_experience_is_requested_then_fulfilled_once(program, customer, marketer):
    reward = RewardFactory(program=program, type="experience", cost=10)
    redemption = redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM, now=NOW)
    assert (redemption.status, redemption.code) == (RewardRedemptionStatus.REQUESTED, None)
    fulfil_reward_redemption(redemption=redemption, actor=Actor.for_user(marketer))
    with pytest.raises(LoyaltyError):
        fulfil_reward_redemption(redemption=redemption, actor=Actor.for_user(marketer))
    assert RewardRedemption.objects.get().status == RewardRedemptionStatus.FULFILLED


def test_donation_is_recorded(program, customer):
    redemption = redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=120),
                               actor=SYSTEM, now=NOW)
    assert (redemption.status, LoyaltyAccount.objects.get(customer=customer).points) == ("issued", 0)


def test_stock_runs_out(program, customer):
    reward = RewardFactory(program=program, cost=10, stock=1)
    redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM, now=NOW)
    with pytest.raises(LoyaltyError) as refused:
        redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM, now=NOW)
    assert refused.value.code == "reward_unavailable"
    reward.refresh_from_db()
    assert (reward.stock, RewardRedemption.objects.count(), LoyaltyAccount.objects.get().points) == (0, 1, 110)


def test_tier_and_segment_limit_availability(program, customer):
    gold = TierFactory(program=program, name="Gold", threshold=1000)
    for_gold = RewardFactory(program=program, cost=10, min_tier=gold)
    vip = Segment.objects.create(name="VIP", slug="vip", kind=SegmentKind.STATIC)
    for_vip = RewardFactory(program=program, cost=10, segment=vip)
    for reward in (for_gold, for_vip):
        with pytest.raises(LoyaltyError) as refused:
            redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM, now=NOW)
        assert refused.value.code == "reward_unavailable"
    assert (RewardRedemption.objects.count(), LoyaltyAccount.objects.get().points) == (0, 120)
    # when the customer joins the segment
    StaticSegmentMember.objects.create(segment=vip, customer=customer)
    assert redeem_reward(account_or_customer=customer, reward=for_vip, actor=SYSTEM, now=NOW).points_spent == 10


def test_insufficient_points_changes_nothing(program, customer):
    with pytest.raises(LoyaltyError) as refused:
        redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=121), actor=SYSTEM)
    assert refused.value.code == "insufficient_points"
    assert list(PointLot.objects.order_by("earned_at").values_list("remaining", flat=True)) == [50, 70]
    assert RewardRedemption.objects.count() == 0

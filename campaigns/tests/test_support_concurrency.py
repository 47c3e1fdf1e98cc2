"""The agent's daily count under real concurrency: threads on PostgreSQL, released together."""


import pytest

from campaigns.models import Code, DiscountType, LandingClaim, SupportAgentLimit
from campaigns.services.landing import OfferEnded, claim_landing_code
from campaigns.services.support import SupportRefused, issue_support_code
from campaigns.tests.factories import CampaignFactory
from retention.tests.concurrency import run_together
from retention.tests.factories import CustomerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("has_limit_row", [True, False])
def test_parallel_issues_never_exceed_the_daily_count(agent, has_limit_row):
    # given an agent allowed 3 codes a day (or the default 20, without a row), and 8 (or 24) issues at once
    campaign = CampaignFactory(is_support=True, discount_type=DiscountType.AMOUNT, percent=None, amount=500,
                               support_amount_options=[500])
    customer = CustomerFactory()
    allowed = 3 if has_limit_row else 20
    if has_limit_row:
        SupportAgentLimit.objects.create(user=agent, max_codes_per_day=3)

    def issue(_number: int) -> str:
        try:
            issue_support_code(agent=agent, customer=customer, campaign=campaign, amount=500, reason="Late")
        except SupportRefused as refusal:
            return refusal.code
        return "issued"

    # when
    outcomes = run_together(allowed + 5, issue)
    # then
    assert sorted(outcomes) == ["daily_limit_reached"] * 5 + ["issued"] * allowed
    assert Code.objects.filter(campaign=campaign).count() == allowed


def test_parallel_claims_stop_at_the_cap_and_give_one_code_per_address():
    # given the first 5 shoppers; 12 visitors, two of them twice with the same address
    campaign = CampaignFactory(landing_enabled=True, max_redemptions=5)
    emails = [f"visitor{number}@example.com" for number in range(10)] + ["visitor0@example.com", "VISITOR1@example.com"]

    def claim(number: int) -> str:
        try:
            claim_landing_code(campaign=campaign, email=emails[number], consent=False, ip_address="203.0.113.7",
                               user_agent="test")
        except OfferEnded:
            return "ended"
        return "claimed"

    # when
    run_together(len(emails), claim)
    # then
    claims = LandingClaim.objects.filter(campaign=campaign)
    assert claims.count() == 5
    assert len(set(claims.values_list("email", flat=True))) == 5
    assert Code.objects.filter(campaign=campaign).count() == 5
    campaign.refresh_from_db()
    assert campaign.codes_issued == 5

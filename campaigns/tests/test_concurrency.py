"""Limits under real concurrency: threads, each with its own PostgreSQL connection, started together."""

from collections import Counter

import pytest

from campaigns.discounts import OrderInput
from campaigns.errors import CodeRejected
from campaigns.models import DiscountType, Redemption, RedemptionStatus
from campaigns.services.redemptions import redeem_code, rollback_redemption
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


def attempt(code: str, order_id: str, amount: int = 10000) -> str:
    try:
        redeem_code(code=code, customer_source_id=None, actor=ACTOR,
                    order=OrderInput(amount=amount, currency="EUR", source_id=order_id))
    except CodeRejected as refusal:
        return refusal.reason.value
    return "succeeded"


def test_a_public_code_capped_at_500_is_redeemed_exactly_500_times():
    # given
    campaign = CampaignFactory(percent=10, max_redemptions=500)
    CodeFactory(campaign=campaign, code="FIRST500", max_uses=None)
    # when: 50 clients × 20 orders
    outcomes = run_together(50, lambda n: [attempt("FIRST500", f"o-{n}-{i}") for i in range(20)], flatten=True)
    # then
    campaign.refresh_from_db()
    assert Counter(outcomes) == {"succeeded": 500, "limit_reached": 500}
    assert (campaign.redemptions_count, campaign.discount_total) == (500, 500 * 1000)
    assert Redemption.objects.filter(status=RedemptionStatus.SUCCEEDED).count() == 500


def test_a_one_time_code_redeemed_by_20_clients_at_once_succeeds_once():
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10), code="ONCE", max_uses=1)
    # when
    outcomes = run_together(20, lambda n: [attempt("ONCE", f"o-{n}")], flatten=True)
    # then
    code.refresh_from_db()
    assert Counter(outcomes) == {"succeeded": 1, "code_used": 19}
    assert (code.uses_count, Redemption.objects.count()) == (1, 1)


def test_a_budget_is_never_exceeded_by_one_cent():
    # given: amount-off on orders of varying size; 40 clients × 5 orders ask far more than 10 000
    campaign = CampaignFactory(discount_type=DiscountType.AMOUNT, percent=None, amount=700, budget=10000)
    CodeFactory(campaign=campaign, code="BUDGET", max_uses=None)
    # when
    outcomes = run_together(40, lambda n: [attempt("BUDGET", f"o-{n}-{i}", amount=300 + 37 * ((n + i) % 20))
                                           for i in range(5)], flatten=True)
    # then
    campaign.refresh_from_db()
    spent = sum(Redemption.objects.filter(status=RedemptionStatus.SUCCEEDED).values_list("discount_amount", flat=True))
    assert campaign.discount_total == spent <= 10000
    assert set(outcomes) == {"succeeded", "budget_exhausted"}
    assert 10000 - spent < 700  # nothing more would have fitted
    assert campaign.redemptions_count == outcomes.count("succeeded")


def test_rollback_racing_with_itself_gives_back_once():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, max_redemptions=10)
    code = CodeFactory(campaign=campaign, code="GIFT", balance=5000, max_uses=None)
    attempt("GIFT", "o-1", amount=3000)
    redemption = Redemption.objects.get()
    # when
    run_together(20, lambda n: [rollback_redemption(redemption_id=redemption.pk, reason=f"r{n}", actor=ACTOR)])
    # then
    code.refresh_from_db()
    campaign.refresh_from_db()
    assert (code.balance, code.uses_count, campaign.redemptions_count, campaign.discount_total) == (5000, 0, 0, 0)
    assert AuditEntry.objects.filter(action="redemption.rolled_back").count() == 1

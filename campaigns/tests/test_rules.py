"""campaigns.rules: the fixed order and the customer rules, on unsaved rows where possible."""

from datetime import UTC, datetime

import pytest

from campaigns.discounts import OrderInput
from campaigns.errors import RejectReason
from campaigns.models import Campaign, Code
from campaigns.rules import RULES, RuleContext, first_failing_rule, needs_customer
from retention.models import Customer

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ORDER = OrderInput(amount=10000, currency="EUR", source_id="o-1")


def context(*, code_fields: dict | None = None, customer: Customer | None = None, customer_source_id=None,
            **campaign_fields) -> RuleContext:
    campaign = Campaign(name="C", slug="c", currency="EUR", percent=10, **campaign_fields)
    campaign.has_segments = False
    code = Code(code="X", campaign=campaign, **(code_fields or {}))
    return RuleContext(code=code, order=ORDER, now=NOW, customer=customer, customer_source_id=customer_source_id)


def test_rules_are_checked_in_reject_reason_order():
    assert [reason for reason, _ in RULES] == list(RejectReason)


def test_a_code_without_customer_rules_needs_no_customer():
    assert needs_customer(context()) is False
    assert first_failing_rule(context()) is None


@pytest.mark.parametrize("campaign_fields", [
    {"assigned_only": True}, {"countries": ["DE"]}, {"first_order_only": True}, {"max_redemptions_per_customer": 1},
])
def test_rules_that_need_a_customer(campaign_fields):
    assert needs_customer(context(**campaign_fields)) is True


def test_an_unknown_customer_on_an_assigned_code_is_not_its_holder():
    given = context(code_fields={"customer_id": 7}, customer_source_id="ghost")
    assert first_failing_rule(given) == RejectReason.NOT_ASSIGNED_TO_CUSTOMER


def test_an_unknown_customer_on_a_country_rule_is_customer_required():
    given = context(countries=["DE"], customer_source_id="ghost")
    assert first_failing_rule(given) == RejectReason.CUSTOMER_REQUIRED


def test_countries_compare_case_insensitively():
    given = context(countries=["de"], customer=Customer(pk=1, source_id="c", country="DE"))
    assert first_failing_rule(given) is None


def test_last_stops_before_the_database_guarded_rules():
    given = context(max_redemptions=1, redemptions_count=1)
    assert first_failing_rule(given) == RejectReason.LIMIT_REACHED
    assert first_failing_rule(given, last=RejectReason.GIFT_CARD_EMPTY) is None


def test_schedule_bounds_are_start_inclusive_and_end_exclusive():
    assert first_failing_rule(context(starts_at=NOW)) is None
    assert first_failing_rule(context(ends_at=NOW)) == RejectReason.CAMPAIGN_ENDED

"""The support desk's service: limits checked on the server, one customer only, mail after commit."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from campaigns.models import Code, CodeSource, DiscountType, SupportAgentLimit
from campaigns.services.support import SUPPORT_ISSUED_ACTION, SupportRefused, issue_support_code
from campaigns.tests.factories import CampaignFactory
from retention.emails import email_hash
from retention.models import AuditEntry, EmailSuppression
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sorry_campaign():
    return CampaignFactory(name="Sorry", slug="sorry", discount_type=DiscountType.AMOUNT, percent=None, amount=500,
                           is_support=True, support_amount_options=[500, 1000, 2000, 5000], code_prefix="SORRY-")


@pytest.fixture
def customer():
    return CustomerFactory(email="anna@example.com", first_name="Anna", source_id="cust-anna")


def _nothing_issued():
    assert Code.objects.count() == 0
    assert AuditEntry.objects.filter(action__in=[SUPPORT_ISSUED_ACTION, "code.issued"]).count() == 0


def test_issues_a_code_for_that_customer_only_and_mails_it_after_commit(
        agent, customer, sorry_campaign, django_capture_on_commit_callbacks):
    # given an agent with the default limits (20.00 per code)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=1000,
                                  sku="SOCK-1", reason="Parcel arrived two weeks late")
        assert len(mail.outbox) == 0  # nothing leaves before the transaction commits
    # then
    code.refresh_from_db()
    assert (code.customer_id, code.campaign_id, code.source) == (customer.pk, sorry_campaign.pk, CodeSource.SUPPORT)
    assert (code.amount_override, code.percent_override, code.sku_limit) == (1000, None, "SOCK-1")
    assert code.is_automatic is False
    assert code.note == "Parcel arrived two weeks late"
    assert code.code.startswith("SORRY-")
    audit = AuditEntry.objects.get(action=SUPPORT_ISSUED_ACTION)
    assert audit.actor_user == agent
    assert audit.after == {"customer": "cust-anna", "campaign": "sorry", "amount": 1000, "percent": None,
                           "sku": "SOCK-1", "automatic": False, "reason": "Parcel arrived two weeks late"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["anna@example.com"]
    assert code.code in message.subject
    assert code.code in message.body
    assert "10.00 EUR off on SOCK-1" in message.body
    assert SupportAgentLimit.objects.get(user=agent).max_amount == 2000  # the default row, created on first use


def test_refuses_an_amount_above_the_agents_cap_and_changes_nothing(agent, customer, sorry_campaign):
    # given
    SupportAgentLimit.objects.create(user=agent, max_amount=1000)
    # when
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=2000, reason="Late")
    # then
    assert refusal.value.code == "above_agent_limit"
    assert refusal.value.message == "That is above your limit of 10.00 EUR per code."
    _nothing_issued()
    assert sorry_campaign.__class__.objects.get(pk=sorry_campaign.pk).codes_issued == 0


def test_default_cap_applies_to_an_agent_without_limits(agent, customer, sorry_campaign):
    # given no SupportAgentLimit row: the default is 20.00 per code
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=5000, reason="Late")
    assert refusal.value.code == "above_agent_limit"
    _nothing_issued()


def test_refuses_a_value_that_is_not_one_of_the_campaigns_options(agent, customer, sorry_campaign):
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=700, reason="Late")
    assert refusal.value.code == "value_not_offered"
    _nothing_issued()


def test_percent_campaign_takes_a_percent_within_the_cap(agent, customer):
    # given
    campaign = CampaignFactory(is_support=True, discount_type=DiscountType.PERCENT, percent=10,
                               support_amount_options=[10, 15, 25])
    SupportAgentLimit.objects.create(user=agent, max_percent=15)
    # when
    code = issue_support_code(agent=agent, customer=customer, campaign=campaign, percent=15, reason="Broken zip")
    # then
    assert (code.percent_override, code.amount_override) == (15, None)
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=campaign, percent=25, reason="Broken zip")
    assert refusal.value.message == "That is above your limit of 15% per code."
    assert Code.objects.count() == 1


def test_daily_count_is_capped_and_resets_the_next_day(agent, customer, sorry_campaign):
    # given
    SupportAgentLimit.objects.create(user=agent, max_codes_per_day=2)
    with time_machine.travel(NOON, tick=False):
        for _ in range(2):
            issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
        # when
        with pytest.raises(SupportRefused) as refusal:
            issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    # then
    assert refusal.value.code == "daily_limit_reached"
    assert refusal.value.message == "You have issued your 2 codes for today."
    assert Code.objects.count() == 2
    assert AuditEntry.objects.filter(action=SUPPORT_ISSUED_ACTION).count() == 2
    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    assert Code.objects.count() == 3


def test_daily_count_is_per_agent(agent, marketer, customer, sorry_campaign):
    # given the agent used up the day
    SupportAgentLimit.objects.create(user=agent, max_codes_per_day=1)
    issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    # when a colleague issues
    code = issue_support_code(agent=marketer, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    # then
    assert code.pk is not None
    assert Code.objects.count() == 2


@pytest.mark.parametrize("reason", ["", "   "])
def test_reason_is_required(agent, customer, sorry_campaign, reason):
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason=reason)
    assert refusal.value.code == "reason_required"
    _nothing_issued()


def test_apply_to_next_order_makes_an_automatic_discount_and_mails_nothing(
        agent, customer, sorry_campaign, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500,
                                  reason="Wrong size", apply_to_next_order=True)
    # then
    code.refresh_from_db()
    assert (code.is_automatic, code.customer_id, code.amount_override) == (True, customer.pk, 500)
    assert mail.outbox == []


def test_refuses_a_campaign_not_open_to_the_desk(agent, customer):
    # given
    campaign = CampaignFactory(is_support=False, discount_type=DiscountType.AMOUNT, percent=None, amount=500)
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=campaign, amount=500, reason="Late")
    assert refusal.value.code == "not_support_campaign"
    _nothing_issued()


def test_refuses_a_paused_campaign(agent, customer, sorry_campaign):
    # given
    sorry_campaign.is_paused = True
    sorry_campaign.save()
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    assert refusal.value.code == "campaign_inactive"
    _nothing_issued()


def test_refuses_a_user_without_a_support_role(outsider, customer, sorry_campaign):
    # when / then
    with pytest.raises(SupportRefused) as refusal:
        issue_support_code(agent=outsider, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    assert refusal.value.code == "forbidden"
    _nothing_issued()


def test_no_mail_to_a_suppressed_address(agent, customer, sorry_campaign, django_capture_on_commit_callbacks):
    # given the address bounced hard
    EmailSuppression.objects.create(email_hash=email_hash("anna@example.com"), reason="hard_bounce")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=500, reason="Late")
    # then the code is issued (the desk shows it) but nothing is mailed
    assert Code.objects.get() == code
    assert mail.outbox == []


def test_next_order_discount_is_offered_to_the_shop(api, agent, customer, sorry_campaign):
    # given
    code = issue_support_code(agent=agent, customer=customer, campaign=sorry_campaign, amount=1000,
                              reason="Wrong size", apply_to_next_order=True)
    # when
    response = api.get("/api/v1/customers/cust-anna/auto-discounts")
    # then
    assert response.status_code == 200
    assert [(entry["id"], entry["code"]) for entry in response.json()] == [(code.code, code.code)]

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from campaigns.errors import CampaignError
from campaigns.models import Campaign, Code, CodeSource, DiscountType
from campaigns.services.codes import issue_code
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
ACTOR = Actor.system("test")


def test_issues_an_assigned_code_with_expiry_and_counts_it():
    # given
    campaign = CampaignFactory(code_valid_days=30)
    customer = CustomerFactory()
    # when
    code = issue_code(campaign=campaign, customer=customer, actor=ACTOR, now=NOW)
    # then
    code.refresh_from_db()
    assert code.customer == customer
    assert len(code.code) == 12
    assert code.issued_at == NOW
    assert code.expires_at == NOW + timedelta(days=30)
    assert code.max_uses == 1
    assert code.source == CodeSource.API
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 1
    entry = AuditEntry.objects.get(action="code.issued")
    assert entry.object_id == str(code.pk)
    assert entry.after["customer"] == customer.source_id


def test_expiry_is_the_campaign_end_when_that_comes_first():
    # given
    campaign = CampaignFactory(code_valid_days=30, ends_at=NOW + timedelta(days=3))
    # when
    code = issue_code(campaign=campaign, actor=ACTOR, now=NOW)
    # then
    assert code.expires_at == NOW + timedelta(days=3)
    assert code.customer is None


def test_no_expiry_without_valid_days_or_end():
    code = issue_code(campaign=CampaignFactory(), actor=ACTOR, now=NOW)
    assert code.expires_at is None


def test_gift_card_code_starts_with_its_balance_and_prefix_pattern_apply():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, gift_card_balance=5000,
                               max_uses_per_code=None, code_prefix="GC-", code_pattern="####-????",
                               weak_codes_confirmed=True)
    # when
    code = issue_code(campaign=campaign, actor=ACTOR, now=NOW)
    # then
    assert code.balance == 5000
    assert code.max_uses is None
    assert code.code.startswith("GC-") and len(code.code) == 12


def test_overrides_and_automatic_flag_are_stored():
    # given
    campaign = CampaignFactory()
    # when
    code = issue_code(campaign=campaign, actor=ACTOR, now=NOW, source=CodeSource.SUPPORT, amount_override=500,
                      sku_limit="SOCK-1", is_automatic=True, note="late parcel")
    # then
    code.refresh_from_db()
    assert (code.amount_override, code.sku_limit, code.is_automatic, code.note, code.source) == (
        500, "SOCK-1", True, "late parcel", CodeSource.SUPPORT)


@pytest.mark.parametrize(("flags", "reason"), [
    ({"is_draft": True}, "campaign_draft"),
    ({"is_paused": True}, "campaign_paused"),
    ({"ends_at": NOW - timedelta(seconds=1)}, "campaign_ended"),
    ({"is_issuing_stopped": True}, "issuing_stopped"),
    ({"type": "public", "public_code": "SPRING"}, "public_campaign"),
])
def test_refuses_when_the_campaign_does_not_issue(flags, reason):
    # given
    campaign = CampaignFactory(**flags)
    # when
    with pytest.raises(CampaignError) as refused:
        issue_code(campaign=campaign, actor=ACTOR, now=NOW)
    # then
    assert refused.value.code == reason
    assert Code.objects.count() == 0
    assert AuditEntry.objects.count() == 0
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 0


def test_scheduled_campaign_may_issue_codes_ahead_of_its_start():
    campaign = CampaignFactory(starts_at=NOW + timedelta(days=1))
    assert issue_code(campaign=campaign, actor=ACTOR, now=NOW).campaign == campaign


def test_refuses_an_erased_customer():
    # given
    campaign = CampaignFactory()
    customer = CustomerFactory(erased_at=NOW)
    # when
    with pytest.raises(CampaignError) as refused:
        issue_code(campaign=campaign, customer=customer, actor=ACTOR, now=NOW)
    # then
    assert refused.value.code == "customer_erased"
    assert Code.objects.count() == 0


def test_a_collision_is_retried_with_a_fresh_draw(monkeypatch):
    # given: the first draw hits an existing code
    campaign = CampaignFactory()
    CodeFactory(code="TAKENTAKEN12", campaign=campaign)
    draws = iter(["TAKENTAKEN12", "FRESHFRESH34"])
    monkeypatch.setattr("campaigns.services.codes.draw_code", lambda config: next(draws))
    # when
    code = issue_code(campaign=campaign, actor=ACTOR, now=NOW)
    # then
    assert code.code == "FRESHFRESH34"
    assert Code.objects.count() == 2
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 1


def test_a_full_space_gives_up_after_retries(monkeypatch):
    # given
    campaign = CampaignFactory()
    CodeFactory(code="TAKENTAKEN12", campaign=campaign)
    monkeypatch.setattr("campaigns.services.codes.draw_code", lambda config: "TAKENTAKEN12")
    # when / then
    with pytest.raises(IntegrityError):
        issue_code(campaign=campaign, actor=ACTOR, now=NOW)
    assert Code.objects.count() == 1
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 0

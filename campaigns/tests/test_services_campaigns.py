from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from campaigns.models import Campaign, CampaignStatus, Code, CodeSource
from campaigns.services.campaigns import (
    create_campaign,
    launch_campaign,
    pause_all_active_campaigns,
    pause_campaign,
    resume_campaign,
    resume_issuing,
    stop_issuing,
    update_campaign,
)
from campaigns.signals import campaign_paused, campaign_resumed
from campaigns.tests.factories import CampaignFactory
from retention.actors import Actor
from retention.errors import InvalidInput
from retention.models import AuditEntry
from retention.tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the services are durable
ACTOR = Actor.system("test")
START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 31, tzinfo=UTC)


def body(**overrides) -> dict:
    data = {
        "name": "Second order 15%",
        "type": "unique",
        "discount": {"type": "percent", "percent": 15, "max_amount": 2000},
        "code_config": {"length": 10, "prefix": "WB-"},
        "rules": {"currency": "eur", "min_order_amount": 5000, "countries": ["DE", "at"], "max_redemptions": 500,
                  "max_redemptions_per_customer": 1, "budget": 100000, "assigned_only": True},
        "starts_at": START.isoformat(),
        "ends_at": END.isoformat(),
        "code_valid_days": 30,
        "trigger": None,
    }
    data.update(overrides)
    return data


def test_creates_a_campaign_from_an_api_body():
    # given
    segment = SegmentFactory(slug="dormant-180")
    # when
    campaign = create_campaign(data=body(rules={"segments": ["dormant-180"], "currency": "EUR"}), actor=ACTOR)
    # then
    campaign.refresh_from_db()
    assert campaign.slug == "second-order-15"
    assert (campaign.discount_type, campaign.percent, campaign.max_amount) == ("percent", 15, 2000)
    assert (campaign.code_length, campaign.code_prefix, campaign.code_valid_days) == (10, "WB-", 30)
    assert (campaign.starts_at, campaign.ends_at, campaign.is_draft) == (START, END, False)
    assert list(campaign.segments.all()) == [segment]
    assert AuditEntry.objects.get(action="campaign.created").after["segments"] == ["dormant-180"]


def test_rules_are_normalised():
    campaign = create_campaign(data=body(), actor=ACTOR)
    assert (campaign.currency, campaign.countries, campaign.max_redemptions, campaign.budget) == (
        "EUR", ["DE", "AT"], 500, 100000)
    assert campaign.assigned_only is True


def test_second_campaign_of_the_same_name_gets_its_own_slug():
    create_campaign(data=body(), actor=ACTOR)
    assert create_campaign(data=body(), actor=ACTOR).slug == "second-order-15-2"


def test_public_campaign_creates_its_code_row():
    # when
    campaign = create_campaign(data=body(type="public", public_code="spring500",
                                         rules={"max_redemptions": 300}), actor=ACTOR)
    # then
    code = Code.objects.get(campaign=campaign)
    assert (code.code, code.source, code.max_uses, code.expires_at) == ("SPRING500", CodeSource.PUBLIC, 300, END)


def test_public_code_must_be_unique_across_all_codes():
    # given
    create_campaign(data=body(type="public", public_code="SPRING500"), actor=ACTOR)
    # when
    with pytest.raises(InvalidInput) as refused:
        create_campaign(data=body(name="Other", type="public", public_code="spring500"), actor=ACTOR)
    # then
    assert refused.value.fields == {"public_code": ["Already in use."]}
    assert Campaign.objects.count() == 1
    assert AuditEntry.objects.filter(action="campaign.created").count() == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": ""}, "name"),
    ({"discount": {"type": "percent", "percent": 0}}, "discount.percent"),
    ({"discount": {"type": "percent", "percent": 101}}, "discount.percent"),
    ({"discount": {"type": "percent", "percent": 10, "amount": 5}}, "discount.amount"),
    ({"discount": {"type": "amount", "amount": -1}}, "discount.amount"),
    ({"discount": {"type": "unit", "quantity": 1}}, "discount.sku"),
    ({"discount": {"type": "gift_card"}}, "discount.balance"),
    ({"discount": {"type": "bogus"}}, "discount.type"),
    ({"rules": {"currency": "EURO"}}, "rules.currency"),
    ({"rules": {"countries": ["DEU"]}}, "rules.countries"),
    ({"rules": {"min_order_amount": -5}}, "rules.min_order_amount"),
    ({"rules": {"budget": -1}}, "rules.budget"),
    ({"rules": {"segments": ["nope"]}}, "rules.segments"),
    ({"ends_at": START.isoformat()}, "ends_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"type": "public"}, "public_code"),
    ({"public_code": "X"}, "public_code"),
    ({"code_config": {"length": 3}}, "code_config.length"),
    ({"code_config": {"charset": "A"}}, "code_config.charset"),
    ({"code_config": {"length": 6}}, "weak_codes_confirmed"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"trigger": {"type": "moon"}}, "trigger"),
    ({"holdout_percent": 95}, "holdout_percent"),
    ({"split_buckets": 2, "split_bucket": 2}, "split_bucket"),
    ({"segment": "nope"}, "segment"),
])
def test_refuses_invalid_fields_by_name(overrides, field):
    # when
    with pytest.raises(InvalidInput) as refused:
        create_campaign(data=body(**overrides), actor=ACTOR)
    # then
    assert field in refused.value.fields
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_weak_codes_are_accepted_when_confirmed():
    campaign = create_campaign(data=body(code_config={"length": 6, "weak_codes_confirmed": True}), actor=ACTOR)
    assert (campaign.code_length, campaign.weak_codes_confirmed) == (6, True)


def test_gift_card_codes_are_not_one_time():
    campaign = create_campaign(data=body(discount={"type": "gift_card", "balance": 5000}), actor=ACTOR)
    assert (campaign.gift_card_balance, campaign.max_uses_per_code) == (5000, None)


def test_update_changes_given_fields_and_audits_the_difference():
    # given
    campaign = create_campaign(data=body(), actor=ACTOR)
    # when
    update_campaign(campaign=campaign, data={"discount": {"type": "amount", "amount": 500},
                                             "rules": {"countries": ["FR"]}}, actor=ACTOR)
    # then
    campaign.refresh_from_db()
    assert (campaign.discount_type, campaign.amount, campaign.percent, campaign.countries) == (
        "amount", 500, None, ["FR"])
    assert campaign.currency == "EUR"  # untouched
    entry = AuditEntry.objects.get(action="campaign.updated")
    assert entry.before["amount"] is None and entry.after["amount"] == 500


def test_update_refuses_a_live_campaign_back_to_draft():
    campaign = create_campaign(data=body(), actor=ACTOR)
    with pytest.raises(InvalidInput) as refused:
        update_campaign(campaign=campaign, data={"draft": True}, actor=ACTOR)
    assert list(refused.value.fields) == ["draft"]
    assert AuditEntry.objects.filter(action="campaign.updated").count() == 0


def test_update_refuses_ends_before_starts_and_changes_nothing():
    campaign = create_campaign(data=body(), actor=ACTOR)
    with pytest.raises(InvalidInput):
        update_campaign(campaign=campaign, data={"ends_at": (START - timedelta(days=1)).isoformat()}, actor=ACTOR)
    assert Campaign.objects.get(pk=campaign.pk).ends_at == END


def test_status_is_derived_from_flags_and_schedule():
    # given
    campaign = CampaignFactory(starts_at=START, ends_at=END)
    # then
    with time_machine.travel(START - timedelta(days=1)):
        assert campaign.status == CampaignStatus.SCHEDULED
    with time_machine.travel(START + timedelta(days=1)):
        assert campaign.status == CampaignStatus.ACTIVE
        campaign.is_paused = True
        assert campaign.status == CampaignStatus.PAUSED
    with time_machine.travel(END):
        assert campaign.status == CampaignStatus.ENDED
    campaign.is_draft = True
    assert campaign.status == CampaignStatus.DRAFT


def test_pause_then_resume_with_audit_and_signals_after_commit():
    # given
    campaign = CampaignFactory()
    heard = []
    campaign_paused.connect(lambda **kwargs: heard.append(("paused", kwargs["campaign"].pk)), weak=False,
                            dispatch_uid="test-paused")
    campaign_resumed.connect(lambda **kwargs: heard.append(("resumed", kwargs["campaign"].pk)), weak=False,
                             dispatch_uid="test-resumed")
    try:
        # when
        paused = pause_campaign(campaign=campaign, actor=ACTOR)
        again = pause_campaign(campaign=campaign, actor=ACTOR)
        resumed = resume_campaign(campaign=campaign, actor=ACTOR)
    finally:
        campaign_paused.disconnect(dispatch_uid="test-paused")
        campaign_resumed.disconnect(dispatch_uid="test-resumed")
    # then
    assert (paused.is_paused, again.is_paused, resumed.is_paused) == (True, True, False)
    assert heard == [("paused", campaign.pk), ("resumed", campaign.pk)]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "campaign.paused", "campaign.resumed"]


def test_stop_and_resume_issuing():
    campaign = CampaignFactory()
    assert stop_issuing(campaign=campaign, actor=ACTOR).is_issuing_stopped is True
    assert stop_issuing(campaign=campaign, actor=ACTOR).is_issuing_stopped is True
    assert resume_issuing(campaign=campaign, actor=ACTOR).is_issuing_stopped is False
    assert AuditEntry.objects.count() == 2


def test_launch_makes_a_draft_live_once():
    campaign = CampaignFactory(is_draft=True)
    assert launch_campaign(campaign=campaign, actor=ACTOR).status == CampaignStatus.ACTIVE
    launch_campaign(campaign=campaign, actor=ACTOR)
    assert AuditEntry.objects.filter(action="campaign.launched").count() == 1


def test_pause_all_pauses_live_campaigns_only():
    # given
    now = datetime(2026, 12, 10, tzinfo=UTC)
    active = CampaignFactory()
    scheduled = CampaignFactory(starts_at=now + timedelta(days=2))
    draft = CampaignFactory(is_draft=True)
    ended = CampaignFactory(ends_at=now - timedelta(days=1))
    already = CampaignFactory(is_paused=True)
    # when
    count = pause_all_active_campaigns(actor=ACTOR, now=now)
    # then
    assert count == 2
    assert set(Campaign.objects.filter(is_paused=True).values_list("pk", flat=True)) == {
        active.pk, scheduled.pk, already.pk}
    assert sorted(AuditEntry.objects.values_list("object_id", flat=True)) == sorted([str(active.pk),
                                                                                     str(scheduled.pk)])
    assert not Campaign.objects.get(pk=draft.pk).is_paused and not Campaign.objects.get(pk=ended.pk).is_paused


def test_services_are_durable():
    with pytest.raises(RuntimeError), transaction.atomic():
        pause_campaign(campaign=CampaignFactory(), actor=ACTOR)

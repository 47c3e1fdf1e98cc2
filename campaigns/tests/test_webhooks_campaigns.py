"""API.md's webhooks of campaigns: code.issued, code.redeemed, redemption.rolled_back, campaign.paused/resumed.

Each is recorded in the transaction of what it announces, so a refused or rolled-back action announces nothing.
"""

import json

import pytest

from campaigns.discounts import OrderInput
from campaigns.errors import CodeRejected
from campaigns.services.campaigns import pause_all_active_campaigns, pause_campaign, resume_campaign
from campaigns.services.codes import issue_code
from campaigns.services.redemptions import redeem_code, rollback_redemption
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.messaging import channels
from retention.messaging.channels import HttpResponse
from retention.messaging.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor.system("test")


@pytest.fixture
def posted(monkeypatch):
    bodies = []
    monkeypatch.setattr(channels, "post",
                        lambda url, *, body, headers: bodies.append(json.loads(body)) or HttpResponse(200, ""))
    WebhookEndpoint.objects.create(url="https://shop.example/hooks", secret="whsec_x", event_types=[])
    return bodies


def test_issue_redeem_and_roll_back_each_send_their_webhook(posted):
    # given
    campaign = CampaignFactory(slug="spring", percent=10)
    customer = CustomerFactory(source_id="c-1")
    # when
    code = issue_code(campaign=campaign, customer=customer, actor=ACTOR)
    redemption = redeem_code(code=code.code, customer_source_id="c-1", actor=ACTOR,
                             order=OrderInput(amount=10000, currency="EUR", source_id="o-1"))
    rollback_redemption(redemption_id=redemption.pk, reason="order cancelled", actor=ACTOR)
    rollback_redemption(redemption_id=redemption.pk, reason="again", actor=ACTOR)  # a no-op: no webhook
    # then: delivered after commit, in order
    assert [body["type"] for body in posted] == ["code.issued", "code.redeemed", "redemption.rolled_back"]
    issued, redeemed, rolled_back = (body["data"] for body in posted)
    assert (issued["code"], issued["campaign"], issued["customer"]) == (code.code, "spring", "c-1")
    assert (redeemed["id"], redeemed["code"], redeemed["order"], redeemed["discount_amount"],
            redeemed["status"]) == (redemption.pk, code.code, "o-1", 1000, "succeeded")
    assert (rolled_back["id"], rolled_back["status"], rolled_back["reason"]) == (
        redemption.pk, "rolled_back", "order cancelled")


def test_a_refused_redemption_sends_nothing(posted):
    code = CodeFactory(campaign=CampaignFactory(is_paused=True), code="PAUSED1")
    with pytest.raises(CodeRejected):
        redeem_code(code=code.code, customer_source_id=None, actor=ACTOR,
                    order=OrderInput(amount=10000, currency="EUR", source_id="o-1"))
    assert posted == [] and not WebhookEvent.objects.exists()


def test_pause_resume_and_pause_all_send_campaign_webhooks_once(posted):
    campaign = CampaignFactory(slug="summer")
    other = CampaignFactory(slug="autumn")
    pause_campaign(campaign=campaign, actor=ACTOR)
    pause_campaign(campaign=campaign, actor=ACTOR)  # already paused: nothing
    resume_campaign(campaign=campaign, actor=ACTOR)
    pause_all_active_campaigns(actor=ACTOR)
    assert sorted((body["type"], body["data"]["campaign"]) for body in posted) == [
        ("campaign.paused", "autumn"), ("campaign.paused", "summer"), ("campaign.paused", "summer"),
        ("campaign.resumed", "summer")]
    assert other.slug == "autumn" and WebhookDelivery.objects.count() == 4

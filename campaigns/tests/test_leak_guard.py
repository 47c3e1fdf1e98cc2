"""The leak guard's automatic pause: through pause_campaign (audited, campaign.paused webhook), once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from campaigns.models import Campaign, CampaignType
from campaigns.services.campaigns import pause_campaign, pause_leaking_campaigns, resume_campaign
from campaigns.tasks import leak_guard_task
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.actors import Actor
from retention.messaging import channels
from retention.messaging.channels import HttpResponse
from retention.messaging.models import WebhookEndpoint, WebhookEvent
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the pause service is durable

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


def _public(code: str, **fields) -> Campaign:
    return CampaignFactory(type=CampaignType.PUBLIC, public_code=code, **fields)


def _burst(campaign: Campaign, count: int, **fields) -> None:
    for index in range(count):
        RedemptionFactory(code=CodeFactory(campaign=campaign), campaign=campaign,
                          created_at=NOW - timedelta(minutes=index + 1), **fields)


@pytest.fixture
def endpoint(monkeypatch):
    posted = []
    monkeypatch.setattr(channels, "post", lambda url, *, body, headers: posted.append(body) or HttpResponse(200, ""))
    endpoint = WebhookEndpoint.objects.create(url="https://shop.example/hooks", secret="whsec_x", event_types=[])
    endpoint.posted = posted
    return endpoint


def test_pauses_an_opted_in_leaking_public_campaign_once_audited_with_webhook(endpoint):
    # given: 12 redemptions in the last day after a quiet week, factor 3
    leaking = _public("LEAKED", leak_guard_factor=3, leak_guard_auto_pause=True)
    _burst(leaking, 12)
    # when
    first = pause_leaking_campaigns(now=NOW)
    second = pause_leaking_campaigns(now=NOW)
    # then
    assert [campaign.pk for campaign in first] == [leaking.pk] and second == []
    assert Campaign.objects.get(pk=leaking.pk).is_paused
    entry = AuditEntry.objects.get(action="campaign.paused")
    assert entry.actor_label == "leak guard"
    assert entry.after["is_paused"] is True and "12 redemptions" in entry.after["reason"]
    event = WebhookEvent.objects.get(type="campaign.paused")
    assert event.data["campaign"] == leaking.slug and event.data["by"] == "leak guard"
    assert "12 redemptions" in event.data["reason"]
    assert event.deliveries.count() == 1 and len(endpoint.posted) == 1  # delivered after commit


def test_leaves_alone_campaigns_without_auto_pause_or_without_a_leak():
    alert_only = _public("ALERTONLY", leak_guard_factor=3)
    _burst(alert_only, 12)
    quiet = _public("QUIET", leak_guard_auto_pause=True)
    _burst(quiet, 3)
    unique = CampaignFactory(leak_guard_auto_pause=True)
    _burst(unique, 12)
    assert pause_leaking_campaigns(now=NOW) == []
    assert not Campaign.objects.filter(is_paused=True).exists()
    assert not AuditEntry.objects.exists()


def test_pauses_on_redemptions_from_outside_the_audience():
    campaign = _public("DEONLY", countries=["DE"], leak_guard_auto_pause=True)
    for _ in range(2):
        _burst(campaign, 1, customer=CustomerFactory(country="DE"))
    for _ in range(3):
        _burst(campaign, 1, customer=CustomerFactory(country="US"))
    assert [paused.pk for paused in pause_leaking_campaigns(now=NOW)] == [campaign.pk]
    assert "outside its audience" in AuditEntry.objects.get(action="campaign.paused").after["reason"]


def test_a_campaign_resumed_by_hand_is_paused_again_only_while_the_leak_lasts():
    campaign = _public("AGAIN", leak_guard_auto_pause=True)
    _burst(campaign, 12)
    pause_leaking_campaigns(now=NOW)
    resume_campaign(campaign=campaign, actor=Actor.system("marketer"))
    # Still leaking: paused again. A day later the burst is the week's pace: left running.
    assert len(pause_leaking_campaigns(now=NOW)) == 1
    resume_campaign(campaign=campaign, actor=Actor.system("marketer"))
    assert pause_leaking_campaigns(now=NOW + timedelta(days=2)) == []


def test_already_paused_campaign_is_not_paused_twice():
    campaign = _public("PAUSED", leak_guard_auto_pause=True)
    _burst(campaign, 12)
    pause_campaign(campaign=campaign, actor=Actor.system("marketer"))
    assert pause_leaking_campaigns(now=NOW) == []
    assert AuditEntry.objects.filter(action="campaign.paused").count() == 1


def test_task_runs_the_guard_and_is_a_fixed_periodic_job(time_machine):
    time_machine.move_to(NOW, tick=False)
    campaign = _public("TASK", leak_guard_auto_pause=True)
    _burst(campaign, 12)
    assert leak_guard_task.delay().get() == 1
    assert leak_guard_task.delay().get() == 0
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("setup_periodic_tasks", stdout=open("/dev/null", "w"))  # noqa: SIM115
    task = PeriodicTask.objects.get(task="campaigns.leak_guard")
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 1, "minutes")

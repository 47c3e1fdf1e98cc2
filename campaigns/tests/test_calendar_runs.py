"""Runs: skips recorded with their reason, exactly once, welcome on signals, the beat schedule, preview."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from campaigns.models import CalendarSend, CampaignRun, Code, RunKind, SendStatus
from campaigns.services.calendar import (
    dry_run_calendar_campaign,
    preview_calendar_campaign,
    run_calendar_campaign,
    schedule_name,
)
from campaigns.services.campaigns import create_campaign, pause_campaign, resume_campaign, update_campaign
from campaigns.tasks import run_calendar_campaign_task
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer
from retention.actors import Actor
from retention.messaging.models import Delivery, DeliveryStatus, MessageKind
from retention.services.customers import upsert_customer
from retention.services.orders import record_order
from retention.tests.factories import SegmentFactory, StaticSegmentFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BORN = date(1990, 11, 23)


def _sends(campaign) -> dict[str, tuple[str, str]]:
    return {send.customer.source_id: (send.status, send.skip_reason)
            for send in CalendarSend.objects.filter(campaign=campaign).select_related("customer")}


@time_machine.travel(NOW, tick=False)
def test_segment_rules_and_holdout_are_recorded_as_skips_without_codes():
    # given
    vip = customer(source_id="vip", birthday=BORN, country="DE")
    outsider = customer(source_id="outsider", birthday=BORN, country="DE")
    french = customer(source_id="french", birthday=BORN, country="FR")
    repeat_buyer = customer(source_id="repeat", birthday=BORN, country="DE", orders_count=2)
    segment = StaticSegmentFactory(members=[vip, french, repeat_buyer])
    campaign = calendar_campaign(BIRTHDAY, segment=segment, countries=["DE"], first_order_only=True)
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # then
    assert _sends(campaign) == {
        "vip": ("issued", ""), "outsider": ("skipped", "outside_segment"),
        "french": ("skipped", "rule_failed"), "repeat": ("skipped", "rule_failed"),
    }
    assert (run.issued, run.skipped, run.skip_reasons) == (1, 3, {"outside_segment": 1, "rule_failed": 2})
    assert list(Code.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == [vip.pk]
    assert Delivery.objects.filter(customer=outsider).count() == 0


@time_machine.travel(NOW, tick=False)
def test_holdout_customers_are_recorded_and_given_nothing():
    # given: 90% hold-out over 20 customers; which ones is the stable hash's business
    campaign = calendar_campaign(BIRTHDAY, holdout_percent=90)
    people = [customer(source_id=f"c{number}", birthday=BORN) for number in range(20)]
    from campaigns.ab import is_holdout

    held = {person.source_id for person in people if is_holdout(person.pk, campaign)}
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # then
    assert run.skip_reasons == {"holdout": len(held)}
    assert run.issued == 20 - len(held)
    assert {name for name, (status, _) in _sends(campaign).items() if status == "skipped"} == held
    assert Code.objects.filter(campaign=campaign).count() == 20 - len(held)


@time_machine.travel(NOW, tick=False)
def test_no_consent_and_frequency_cap_come_back_from_messaging_as_skips(settings):
    # given: a frequency cap of 1, already used by "busy" this week
    settings.RETENTION = {**settings.RETENTION, "FREQUENCY_CAP_PER_7_DAYS": 1}
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="ok", birthday=BORN)
    customer(source_id="no-consent", birthday=BORN, email_marketing_consent=False)
    busy = customer(source_id="busy", birthday=BORN)
    Delivery.objects.create(customer=busy, channel="email", kind=MessageKind.MARKETING, status=DeliveryStatus.SENT,
                            created_at=NOW - timedelta(days=2))
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # then
    assert _sends(campaign) == {"ok": ("issued", ""), "no-consent": ("skipped", "no_consent"),
                                "busy": ("skipped", "frequency_cap")}
    assert (run.issued, run.skip_reasons) == (1, {"frequency_cap": 1, "no_consent": 1})
    assert Code.objects.filter(campaign=campaign).count() == 1
    assert CalendarSend.objects.get(customer__source_id="no-consent").code_id is None


@time_machine.travel(NOW, tick=False)
def test_cap_reached_and_no_template_are_skips():
    # given
    capped = calendar_campaign(BIRTHDAY, max_redemptions=5, redemptions_count=5)
    silent = calendar_campaign(BIRTHDAY, template=False)
    customer(source_id="ana", birthday=BORN)
    # when
    first = run_calendar_campaign(campaign_id=capped.pk, now=NOW)
    second = run_calendar_campaign(campaign_id=silent.pk, now=NOW)
    # then
    assert (first.skip_reasons, second.skip_reasons) == ({"cap_reached": 1}, {"no_template": 1})
    assert Code.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_second_run_the_same_day_issues_nothing():
    # given
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="ana", birthday=BORN)
    customer(source_id="no-consent", birthday=BORN, email_marketing_consent=False)
    first = run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # when
    second = run_calendar_campaign(campaign_id=campaign.pk, now=NOW + timedelta(hours=1))
    run_calendar_campaign_task(campaign.pk)  # the beat's task, retried
    # then
    assert (first.issued, first.skipped, second.issued, second.skipped) == (1, 1, 0, 0)
    assert (Code.objects.count(), Delivery.objects.count(), CalendarSend.objects.count()) == (1, 2, 2)
    campaign.refresh_from_db()
    assert campaign.codes_issued == 1


@time_machine.travel(NOW, tick=False)
def test_a_paused_campaign_does_not_run():
    # given
    campaign = calendar_campaign(BIRTHDAY, is_paused=True)
    customer(source_id="ana", birthday=BORN)
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # then
    assert run is None
    assert (CampaignRun.objects.count(), CalendarSend.objects.count()) == (0, 0)


@time_machine.travel("2026-11-23 07:00Z", tick=False)
def test_manual_run_reaches_todays_occasions_whatever_the_send_time():
    # given: 08:00 in Berlin, before the 09:00 send time
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="ana", birthday=BORN)
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, kind=RunKind.MANUAL)
    # then
    assert (run.kind, run.issued) == (RunKind.MANUAL, 1)


# Welcome --------------------------------------------------------------------------------------------------

def test_welcome_on_signup_issues_once(django_capture_on_commit_callbacks):
    # given
    campaign = calendar_campaign({"type": "welcome", "on": "signup"})
    actor = Actor.system("test")
    # when: the customer is created, then updated (no second signal)
    with django_capture_on_commit_callbacks(execute=True):
        upsert_customer(source_id="new", data={"email": "new@example.com",
                                              "consents": {"email_marketing": True}}, actor=actor)
    with django_capture_on_commit_callbacks(execute=True):
        upsert_customer(source_id="new", data={"first_name": "Nia"}, actor=actor)
    # then
    assert _sends(campaign) == {"new": ("issued", "")}
    assert CalendarSend.objects.get().occasion == "welcome"
    assert Code.objects.filter(campaign=campaign, customer__source_id="new").count() == 1


def test_welcome_on_first_order_issues_once(django_capture_on_commit_callbacks):
    # given
    campaign = calendar_campaign({"type": "welcome", "on": "first_order"})
    signup = calendar_campaign({"type": "welcome", "on": "signup"})
    ana = customer(source_id="ana")
    actor = Actor.system("test")
    order = {"customer": "ana", "amount": 5000, "currency": "EUR", "status": "paid", "items": []}
    # when: a first and a second order
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data={**order, "source_id": "o1", "created_at": "2026-11-20T10:00:00+00:00"}, actor=actor)
    with django_capture_on_commit_callbacks(execute=True):
        record_order(data={**order, "source_id": "o2", "created_at": "2026-11-21T10:00:00+00:00"}, actor=actor)
    # then
    assert _sends(campaign) == {"ana": ("issued", "")}
    assert _sends(signup) == {}
    assert Code.objects.filter(campaign=campaign, customer=ana).count() == 1


def test_welcome_task_run_twice_issues_once():
    # given
    from campaigns.tasks import fire_welcome_task

    campaign = calendar_campaign({"type": "welcome", "on": "signup"})
    newcomer = customer(source_id="new")
    # when
    fire_welcome_task.delay(newcomer.pk, "signup")
    fire_welcome_task.delay(newcomer.pk, "signup")
    # then
    assert _sends(campaign) == {"new": ("issued", "")}
    assert Code.objects.filter(campaign=campaign).count() == 1


def test_sign_up_enqueues_nothing_without_a_welcome_campaign(monkeypatch, django_capture_on_commit_callbacks):
    # given: only a birthday campaign
    from campaigns.tasks import fire_welcome_task

    calendar_campaign(BIRTHDAY)
    enqueued = []
    monkeypatch.setattr(fire_welcome_task, "delay", lambda *args: enqueued.append(args))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        upsert_customer(source_id="new", data={"email": "new@example.com"}, actor=Actor.system("test"))
    # then
    assert enqueued == []


def test_a_paid_order_costs_the_welcome_trigger_one_query_and_enqueues_nothing_without_a_welcome_campaign(
        monkeypatch, django_assert_num_queries):
    # given: a first paid order, and only a birthday campaign
    from campaigns.receivers import welcome_on_first_order
    from campaigns.tasks import fire_welcome_task
    from retention.models import Order

    calendar_campaign(BIRTHDAY)
    ana = customer(source_id="ana", orders_count=1)
    order = Order(customer=ana, status="paid")
    enqueued = []
    monkeypatch.setattr(fire_welcome_task, "delay", lambda *args: enqueued.append(args))
    # when
    with django_assert_num_queries(1):
        welcome_on_first_order(sender=None, order=order)
    # then
    assert enqueued == []


# The beat schedule ----------------------------------------------------------------------------------------

def test_schedule_follows_the_campaign_through_create_update_pause_resume_and_removal():
    # given
    actor = Actor.system("test")
    data = {"name": "Birthdays", "discount": {"type": "percent", "percent": 10}, "trigger": BIRTHDAY}
    # when / then: created enabled, hourly in UTC, with the campaign's id
    campaign = create_campaign(data=data, actor=actor)
    task = PeriodicTask.objects.get(name=schedule_name(campaign.pk))
    assert (task.task, task.enabled, json.loads(task.kwargs)) == (
        "campaigns.run_calendar_campaign", True, {"campaign_id": campaign.pk})
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "*", "UTC")
    pause_campaign(campaign=campaign, actor=actor)
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is False
    resume_campaign(campaign=campaign, actor=actor)
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is True
    update_campaign(campaign=campaign, data={"trigger": None}, actor=actor)
    assert not PeriodicTask.objects.filter(name=schedule_name(campaign.pk)).exists()
    update_campaign(campaign=campaign, data={"trigger": {"type": "win_back", "days_since_last_order": 90}},
                    actor=actor)
    assert PeriodicTask.objects.filter(name=schedule_name(campaign.pk), enabled=True).count() == 1
    campaign.delete()
    assert not PeriodicTask.objects.filter(name=schedule_name(campaign.pk)).exists()


def test_a_draft_owns_a_disabled_schedule_and_welcome_owns_none():
    # given
    actor = Actor.system("test")
    body = {"discount": {"type": "percent", "percent": 10}}
    # when
    draft = create_campaign(data={**body, "name": "Draft", "trigger": BIRTHDAY, "draft": True}, actor=actor)
    welcome = create_campaign(data={**body, "name": "Welcome", "trigger": {"type": "welcome"}}, actor=actor)
    # then
    assert PeriodicTask.objects.get(name=schedule_name(draft.pk)).enabled is False
    assert not PeriodicTask.objects.filter(name=schedule_name(welcome.pk)).exists()


# Preview and dry run ---------------------------------------------------------------------------------------

@time_machine.travel(NOW, tick=False)
def test_preview_counts_only_customers_who_would_really_receive_it():
    # given
    segment = SegmentFactory(rules=[{"field": "country", "op": "eq", "value": "DE"}])
    campaign = calendar_campaign(BIRTHDAY, segment=segment)
    customer(source_id="ok", birthday=date(1990, 12, 1))
    customer(source_id="no-consent", birthday=date(1990, 12, 1), email_marketing_consent=False)
    customer(source_id="austrian", birthday=date(1990, 12, 1), country="AT")
    customer(source_id="no-email", birthday=date(1990, 12, 1), email="")
    customer(source_id="other-day", birthday=date(1990, 12, 2))
    # when
    preview = preview_calendar_campaign(campaign, date(2026, 12, 1), now=NOW)
    # then
    assert (preview.receiving, [c.source_id for c in preview.recipients]) == (1, ["ok"])
    assert preview.skip_reasons == {"no_address": 1, "no_consent": 1, "outside_segment": 1}
    assert CalendarSend.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_preview_counts_those_already_sent_and_dry_run_records_a_run_without_sending():
    # given
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="sent", birthday=BORN)
    run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    customer(source_id="new", birthday=BORN)
    # when
    preview = preview_calendar_campaign(campaign, BORN.replace(year=2026), now=NOW)
    dry = dry_run_calendar_campaign(campaign=campaign, now=NOW)
    # then
    assert (preview.receiving, preview.skip_reasons) == (1, {"already_sent": 1})
    assert (dry.kind, dry.issued, dry.skipped, dry.skip_reasons) == ("dry_run", 1, 1, {"already_sent": 1})
    assert (Code.objects.count(), CalendarSend.objects.filter(status=SendStatus.ISSUED).count()) == (1, 1)


@time_machine.travel(NOW, tick=False)
def test_a_run_announces_each_code_with_the_code_issued_webhook():
    # given: an endpoint subscribed to everything
    from retention.messaging.models import WebhookDelivery, WebhookEvent
    from retention.models import WebhookEndpoint

    WebhookEndpoint.objects.create(url="https://shop.example/hooks", secret="whsec_x", event_types=[])
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", birthday=BORN)
    customer(source_id="bob", birthday=BORN, email_marketing_consent=False)
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    # then: one event for the one code issued, queued to the endpoint
    event = WebhookEvent.objects.get()
    code = Code.objects.get()
    assert (event.type, event.data["code"], event.data["campaign"], event.data["customer"],
            event.data["source"]) == ("code.issued", code.code, "birthdays", "ana", "calendar")
    assert WebhookDelivery.objects.filter(event=event).count() == 1

"""The trigger endpoints of API.md, the trigger page per role, and the customer page's calendar panel."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from campaigns.models import CalendarSend, CampaignRun, Code, RunKind
from campaigns.services.calendar import run_calendar_campaign
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BORN = date(1990, 11, 23)


@time_machine.travel(NOW, tick=False)
def test_api_preview_lists_who_would_receive_it_that_day(api):
    # given
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", birthday=date(1990, 12, 1))
    customer(source_id="bob", birthday=date(1990, 12, 1), email_marketing_consent=False)
    # when
    response = api.get("/api/v1/campaigns/birthdays/preview?date=2026-12-01")
    # then
    assert response.status_code == 200
    assert response.json() == {"date": "2026-12-01", "count": 1, "customers": ["ana"], "skipped": 1,
                               "skip_reasons": {"no_consent": 1}}
    assert CalendarSend.objects.filter(campaign=campaign).count() == 0


def test_api_preview_refuses_a_bad_date_and_a_campaign_without_calendar_trigger(api):
    # given
    calendar_campaign(BIRTHDAY, slug="birthdays")
    calendar_campaign({"type": "welcome"}, slug="welcome")
    # when
    bad_date = api.get("/api/v1/campaigns/birthdays/preview?date=tomorrow")
    welcome = api.get("/api/v1/campaigns/welcome/preview")
    # then
    assert bad_date.status_code == 400
    assert (welcome.status_code, welcome.json()["error"]["code"]) == (422, "no_calendar_trigger")


@time_machine.travel("2026-11-23 07:00Z", tick=False)
def test_api_run_now_answers_202_and_runs_list_them(api):
    # given: before the send time in Berlin; a manual run does not wait for it
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", birthday=BORN)
    customer(source_id="bob", birthday=BORN, email_marketing_consent=False)
    # when
    created = api.post("/api/v1/campaigns/birthdays/runs")
    again = api.post("/api/v1/campaigns/birthdays/runs")
    listed = api.get("/api/v1/campaigns/birthdays/runs")
    # then
    assert created.status_code == 202
    body = created.json()
    assert (body["kind"], body["status"], body["issued"], body["skipped"], body["skip_reasons"]) == (
        "manual", "done", 1, 1, {"no_consent": 1})
    assert (again.json()["issued"], again.json()["skipped"]) == (0, 0)
    assert [(run["issued"], run["skipped"]) for run in listed.json()["results"]] == [(0, 0), (1, 1)]
    assert Code.objects.filter(campaign=campaign).count() == 1


def test_api_run_of_a_paused_campaign_is_refused(api):
    # given
    calendar_campaign(BIRTHDAY, slug="birthdays", is_paused=True)
    # when
    response = api.post("/api/v1/campaigns/birthdays/runs")
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (422, "campaign_paused")
    assert CampaignRun.objects.count() == 0


# The trigger page ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("agent", 403), ("outsider", 403)])
def test_trigger_page_is_for_marketers(client, request, who, status):
    # given
    calendar_campaign(BIRTHDAY, slug="birthdays")
    client.force_login(request.getfixturevalue(who))
    # when
    response = client.get(reverse("calendar:trigger", args=["birthdays"]))
    # then
    assert response.status_code == status


@time_machine.travel(NOW, tick=False)
def test_trigger_page_shows_next_run_and_saves_the_trigger(client, marketer):
    # given
    campaign = calendar_campaign(None, slug="birthdays")
    client.force_login(marketer)
    # when
    saved = client.post(reverse("calendar:trigger", args=["birthdays"]), {
        "type": "birthday", "days_before": "2", "send_time": "08:30", "timezone": "Asia/Tokyo", "repeat": "yearly"})
    page = client.get(reverse("calendar:trigger", args=["birthdays"]))
    # then
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert campaign.trigger == {"type": "birthday", "days_before": 2, "send_time": "08:30", "timezone": "Asia/Tokyo"}
    assert '<p class="next-run-when"><strong>23 Nov 2026, 11:00 UTC</strong>' in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_htmx_preview_and_dry_run_answer_fragments(client, marketer):
    # given
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", birthday=BORN)
    client.force_login(marketer)
    # when
    preview = client.get(reverse("calendar:preview", args=["birthdays"]), {"date": "2026-11-23"},
                         HTTP_HX_REQUEST="true")
    dry = client.post(reverse("calendar:dry_run", args=["birthdays"]), HTTP_HX_REQUEST="true")
    # then
    html = preview.content.decode()
    assert '<strong id="preview-count">1</strong> would receive it on Monday 23 November 2026' in html
    assert "<html" not in preview.content.decode()
    assert dry.status_code == 200 and 'id="runs"' in dry.content.decode()
    assert list(CampaignRun.objects.filter(campaign=campaign).values_list("kind", "issued")) == [
        (RunKind.DRY_RUN, 1)]


# The customer panel ----------------------------------------------------------------------------------------

@time_machine.travel(NOW, tick=False)
def test_customer_panel_says_received_skipped_or_not_due(client, marketer):
    # given
    received = calendar_campaign(BIRTHDAY, name="Birthday 10%")
    skipped = calendar_campaign(BIRTHDAY, name="Birthday VIP", countries=["AT"])
    calendar_campaign({"type": "win_back", "days_since_last_order": 90}, name="Win back")
    ana = customer(source_id="ana", birthday=BORN, last_order_at=datetime(2026, 11, 1, tzinfo=UTC))
    run_calendar_campaign(campaign_id=received.pk, now=NOW)
    run_calendar_campaign(campaign_id=skipped.pk, now=NOW)
    code = Code.objects.get(customer=ana)
    client.force_login(marketer)
    # when
    html = client.get(reverse("customers:detail", args=[ana.pk])).content.decode()
    # then
    assert f"Received on 23 Nov 2026 (<code>{code.code}</code>)" in html
    assert "Skipped on 23 Nov 2026: a campaign rule failed" in html
    assert "Not due yet" in html and "30 Jan 2027" in html  # 90 days after 1 Nov 2026


# Trigger errors on save -------------------------------------------------------------------------------------

def test_api_refuses_a_trigger_it_could_not_run_naming_each_field(api):
    # given
    body = {"name": "Lapsed", "discount": {"type": "percent", "percent": 10}}
    # when
    win_back = api.post("/api/v1/campaigns", {**body, "trigger": {"type": "win_back", "send_time": "25:00"}},
                        format="json")
    anniversary = api.post("/api/v1/campaigns", {**body, "trigger": {
        "type": "anniversary", "attribute": "metadata.a__b", "repeat": "daily", "timezone": "Mars/Olympus"}},
        format="json")
    good = api.post("/api/v1/campaigns", {**body, "trigger": {
        "type": "anniversary", "attribute": "metadata.first_shoes_purchase", "offset_days": 182, "repeat": "once"}},
        format="json")
    # then
    assert win_back.status_code == 400
    assert win_back.json()["error"]["fields"] == {
        "trigger.days_since_last_order": ["Required for a win_back trigger: a whole number of days."],
        "trigger.send_time": ["A time of day as HH:MM, e.g. 09:00."]}
    assert set(anniversary.json()["error"]["fields"]) == {"trigger.attribute", "trigger.repeat", "trigger.timezone"}
    assert good.status_code == 201


def test_trigger_page_shows_the_services_refusal_on_the_field(client, marketer):
    # given
    campaign = calendar_campaign(None, slug="lapsed")
    client.force_login(marketer)
    # when: an attribute the form lets through but the service refuses
    response = client.post(reverse("calendar:trigger", args=["lapsed"]), {
        "type": "anniversary", "attribute": "metadata.a__b", "offset_days": "0", "repeat": "yearly",
        "send_time": "09:00"})
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "Attribute: signed_up_at or metadata.&lt;key&gt; (letters, digits and single _)." in html
    campaign.refresh_from_db()
    assert campaign.trigger is None

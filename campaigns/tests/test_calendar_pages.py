"""The trigger page beyond the form: next run, welcome's "new customers", deliveries, pause/resume, the campaign
page's trigger card, and a fixed number of queries whatever the data size."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from campaigns.discounts import OrderInput
from campaigns.models import CalendarSend, Code
from campaigns.services.calendar import fire_welcome, next_run_at, run_calendar_campaign
from campaigns.services.redemptions import redeem_code
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer
from retention.actors import Actor

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 10, 20, tzinfo=UTC)
BORN = date(1990, 11, 23)


def test_next_run_is_the_next_full_utc_hour_or_the_first_tick_from_the_start():
    # given
    from campaigns.services.calendar import sync_calendar_schedule

    live = calendar_campaign(BIRTHDAY)
    later = calendar_campaign(BIRTHDAY, starts_at=NOW + timedelta(days=2, minutes=10))
    ended = calendar_campaign(BIRTHDAY, starts_at=NOW - timedelta(days=9), ends_at=NOW + timedelta(minutes=5))
    for campaign in (live, later, ended):
        sync_calendar_schedule(campaign, now=NOW)
    # when / then
    assert next_run_at(live, NOW) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert next_run_at(later, NOW) == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert next_run_at(ended, NOW) is None  # it ends before the next tick


@time_machine.travel(NOW, tick=False)
def test_pause_and_resume_from_the_trigger_page_switch_the_schedule(client, marketer):
    # given
    from django_celery_beat.models import PeriodicTask

    from campaigns.services.calendar import schedule_name, sync_calendar_schedule

    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    sync_calendar_schedule(campaign)
    client.force_login(marketer)
    page = reverse("calendar:trigger", args=["birthdays"])
    # when
    paused = client.post(reverse("campaigns:pause", args=["birthdays"]), {"next": page}, follow=True)
    # then
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is False
    html = paused.content.decode()
    assert '<p class="next-run-when"><strong>None</strong>: the campaign is paused.</p>' in html
    assert "▶ Resume" in html
    # when
    resumed = client.post(reverse("campaigns:resume", args=["birthdays"]), {"next": page}, follow=True)
    # then
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is True
    assert "<strong>23 Nov 2026, 11:00 UTC</strong>" in resumed.content.decode()


@time_machine.travel(NOW, tick=False)
def test_welcome_new_customers_leave_the_list_once_their_code_is_redeemed(client, marketer):
    # given: two new customers welcomed
    campaign = calendar_campaign({"type": "welcome", "on": "signup"}, slug="welcome")
    ana = customer(source_id="ana", email="ana@example.com")
    bob = customer(source_id="bob", email="bob@example.com")
    fire_welcome(customer_id=ana.pk, on="signup")
    fire_welcome(customer_id=bob.pk, on="signup")
    client.force_login(marketer)
    before = client.get(reverse("calendar:trigger", args=["welcome"])).content.decode()
    # when: Ana uses hers
    code = Code.objects.get(campaign=campaign, customer=ana)
    redeem_code(code=code.code, customer_source_id="ana", actor=Actor.system("test"),
                order=OrderInput(amount=10000, currency="EUR", source_id="o-1"))
    after = client.get(reverse("calendar:trigger", args=["welcome"])).content.decode()
    # then
    assert "2 holding an unused welcome code · 2 decided so far" in before
    assert "ana@example.com" in before.split('id="new-customers"')[1].split("</table>")[0]
    new_customers = after.split('id="new-customers"')[1].split("</table>")[0]
    assert "1 holding an unused welcome code · 2 decided so far" in after
    assert "ana@example.com" not in new_customers and "bob@example.com" in new_customers


@time_machine.travel(NOW, tick=False)
def test_trigger_page_lists_runs_with_reasons_in_words_and_the_deliveries(client, marketer):
    # given
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", email="ana@example.com", birthday=BORN)
    customer(source_id="bob", email="bob@example.com", birthday=BORN, email_marketing_consent=False)
    run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    client.force_login(marketer)
    # when
    html = client.get(reverse("calendar:trigger", args=["birthdays"])).content.decode()
    # then
    runs = html.split('id="runs"')[1].split("</table>")[0]
    assert "Scheduled tick" in runs and "1 no marketing consent" in runs
    deliveries = html.split('id="deliveries"')[1].split("</table>")[0]
    code = CalendarSend.objects.get(customer__source_id="ana").code.code
    assert "ana@example.com" in deliveries and "Queued" in deliveries and code in deliveries
    assert "bob@example.com" in deliveries and "Skipped" in deliveries


def test_trigger_page_queries_do_not_grow_with_the_data(client, marketer, django_assert_max_num_queries):
    # given: many customers decided, issued and skipped
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    for number in range(30):
        customer(source_id=f"c{number}", birthday=BORN, email_marketing_consent=number % 3 != 0)
    with time_machine.travel(NOW, tick=False):
        run_calendar_campaign(campaign_id=campaign.pk, now=NOW)
    client.force_login(marketer)
    # when / then
    with django_assert_max_num_queries(14):
        response = client.get(reverse("calendar:trigger", args=["birthdays"]))
    assert response.status_code == 200


@time_machine.travel(NOW, tick=False)
def test_campaign_page_shows_the_trigger_its_next_run_and_a_link(client, marketer):
    # given
    from campaigns.services.calendar import sync_calendar_schedule

    campaign = calendar_campaign({**BIRTHDAY, "days_before": 3}, slug="birthdays")
    sync_calendar_schedule(campaign)
    calendar_campaign(None, slug="plain")
    client.force_login(marketer)
    # when
    html = client.get(reverse("campaigns:detail", args=["birthdays"])).content.decode()
    plain = client.get(reverse("campaigns:detail", args=["plain"])).content.decode()
    # then
    assert "3 days before each birthday, at 09:00." in html
    assert "<strong>Next run:</strong> 23 Nov 2026, 11:00 UTC." in html
    assert reverse("calendar:trigger", args=["birthdays"]) in html
    assert "Add a trigger →" in plain


def test_run_history_leaves_out_hourly_ticks_that_found_nobody(client, marketer):
    # given: a tick with a birthday, then two empty ticks
    campaign = calendar_campaign(BIRTHDAY, slug="birthdays")
    customer(source_id="ana", birthday=BORN)
    for hour in (10, 11, 12):
        moment = NOW.replace(hour=hour)
        with time_machine.travel(moment, tick=False):
            run_calendar_campaign(campaign_id=campaign.pk, now=moment)
    client.force_login(marketer)
    # when
    with time_machine.travel(NOW.replace(hour=13), tick=False):
        html = client.get(reverse("calendar:trigger", args=["birthdays"])).content.decode()
    # then
    assert html.split('id="runs"')[1].count('<tr class="run">') == 1
    assert campaign.runs.count() == 3


def test_calendar_page_shows_a_date_window_with_its_countries(client, marketer):
    # given: a holiday campaign for two countries
    calendar_campaign(None, name="Sinterklaas", slug="sinterklaas", countries=["NL", "BE"],
                      starts_at=datetime(2026, 12, 1, tzinfo=UTC), ends_at=datetime(2026, 12, 6, tzinfo=UTC))
    client.force_login(marketer)
    # when
    html = client.get(reverse("campaigns:calendar"), {"month": "2026-12"}).content.decode()
    # then
    assert '▶ Sinterklaas <span class="cal-countries">NL BE</span>' in html
    assert 'title="Sinterklaas · Scheduled · NL, BE"' in html or 'title="Sinterklaas · Active · NL, BE"' in html

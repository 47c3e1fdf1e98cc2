"""Eligibility of each trigger: birthdays (time zones, leap days), anniversaries, win-back windows."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from campaigns.models import CalendarSend, Code, CodeSource, SendStatus
from campaigns.services.calendar import run_calendar_campaign
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer
from retention.messaging.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _receivers(campaign) -> list[str]:
    return sorted(CalendarSend.objects.filter(campaign=campaign, status=SendStatus.ISSUED)
                  .values_list("customer__source_id", flat=True))


@time_machine.travel("2026-11-23 08:05Z", tick=False)
def test_birthday_issues_a_code_and_queues_the_message_at_the_local_send_time():
    # given: a Berlin customer born on 23 November (09:05 in Berlin)
    campaign = calendar_campaign(BIRTHDAY, code_valid_days=30)
    ana = customer(source_id="ana", birthday=date(1990, 11, 23))
    customer(source_id="bob", birthday=date(1990, 11, 24))
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 08:05"))
    # then
    assert (run.issued, run.skipped, run.skip_reasons) == (1, 0, {})
    send = CalendarSend.objects.get(campaign=campaign)
    assert (send.customer_id, send.occasion, send.status) == (ana.pk, "birthday:2026", SendStatus.ISSUED)
    code = Code.objects.get(campaign=campaign)
    assert (code.customer_id, code.source, code.expires_at) == (ana.pk, CodeSource.CALENDAR, _at("2026-12-23 08:05"))
    assert send.code_id == code.pk
    delivery = Delivery.objects.get(customer=ana)
    assert (send.delivery_id, delivery.status, delivery.occasion_key) == (
        delivery.pk, DeliveryStatus.QUEUED, f"campaign:{campaign.pk}:birthday:2026")
    assert code.code in delivery.payload["text"]
    campaign.refresh_from_db()
    assert campaign.codes_issued == 1


def test_a_tick_before_the_send_time_sends_nothing_and_the_next_one_after_does():
    # given: 07:00 UTC is 08:00 in Berlin, before the 09:00 send time
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="ana", birthday=date(1990, 11, 23))
    with time_machine.travel("2026-11-23 07:00Z", tick=False):
        early = run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 07:00"))
    # when: the 08:00 tick is missed; the 09:00 UTC tick catches up the same local day
    with time_machine.travel("2026-11-23 09:00Z", tick=False):
        late = run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 09:00"))
    # then
    assert (early.issued, late.issued) == (0, 1)
    assert _receivers(campaign) == ["ana"]


@time_machine.travel("2026-11-23 00:30Z", tick=False)
def test_a_customer_in_tokyo_gets_it_on_their_own_local_day():
    # given: 00:30 UTC is 09:30 on 23 November in Tokyo and 01:30 in Berlin
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="tokyo", birthday=date(1990, 11, 23), timezone="Asia/Tokyo")
    customer(source_id="berlin", birthday=date(1990, 11, 23), timezone="Europe/Berlin")
    customer(source_id="tokyo-tomorrow", birthday=date(1990, 11, 24), timezone="Asia/Tokyo")
    # when
    run = run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 00:30"))
    # then
    assert run.issued == 1
    assert _receivers(campaign) == ["tokyo"]


@time_machine.travel("2026-11-23 12:00Z", tick=False)
def test_a_customer_without_a_time_zone_follows_the_triggers_zone():
    # given: 12:00 UTC is 21:00 in Tokyo (the trigger's zone) on the 23rd; the customer's zone is blank
    campaign = calendar_campaign({**BIRTHDAY, "timezone": "Asia/Tokyo", "send_time": "20:00"})
    customer(source_id="blank", birthday=date(1990, 11, 23), timezone="")
    customer(source_id="berlin", birthday=date(1990, 11, 23), timezone="Europe/Berlin")  # 13:00 < 20:00
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 12:00"))
    # then
    assert _receivers(campaign) == ["blank"]


@time_machine.travel("2026-11-20 10:00Z", tick=False)
def test_days_before_sends_ahead_of_the_birthday_with_that_years_occasion():
    # given
    campaign = calendar_campaign({**BIRTHDAY, "days_before": 3})
    customer(source_id="ana", birthday=date(1990, 11, 23))
    customer(source_id="today", birthday=date(1990, 11, 20))
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-20 10:00"))
    # then
    assert _receivers(campaign) == ["ana"]
    assert CalendarSend.objects.get().occasion == "birthday:2026"


@pytest.mark.parametrize(("moment", "expected"), [
    ("2027-02-28 10:00", ["leap", "the-28th"]),  # common year: the 29th is celebrated on the 28th
    ("2028-02-28 10:00", ["the-28th"]),  # leap year: not yet
    ("2028-02-29 10:00", ["leap"]),
    ("2027-03-01 10:00", []),
])
def test_leap_day_birthdays_fall_on_the_28th_in_common_years(moment, expected):
    # given
    campaign = calendar_campaign(BIRTHDAY)
    customer(source_id="leap", birthday=date(1992, 2, 29))
    customer(source_id="the-28th", birthday=date(1990, 2, 28))
    # when
    with time_machine.travel(_at(moment), tick=False):
        run_calendar_campaign(campaign_id=campaign.pk, now=_at(moment))
    # then
    assert _receivers(campaign) == expected


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_sign_up_anniversary_yearly_skips_the_sign_up_day_itself():
    # given
    campaign = calendar_campaign({"type": "anniversary", "attribute": "signed_up_at", "offset_days": 0,
                                  "send_time": "09:00"})
    customer(source_id="one-year", signed_up_at=_at("2025-11-23 15:00"))
    customer(source_id="signed-up-today", signed_up_at=_at("2026-11-23 06:00"))
    customer(source_id="other-day", signed_up_at=_at("2025-11-22 15:00"))
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 10:00"))
    # then
    assert _receivers(campaign) == ["one-year"]
    assert CalendarSend.objects.get().occasion == "anniversary:signed_up_at:2026"


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_metadata_date_once_with_an_offset():
    # given: 182 days after 2026-05-25 is 2026-11-23
    campaign = calendar_campaign({"type": "anniversary", "attribute": "metadata.first_shoes_purchase",
                                  "offset_days": 182, "repeat": "once"})
    customer(source_id="shoes", metadata={"first_shoes_purchase": "2026-05-25"})
    customer(source_id="a-year-earlier", metadata={"first_shoes_purchase": "2025-05-25"})
    customer(source_id="no-date", metadata={})
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 10:00"))
    # then
    assert _receivers(campaign) == ["shoes"]
    assert CalendarSend.objects.get().occasion == "anniversary:metadata.first_shoes_purchase"


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_metadata_date_yearly():
    # given
    campaign = calendar_campaign({"type": "anniversary", "attribute": "metadata.wedding", "repeat": "yearly"})
    customer(source_id="wed", metadata={"wedding": "2019-11-23"})
    customer(source_id="other", metadata={"wedding": "2019-11-24"})
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 10:00"))
    # then
    assert _receivers(campaign) == ["wed"]


@time_machine.travel("2026-11-23 10:00Z", tick=False)
def test_win_back_exactly_n_days_after_the_last_order_in_the_customers_day():
    # given: 180 days before 2026-11-23 is 2026-05-27 (Berlin days)
    campaign = calendar_campaign({"type": "win_back", "days_since_last_order": 180, "send_time": "10:00"})
    customer(source_id="exactly", last_order_at=_at("2026-05-27 21:30"))  # 23:30 in Berlin, the 27th
    customer(source_id="day-after", last_order_at=_at("2026-05-27 22:30"))  # 00:30 on the 28th in Berlin
    customer(source_id="day-before", last_order_at=_at("2026-05-26 12:00"))
    customer(source_id="never-ordered")
    # when
    run_calendar_campaign(campaign_id=campaign.pk, now=_at("2026-11-23 10:00"))
    # then
    assert _receivers(campaign) == ["exactly"]


def test_win_back_with_a_cooldown_reaches_older_lapses_and_waits_for_the_cooldown():
    # given
    campaign = calendar_campaign({"type": "win_back", "days_since_last_order": 180, "cooldown_days": 90,
                                  "send_time": "10:00"})
    customer(source_id="lapsed", last_order_at=_at("2026-01-01 12:00"))
    customer(source_id="recent", last_order_at=_at("2026-10-01 12:00"))
    moments = ["2026-11-23 10:00", "2026-11-24 10:00", "2027-02-21 10:00", "2027-02-22 10:00"]
    issued = []
    # when: a run on each day; 2027-02-21 is 90 days after the first send, 2027-02-22 is 91
    for moment in moments:
        with time_machine.travel(_at(moment), tick=False):
            issued.append(run_calendar_campaign(campaign_id=campaign.pk, now=_at(moment)).issued)
    # then
    assert issued == [1, 0, 0, 1]
    assert sorted(CalendarSend.objects.values_list("occasion", flat=True)) == [
        "win_back:2026-11-23", "win_back:2027-02-22"]


def test_win_back_with_a_cooldown_tries_a_skipped_customer_again_a_week_later():
    # given: lapsed, without consent at first
    campaign = calendar_campaign({"type": "win_back", "days_since_last_order": 180, "cooldown_days": 90,
                                  "send_time": "10:00"})
    lapsed = customer(source_id="lapsed", last_order_at=_at("2026-01-01 12:00"), email_marketing_consent=False)
    outcomes = []
    # when: skipped on day 1, consent given on day 3, runs on days 3, 7 and 8
    for moment in ["2026-11-23 10:00", "2026-11-25 10:00", "2026-11-29 10:00", "2026-11-30 10:00"]:
        if moment == "2026-11-25 10:00":
            lapsed.email_marketing_consent = True
            lapsed.save(update_fields=["email_marketing_consent"])
        with time_machine.travel(_at(moment), tick=False):
            run = run_calendar_campaign(campaign_id=campaign.pk, now=_at(moment))
            outcomes.append((run.issued, run.skipped))
    # then: nothing new within the week, the code on the 7th day after the skip
    assert outcomes == [(0, 1), (0, 0), (0, 0), (1, 0)]
    assert sorted(CalendarSend.objects.values_list("occasion", "status")) == [
        ("win_back:2026-11-23", "skipped"), ("win_back:2026-11-30", "issued")]


"""Exactly once under concurrent runs: several beats or workers firing the same campaign at the same moment."""

from datetime import UTC, date, datetime

import pytest

from campaigns.models import CalendarSend, CampaignRun, Code
from campaigns.services.calendar import run_calendar_campaign
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer
from retention.messaging.models import Delivery
from retention.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_concurrent_runs_issue_each_occasion_once():
    # given: 40 birthdays today and four workers released together
    campaign = calendar_campaign(BIRTHDAY)
    for number in range(40):
        customer(source_id=f"c{number}", birthday=date(1990, 11, 23))
    # when
    issued = run_together(4, lambda number: run_calendar_campaign(campaign_id=campaign.pk, now=NOW).issued)
    # then
    assert sum(issued) == 40 and len(issued) == 4
    assert (Code.objects.count(), Delivery.objects.count(), CalendarSend.objects.count()) == (40, 40, 40)
    assert CampaignRun.objects.count() == 4
    campaign.refresh_from_db()
    assert campaign.codes_issued == 40


def test_concurrent_welcome_signals_issue_one_code():
    # given: a replayed sign-up signal handled by three workers at once
    from campaigns.services.calendar import fire_welcome

    campaign = calendar_campaign({"type": "welcome", "on": "signup"})
    newcomer = customer(source_id="new")
    # when
    run_together(3, lambda number: fire_welcome(customer_id=newcomer.pk, on="signup", now=NOW))
    # then
    assert list(CalendarSend.objects.values_list("occasion", "status")) == [("welcome", "issued")]
    assert (Code.objects.filter(campaign=campaign).count(), Delivery.objects.count()) == (1, 1)

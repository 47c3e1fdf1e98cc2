"""Exactly once under concurrent runs: several beats or workers firing the same campaign at the same moment."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection, connections

from campaigns.models import CalendarSend, CampaignRun, Code
from campaigns.services.calendar import run_calendar_campaign
from campaigns.tests.calendar_factories import BIRTHDAY, calendar_campaign, customer
from retention.messaging.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL (DATABASE_URL=postgres://...)")


def test_concurrent_runs_issue_each_occasion_once():
    # given: 40 birthdays today and four workers released together
    campaign = calendar_campaign(BIRTHDAY)
    for number in range(40):
        customer(source_id=f"c{number}", birthday=date(1990, 11, 23))
    barrier, errors, issued = threading.Barrier(4), [], []

    def worker() -> None:
        try:
            barrier.wait()
            issued.append(run_calendar_campaign(campaign_id=campaign.pk, now=NOW).issued)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then
    assert errors == []
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
    barrier, errors = threading.Barrier(3), []

    def worker() -> None:
        try:
            barrier.wait()
            fire_welcome(customer_id=newcomer.pk, on="signup", now=NOW)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then
    assert errors == []
    assert list(CalendarSend.objects.values_list("occasion", "status")) == [("welcome", "issued")]
    assert (Code.objects.filter(campaign=campaign).count(), Delivery.objects.count()) == (1, 1)

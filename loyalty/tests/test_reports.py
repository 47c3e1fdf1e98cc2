"""The program dashboard's figures, exact, from hand-made ledgers and order aggregates."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from loyalty.charts import points_chart
from loyalty.models import EntryKind, LedgerEntry, RewardRedemption
from loyalty.reports import MonthPoints, PurchaseFigures, month_starts, program_dashboard
from loyalty.services.ledger import account_for
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _entry(account, kind, when, points=0, pending=0):
    return LedgerEntry.objects.create(account=account, kind=kind, points=points, pending_points=pending,
                                      balance_after=0, source_type="test", source_id=f"{kind}-{when.isoformat()}",
                                      created_at=when)


@pytest.fixture
def scenario():
    program = LoyaltyProgramFactory()
    other_program = LoyaltyProgramFactory()
    ana = CustomerFactory(orders_count=3, first_order_at=_at(2026, 1, 1), last_order_at=_at(2026, 3, 2))
    ben = CustomerFactory(orders_count=1, first_order_at=_at(2026, 2, 1), last_order_at=_at(2026, 2, 1))
    cleo = CustomerFactory(orders_count=2, first_order_at=_at(2026, 1, 1), last_order_at=_at(2026, 1, 11))
    CustomerFactory(orders_count=0)
    CustomerFactory(orders_count=4, first_order_at=_at(2026, 2, 1), last_order_at=_at(2026, 3, 3))
    ana_account = account_for(program=program, customer=ana)
    ben_account = account_for(program=program, customer=ben)
    account_for(program=program, customer=cleo)  # an account without entries: not a member
    _entry(ana_account, EntryKind.EARN, _at(2026, 6, 1), points=100)
    _entry(ana_account, EntryKind.SPEND, _at(2026, 6, 10), points=-40)
    _entry(ben_account, EntryKind.PENDING, _at(2026, 1, 20), pending=50)
    _entry(ben_account, EntryKind.RELEASE, _at(2026, 2, 3), points=50, pending=-50)  # not "issued" again
    _entry(ben_account, EntryKind.EXPIRE, _at(2025, 7, 5), points=-30)
    _entry(ben_account, EntryKind.EARN, _at(2025, 6, 30), points=999)  # before the 12 months
    _entry(account_for(program=other_program, customer=ana), EntryKind.EARN, _at(2026, 6, 2), points=77)
    first, second = RewardFactory(program=program, name="Mug"), RewardFactory(program=program, name="Bag")
    RewardRedemption.objects.create(account=ana_account, reward=first, points_spent=40, created_at=_at(2026, 6, 10))
    RewardRedemption.objects.create(account=ana_account, reward=second, points_spent=60, created_at=_at(2026, 3, 1))
    return program


def test_month_starts_cover_twelve_months_ending_with_the_current_one():
    # when
    starts = month_starts(NOW)
    # then
    assert starts[0] == date(2025, 7, 1) and starts[-1] == date(2026, 6, 1) and len(starts) == 12


def test_dashboard_figures(scenario):
    # when
    figures = program_dashboard(scenario, now=NOW)
    # then
    assert (figures.members, figures.active_members) == (2, 1)
    nonzero = [month for month in figures.months if (month.issued, month.spent, month.expired) != (0, 0, 0)]
    assert nonzero == [
        MonthPoints(month=date(2025, 7, 1), issued=0, spent=0, expired=30),
        MonthPoints(month=date(2026, 1, 1), issued=50, spent=0, expired=0),
        MonthPoints(month=date(2026, 6, 1), issued=100, spent=40, expired=0),
    ]
    assert (figures.redemptions_total, figures.redemptions_recent, figures.points_spent_on_rewards) == (2, 1, 100)
    assert figures.top_rewards == [("Bag", 1), ("Mug", 1)]
    assert figures.members_purchases == PurchaseFigures(customers=2, repeat_customers=1, repeat_rate_percent=50.0,
                                                        average_days_between=30.0)
    assert figures.others_purchases == PurchaseFigures(customers=2, repeat_customers=2, repeat_rate_percent=100.0,
                                                       average_days_between=10.0)


def test_empty_program_has_no_rates():
    # given
    program = LoyaltyProgramFactory()
    # when
    figures = program_dashboard(program, now=NOW)
    # then
    assert (figures.members, figures.active_members, figures.redemptions_total) == (0, 0, 0)
    assert figures.members_purchases == PurchaseFigures(customers=0, repeat_customers=0, repeat_rate_percent=None,
                                                        average_days_between=None)
    assert [month.issued for month in figures.months] == [0] * 12


def test_chart_has_a_bar_per_series_and_month_with_its_figure():
    # given
    months = [MonthPoints(month=date(2026, 5, 1), issued=1200, spent=300, expired=0),
              MonthPoints(month=date(2026, 6, 1), issued=0, spent=0, expired=45)]
    # when
    svg = str(points_chart(months))
    # then
    assert svg.count("<rect") == 6
    assert "<title>May 2026: Issued 1,200 points</title>" in svg
    assert "<title>June 2026: Expired 45 points</title>" in svg


def test_dashboard_page_shows_the_figures(client, marketer, scenario):
    # given
    import time_machine

    client.force_login(marketer)
    # when
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("loyalty:home") + f"?program={scenario.pk}")
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="members">2<' in page
    assert 'data-figure="active">1<' in page
    assert 'data-figure="member-repeat">50.0 %<' in page
    assert 'data-figure="other-repeat">100.0 %<' in page


def test_axis_tops_are_round_and_so_are_their_quarters():
    from loyalty.charts import QUARTER_STEPS, nice_ceiling

    assert [nice_ceiling(value, QUARTER_STEPS) for value in (0, 1, 3, 5, 7, 9, 11, 2400, 4500, 7000, 120_000)] == [
        1, 1, 4, 6, 8, 10, 20, 4000, 6000, 8000, 200_000]

"""Report figures, exact: status conditions, daily series, forecasts, run-out dates, leak and budget alerts."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from campaigns import queries, reports
from campaigns.models import Campaign, CampaignStatus, CampaignType, DiscountType, RedemptionStatus
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.models import OrderStatus
from retention.tests.factories import CustomerFactory, OrderFactory, OrderItemFactory, SegmentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


def _redeem(campaign, when, *, customer=None, discount=1000, order_amount=10000, **extra):
    code = CodeFactory(campaign=campaign)
    return RedemptionFactory(code=code, campaign=campaign, customer=customer, created_at=when,
                             discount_amount=discount, order_amount=order_amount, **extra)


# Status ------------------------------------------------------------------------------------------------

def test_status_condition_agrees_with_status_at():
    campaigns = [
        CampaignFactory(), CampaignFactory(is_paused=True), CampaignFactory(is_draft=True),
        CampaignFactory(is_draft=True, ends_at=NOW - timedelta(days=1)),
        CampaignFactory(starts_at=NOW + timedelta(hours=1)),
        CampaignFactory(starts_at=NOW + timedelta(hours=1), is_paused=True),
        CampaignFactory(ends_at=NOW), CampaignFactory(ends_at=NOW, is_paused=True),
        CampaignFactory(starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(seconds=1)),
    ]
    for status in CampaignStatus.values:
        matched = set(Campaign.objects.filter(queries.status_condition(status, NOW)).values_list("pk", flat=True))
        assert matched == {c.pk for c in campaigns if c.status_at(NOW) == status}, status


# Counters and series -----------------------------------------------------------------------------------

def test_counters_take_revenue_from_succeeded_redemptions_only():
    campaign = CampaignFactory(codes_issued=8, redemptions_count=2, discount_total=3000)
    _redeem(campaign, NOW, order_amount=12000)
    _redeem(campaign, NOW, order_amount=8000)
    _redeem(campaign, NOW, order_amount=99999, status=RedemptionStatus.ROLLED_BACK)
    counters = reports.campaign_counters(campaign)
    assert (counters.issued, counters.redeemed, counters.discount_total, counters.revenue) == (8, 2, 3000, 20000)
    assert counters.rate == 25
    assert reports.redemption_rate(0, 0) is None


def test_daily_series_counts_local_days_and_fills_gaps():
    campaign = CampaignFactory(timezone="Europe/Berlin")
    _redeem(campaign, datetime(2026, 12, 9, 23, 30, tzinfo=UTC))  # 10 December in Berlin
    _redeem(campaign, datetime(2026, 12, 10, 8, 0, tzinfo=UTC))
    _redeem(campaign, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    _redeem(campaign, datetime(2026, 12, 8, 10, 0, tzinfo=UTC), status=RedemptionStatus.ROLLED_BACK)
    _redeem(CampaignFactory(), datetime(2026, 12, 8, 10, 0, tzinfo=UTC))  # another campaign
    series = reports.daily_redemptions(campaign=campaign, days=5, now=NOW)
    assert series == [(date(2026, 12, 6), 0), (date(2026, 12, 7), 0), (date(2026, 12, 8), 1),
                      (date(2026, 12, 9), 0), (date(2026, 12, 10), 2)]
    everything = reports.daily_redemptions(days=5, now=NOW, zone_name="UTC")
    assert [count for _day, count in everything] == [0, 0, 2, 1, 1]


# Draft forecast ----------------------------------------------------------------------------------------

def _order(customer, *, amount, days_ago, currency="EUR", items=(), status=OrderStatus.PAID):
    order = OrderFactory(customer=customer, amount=amount, currency=currency, status=status,
                         created_at=NOW - timedelta(days=days_ago))
    for sku, price in items:
        OrderItemFactory(order=order, sku=sku, quantity=1, unit_price=price)
    return order


def test_draft_forecast_replays_last_month_orders_against_the_rules():
    # given a draft: 15% off (at most 20.00), orders from 50.00 EUR, Germany only, first order only
    draft = CampaignFactory(is_draft=True, percent=15, max_amount=2000, min_order_amount=5000, countries=["DE"],
                            first_order_only=True, exclude_skus=["GIFT"])
    german, french, returning = CustomerFactory(country="DE"), CustomerFactory(country="FR"), CustomerFactory()
    _order(german, amount=10000, days_ago=3)  # qualifies: 15.00
    _order(german, amount=30000, days_ago=2)  # second order of the customer: no
    _order(french, amount=10000, days_ago=3)  # France: no
    _order(returning, amount=50000, days_ago=40)  # earlier than the window, but makes the next one a repeat
    _order(returning, amount=50000, days_ago=5)  # not a first order: no
    newcomer = CustomerFactory(country="DE")
    _order(newcomer, amount=20000, days_ago=10)  # qualifies: 30.00 capped at 20.00
    _order(CustomerFactory(country="DE"), amount=4000, days_ago=1)  # below the minimum
    _order(CustomerFactory(country="DE"), amount=9000, days_ago=1, currency="GBP")  # another currency
    _order(CustomerFactory(country="DE"), amount=6000, days_ago=1, items=[("GIFT", 6000)])  # nothing eligible
    _order(CustomerFactory(country="DE"), amount=8000, days_ago=1, items=[("GIFT", 4000), ("SHOE", 4000)])  # 6.00
    _order(CustomerFactory(country="DE"), amount=8000, days_ago=1, status=OrderStatus.CANCELLED)
    # when forecast
    forecast = reports.draft_forecast(draft, now=NOW)
    # then
    assert (forecast.orders, forecast.qualifying, forecast.discount_total) == (9, 3, 1500 + 2000 + 600)
    assert forecast.share == 33


def test_draft_forecast_stops_at_the_cap_and_the_budget():
    capped = CampaignFactory(is_draft=True, discount_type=DiscountType.AMOUNT, percent=None, amount=1000,
                             max_redemptions=2, countries=[])
    budgeted = CampaignFactory(is_draft=True, discount_type=DiscountType.AMOUNT, percent=None, amount=1000,
                               budget=2500)
    for days_ago in (1, 2, 3, 4):
        _order(CustomerFactory(), amount=5000, days_ago=days_ago)
    assert reports.draft_forecast(capped, now=NOW).qualifying == 2
    budget = reports.draft_forecast(budgeted, now=NOW)
    assert (budget.qualifying, budget.discount_total) == (2, 2000)


# Run-out forecast --------------------------------------------------------------------------------------

def test_run_out_date_follows_last_week_pace():
    # given 14 redemptions over the last 7 days (2 a day) and 40 of 100 used
    campaign = CampaignFactory(max_redemptions=100, redemptions_count=40)
    for index in range(14):
        _redeem(campaign, NOW - timedelta(hours=12 * index + 1))
    _redeem(campaign, NOW - timedelta(days=8))  # before the week: ignored
    forecast = reports.run_out_forecast(campaign, now=NOW)
    # then 60 left at 2 a day: 30 days from today
    assert forecast.limit == "redemptions"
    assert forecast.on == date(2027, 1, 9)
    assert forecast.per_day == 2
    assert forecast.before_end is True


def test_run_out_picks_the_budget_when_it_runs_out_first():
    campaign = CampaignFactory(max_redemptions=1000, redemptions_count=10, budget=50000, discount_total=20000,
                               ends_at=NOW + timedelta(days=5))
    for index in range(7):
        _redeem(campaign, NOW - timedelta(days=index, hours=1), discount=3000)  # 3,000 a day
    forecast = reports.run_out_forecast(campaign, now=NOW)
    assert forecast.limit == "budget"
    assert forecast.on == date(2026, 12, 20)  # 30,000 left / 3,000 a day = 10 days
    assert forecast.before_end is False  # the campaign ends on the 15th


def test_run_out_without_limits_or_pace():
    assert reports.run_out_forecast(CampaignFactory(), now=NOW) is None
    quiet = reports.run_out_forecast(CampaignFactory(budget=1000), now=NOW)
    assert (quiet.limit, quiet.on, quiet.before_end) == ("budget", None, False)
    spent = reports.run_out_forecast(CampaignFactory(budget=1000, discount_total=1000), now=NOW)
    assert spent.on == date(2026, 12, 10)


# Alerts ------------------------------------------------------------------------------------------------

def _public(**fields):
    return CampaignFactory(type=CampaignType.PUBLIC, public_code=fields.pop("public_code", "INSTA"), **fields)


def test_leak_alert_when_the_last_day_far_exceeds_the_pace():
    campaign = _public(leak_guard_factor=4)
    for index in range(14):  # 2 a day over the week before
        _redeem(campaign, NOW - timedelta(days=1, hours=12 * index + 1))
    for index in range(9):  # 9 in the last day: below the minimum of 10
        _redeem(campaign, NOW - timedelta(minutes=index + 1))
    assert reports.leak_alerts([campaign], now=NOW) == []
    _redeem(campaign, NOW - timedelta(minutes=30))  # 10 > 4 × 2
    alerts = reports.leak_alerts([campaign], now=NOW)
    assert [(alert.kind, alert.figures) for alert in alerts] == [
        ("leak_pace", {"last_day": 10, "pace": 2.0, "factor": 4})]
    assert alerts[0].message.startswith("10 redemptions of “Campaign")


def test_no_leak_alert_at_the_usual_pace_or_for_unique_codes():
    campaign = _public()
    unique = CampaignFactory()
    for index in range(70):  # 10 a day over the week before
        _redeem(campaign, NOW - timedelta(days=1, hours=2 * index + 1))
        _redeem(unique, NOW - timedelta(minutes=index))
    for index in range(25):  # 25 < 3 × 10
        _redeem(campaign, NOW - timedelta(minutes=index))
    assert reports.leak_alerts([campaign, unique], now=NOW) == []


def test_leak_alert_when_most_redemptions_come_from_outside_its_countries():
    campaign = _public(countries=["DE"])
    for index in range(14):
        _redeem(campaign, NOW - timedelta(days=1, hours=12 * index + 1), customer=CustomerFactory(country="DE"))
    for country in ["DE", "DE", "FR", "FR", "GB"]:
        _redeem(campaign, NOW - timedelta(hours=1), customer=CustomerFactory(country=country))
    alerts = reports.leak_alerts([campaign], now=NOW)
    assert [(alert.kind, alert.figures) for alert in alerts] == [("leak_audience", {"outside": 3, "known": 5})]
    assert "came from customers outside its audience (DE)" in alerts[0].message


def test_leak_alert_when_most_redemptions_come_from_outside_its_segments():
    # given: a public code for VIPs (segment rule) and one sent to the newsletter audience (audience segment)
    vip = SegmentFactory(name="VIP", rules=[{"field": "tags", "op": "contains", "value": "vip"}])
    readers = SegmentFactory(name="Readers", rules=[{"field": "locale", "op": "eq", "value": "de-DE"}])
    for_vips = _public(public_code="VIPONLY")
    for_vips.segments.set([vip])
    for_readers = _public(public_code="READERS", segment=readers)
    vips = [CustomerFactory(tags=["vip"]) for _ in range(2)]
    others = [CustomerFactory(tags=[], locale="fr-FR") for _ in range(3)]
    for customer in [*vips, *others]:
        _redeem(for_vips, NOW - timedelta(hours=2), customer=customer)
        _redeem(for_readers, NOW - timedelta(hours=2), customer=customer)
    _redeem(for_vips, NOW - timedelta(hours=2))  # no customer: not counted either way
    # when
    alerts = reports.leak_alerts([for_vips, for_readers], now=NOW)
    # then
    assert sorted((alert.campaign.public_code, alert.kind, alert.figures["outside"], alert.figures["known"])
                  for alert in alerts) == [("READERS", "leak_audience", 3, 5), ("VIPONLY", "leak_audience", 3, 5)]
    assert any("segment “VIP”" in alert.message for alert in alerts)
    assert any("audience “Readers”" in alert.message for alert in alerts)


def test_no_audience_alert_when_most_are_members_and_a_fixed_number_of_queries(django_assert_max_num_queries):
    vip = SegmentFactory(name="VIP", rules=[{"field": "tags", "op": "contains", "value": "vip"}])
    campaigns = []
    for index in range(3):
        campaign = _public(public_code=f"VIP{index}", countries=["DE"])
        campaign.segments.set([vip, SegmentFactory(rules=[{"field": "tags", "op": "contains", "value": "gold"}])])
        campaigns.append(campaign)
        for tags in (["vip"], ["vip"], ["vip"], [], ["vip"]):
            _redeem(campaign, NOW - timedelta(hours=1), customer=CustomerFactory(tags=tags))
    with django_assert_max_num_queries(4):
        assert reports.leak_alerts(campaigns, now=NOW) == []


def test_limit_alerts_past_80_percent():
    over_budget = CampaignFactory(name="Spent", budget=10000, discount_total=8001)
    at_budget = CampaignFactory(name="Edge", budget=10000, discount_total=8000)
    capped = CampaignFactory(name="Capped", max_redemptions=10, redemptions_count=9)
    alerts = reports.limit_alerts([over_budget, at_budget, capped])
    assert [(alert.campaign.name, alert.kind, alert.figures["percent"]) for alert in alerts] == [
        ("Spent", "budget", 80), ("Capped", "cap", 90)]


# Dashboard ---------------------------------------------------------------------------------------------

def test_dashboard_figures_are_exact():
    with time_machine.travel(NOW, tick=False):
        active = CampaignFactory(name="Active", budget=10000, discount_total=9000)
        later = CampaignFactory(name="Later", starts_at=NOW + timedelta(days=2), trigger={"type": "birthday"})
        CampaignFactory(name="Paused", is_paused=True)
        CampaignFactory(name="Draft", is_draft=True)
        _redeem(active, NOW - timedelta(hours=1), discount=500)
        _redeem(active, NOW - timedelta(hours=2), discount=700)
        _redeem(active, NOW - timedelta(days=3), discount=1000)
        _redeem(active, NOW - timedelta(days=12), discount=2000)  # last month
        _redeem(active, NOW - timedelta(hours=3), discount=900, currency="GBP")
        figures = reports.dashboard(now=NOW)
    assert [c.name for c in figures.active] == ["Active"]
    assert [c.name for c in figures.scheduled] == ["Later"]
    assert figures.redemptions_today == 3
    assert figures.discount_today == {"EUR": 1200, "GBP": 900}
    assert figures.spent_this_month == {"EUR": 2200, "GBP": 900}
    assert [c.name for c in figures.budgets] == ["Active"]
    assert [(alert.kind, alert.campaign.name) for alert in figures.alerts] == [("budget", "Active")]
    assert [c.name for c in figures.triggered] == ["Later"]
    assert sum(count for _day, count in figures.series) == 5
    assert later


def test_triggers_in_words():
    cases = [
        ({"type": "birthday", "days_before": 3, "send_time": "09:00", "timezone": "Europe/Berlin"},
         "3 days before each birthday, at 09:00 (Europe/Berlin)"),
        ({"type": "welcome", "on": "signup"}, "Right after sign-up"),
        ({"type": "win_back", "days_since_last_order": 180, "cooldown_days": 90, "send_time": "10:00"},
         "180 days after the last order, at most every 90 days, at 10:00"),
        ({"type": "anniversary", "attribute": "metadata.first_shoes_purchase", "offset_days": 182, "repeat": "once"},
         "182 days after first shoes purchase, once"),
    ]
    for trigger, words in cases:
        assert reports.describe_trigger(trigger) == words


def test_next_firings_read_the_beat_task():
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    campaign = CampaignFactory(name="Birthdays", trigger={"type": "birthday", "send_time": "09:00"})
    other = CampaignFactory(name="Win back", trigger={"type": "win_back", "days_since_last_order": 180})
    crontab = CrontabSchedule.objects.create(minute="0", hour="9", timezone="UTC")
    PeriodicTask.objects.create(name="birthdays", task="campaigns.run_trigger", crontab=crontab,
                                kwargs=f'{{"campaign_id": {campaign.pk}}}')
    with time_machine.travel(NOW, tick=False):
        firings = reports.next_firings([other, campaign], now=NOW)
    assert [(firing.campaign.name, firing.next_run) for firing in firings] == [
        ("Birthdays", datetime(2026, 12, 11, 9, 0, tzinfo=UTC)), ("Win back", None)]


def test_rules_in_words():
    campaign = CampaignFactory(percent=15, max_amount=2000, min_order_amount=5000, countries=["DE", "AT"],
                               first_order_only=True, max_redemptions=500, max_redemptions_per_customer=1,
                               budget=100000)
    assert " · ".join(reports.describe_rules(campaign)) == (
        "15% off, at most 20.00 EUR · orders from 50.00 EUR · Germany and Austria · first order only · "
        "500 redemptions in all, 1 per customer · budget 1,000.00 EUR")
    free = CampaignFactory(discount_type=DiscountType.FREE_SHIPPING, percent=None, countries=["DE", "AT", "CH"])
    assert reports.describe_rules(free) == ["Free shipping", "Germany, Austria and Switzerland"]
    guarded = _public(public_code="GUARD", leak_guard_factor=5, leak_guard_auto_pause=True)
    assert reports.describe_rules(guarded)[-1] == (
        "pauses itself on a leak (over 5× its pace, or mostly outside its audience)")


def test_month_grid_places_campaigns_in_lanes():
    first = CampaignFactory(name="A", starts_at=datetime(2026, 12, 1, tzinfo=UTC),
                            ends_at=datetime(2026, 12, 5, tzinfo=UTC))
    CampaignFactory(name="B", starts_at=datetime(2026, 12, 3, tzinfo=UTC), ends_at=datetime(2026, 12, 10, tzinfo=UTC))
    CampaignFactory(name="C", starts_at=datetime(2026, 12, 7, tzinfo=UTC), ends_at=datetime(2026, 12, 8, tzinfo=UTC))
    CampaignFactory(name="Old", starts_at=datetime(2026, 10, 1, tzinfo=UTC), ends_at=datetime(2026, 10, 8, tzinfo=UTC))
    weeks = reports.month_grid(date(2026, 12, 1), now=NOW)
    assert weeks[0][0].day == date(2026, 11, 30) and weeks[-1][-1].day == date(2027, 1, 3)
    days = {cell.day: cell for week in weeks for cell in week}
    names = lambda day: [lane[0].campaign.name if lane else None for lane in days[day].lanes]  # noqa: E731
    assert names(date(2026, 12, 4)) == ["A", "B"]
    assert names(date(2026, 12, 7)) == ["C", "B"]  # C reuses A's lane
    assert names(date(2026, 12, 9)) == [None, "B"]
    assert days[date(2026, 12, 1)].lanes[0][1] is True  # starts here
    assert days[date(2026, 12, 4)].lanes[0][2] is True  # ends here (ends_at is midnight of the 5th)
    assert first

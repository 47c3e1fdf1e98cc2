"""Read-only figures for the marketer's pages: status conditions, counters, daily series, forecasts, alerts.

Every function runs a fixed number of queries whatever the number of campaigns, codes or redemptions,
so the pages that call them stay fast as the shop grows.
"""

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.discounts import OrderInput, OrderLine, compute_discount, eligible_amount
from campaigns.models import Campaign, CampaignStatus, CampaignType, Code, DiscountType, Redemption, RedemptionStatus
from campaigns.queries import redemption_counters, status_condition, with_counters
from retention.models import Order, OrderStatus, Segment
from retention.money import format_money
from retention.segments import customers_in
from retention.time import zone_or_utc

DEFAULT_LEAK_FACTOR = 3  # a public campaign without its own factor is flagged at 3 × its usual pace
LEAK_MIN_REDEMPTIONS = 10  # below this, a jump is noise (2 redemptions after a quiet week is no leak)
LEAK_OUTSIDE_SHARE = 50  # percent of the last day's redemptions by customers outside the campaign's audience
PACE_DAYS = 7  # the "recent pace" is the average of the last full week
BUDGET_WARNING_PERCENT = 80


# Counters ----------------------------------------------------------------------------------------------

def redemption_rate(redeemed: int, issued: int) -> int | None:
    """Redeemed codes per issued code, in whole percent; None when nothing was issued."""
    return round(redeemed * 100 / issued) if issued else None


@dataclass(frozen=True)
class Counters:
    issued: int
    redeemed: int
    discount_total: int
    revenue: int
    currency: str

    @property
    def rate(self) -> int | None:
        return redemption_rate(self.redeemed, self.issued)


def campaign_counters(campaign: Campaign) -> Counters:
    """Issued, redeemed and discount come from the campaign's counters (queries.redemption_counters); revenue
    from its redemptions."""
    revenue = (Redemption.objects.filter(campaign=campaign, status=RedemptionStatus.SUCCEEDED)
               .aggregate(total=Sum("order_amount"))["total"])
    counted = redemption_counters(campaign)
    return Counters(issued=campaign.codes_issued, redeemed=counted.redemptions,
                    discount_total=counted.discount_total, revenue=revenue or 0, currency=campaign.currency)


# Series ------------------------------------------------------------------------------------------------

def daily_redemptions(*, campaign: Campaign | None = None, days: int = 30, now: datetime | None = None,
                      zone_name: str | None = None) -> list[tuple[date, int]]:
    """Succeeded redemptions per day over the last `days` days (today included), zeros filled in.

    Days are calendar days in `zone_name` (the campaign's own zone by default, else UTC).
    """
    now = now or timezone.now()
    zone = zone_or_utc(zone_name or (campaign.timezone if campaign else None))
    today = timezone.localdate(now, timezone=zone)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    redemptions = Redemption.objects.filter(status=RedemptionStatus.SUCCEEDED, created_at__gte=since,
                                            created_at__lte=now)
    if campaign is not None:
        redemptions = redemptions.filter(campaign=campaign)
    counts = dict(redemptions.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day")
                  .annotate(n=Count("pk")).values_list("day", "n"))
    return [(first + timedelta(days=offset), counts.get(first + timedelta(days=offset), 0))
            for offset in range(days)]


# Forecasts ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DraftForecast:
    """What the campaign would have done over the last `days` days, had it been live."""

    days: int
    orders: int  # paid orders in the window
    qualifying: int  # of which would have qualified under the campaign's rules
    discount_total: int  # what their discounts would have cost, capped by the campaign's limits
    currency: str

    @property
    def share(self) -> int | None:
        return round(self.qualifying * 100 / self.orders) if self.orders else None


def draft_forecast(campaign: Campaign, *, now: datetime | None = None, days: int = 30) -> DraftForecast:
    """Replay the last `days` days of paid orders against the campaign's order rules.

    Checked: currency, countries, segments, first order only, minimum amount, eligible items. Codes are not
    simulated, so per-code limits and gift-card balances are left out; the campaign's total cap and budget
    are applied in order of the orders' dates. Free shipping costs nothing here (orders carry no shipping).
    """
    now = now or timezone.now()
    orders = (Order.objects.filter(status=OrderStatus.PAID, created_at__gte=now - timedelta(days=days),
                                   created_at__lte=now)
              .select_related("customer").prefetch_related("items").order_by("created_at", "pk"))
    total_orders = orders.count()
    if campaign.currency:
        orders = orders.filter(currency=campaign.currency)
    if campaign.countries:
        orders = orders.filter(customer__country__in=campaign.countries)
    if campaign.min_order_amount:
        orders = orders.filter(amount__gte=campaign.min_order_amount)
    if campaign.first_order_only:
        earlier = Order.objects.filter(customer=OuterRef("customer"), status=OrderStatus.PAID,
                                       created_at__lt=OuterRef("created_at"))
        orders = orders.filter(~Exists(earlier))
    segments = list(campaign.segments.all()) if campaign.pk else []
    if segments:
        in_any = Q()
        for segment in segments:
            in_any |= Q(customer__in=customers_in(segment, now))
        orders = orders.filter(in_any)

    probe = Code(campaign=campaign, code="FORECAST")  # compute_discount reads the campaign through a code
    if campaign.discount_type == DiscountType.GIFT_CARD:
        probe.balance = campaign.gift_card_balance or 0
    per_customer: dict[int, int] = defaultdict(int)
    qualifying = discount_total = 0
    for order in orders.iterator(chunk_size=2000):
        lines = tuple(OrderLine(sku=item.sku, quantity=item.quantity, unit_price=item.unit_price,
                                category=item.category) for item in order.items.all())
        order_input = OrderInput(amount=order.amount, currency=order.currency, items=lines)
        if lines and not eligible_amount(probe, lines, order.amount):
            continue
        if campaign.discount_type == DiscountType.UNIT and not any(line.sku == campaign.unit_sku for line in lines):
            continue
        cap = campaign.max_redemptions_per_customer
        if cap is not None and per_customer[order.customer_id] >= cap:
            continue
        if campaign.max_redemptions is not None and qualifying >= campaign.max_redemptions:
            break
        discount = compute_discount(probe, order_input)
        if campaign.budget is not None and discount_total + discount > campaign.budget:
            break
        per_customer[order.customer_id] += 1
        qualifying += 1
        discount_total += discount
    return DraftForecast(days=days, orders=total_orders, qualifying=qualifying, discount_total=discount_total,
                         currency=campaign.currency)


@dataclass(frozen=True)
class RunOut:
    """When a running campaign's cap or budget runs out at the pace of the last week."""

    limit: str  # "redemptions" or "budget"
    on: date | None  # None: not within its schedule, or no pace yet
    per_day: float  # redemptions (or minor units of discount) per day
    before_end: bool  # True when `on` falls before the campaign's end


def run_out_forecast(campaign: Campaign, *, now: datetime | None = None) -> RunOut | None:
    """The first of the cap and the budget to run out at the last week's pace; None without either limit."""
    if campaign.max_redemptions is None and campaign.budget is None:
        return None
    now = now or timezone.now()
    week = (Redemption.objects.filter(campaign=campaign, status=RedemptionStatus.SUCCEEDED,
                                      created_at__gte=now - timedelta(days=PACE_DAYS), created_at__lte=now)
            .aggregate(n=Count("pk"), discount=Sum("discount_amount")))
    today = timezone.localdate(now, timezone=zone_or_utc(campaign.timezone))
    candidates = []
    counted = redemption_counters(campaign)
    if campaign.max_redemptions is not None:
        candidates.append(("redemptions", campaign.max_redemptions - counted.redemptions, week["n"] or 0))
    if campaign.budget is not None:
        candidates.append(("budget", campaign.budget - counted.discount_total, week["discount"] or 0))
    best: RunOut | None = None
    for limit, remaining, in_week in candidates:
        per_day = in_week / PACE_DAYS
        if remaining <= 0:
            on = today
        elif per_day:
            # Integer arithmetic for the day count: remaining / (in_week / 7), rounded up.
            on = today + timedelta(days=math.ceil(remaining * PACE_DAYS / in_week))
        else:
            on = None
        ends = _local_day(campaign.ends_at, campaign) if campaign.ends_at else None
        before_end = on is not None and (ends is None or on <= ends)
        forecast = RunOut(limit=limit, on=on, per_day=per_day, before_end=before_end)
        if best is None or (forecast.on is not None and (best.on is None or forecast.on < best.on)):
            best = forecast
    return best


# Alerts ------------------------------------------------------------------------------------------------

@dataclass
class Alert:
    campaign: Campaign
    kind: str  # "leak_pace", "leak_audience", "budget", "cap"
    message: str
    level: str = "warning"
    figures: dict = field(default_factory=dict)


def _audience_segments(public: dict[int, Campaign]) -> dict[int, tuple[list[Segment], Segment | None]]:
    """Per public campaign: its rules' segments (a customer must be in one) and its audience segment."""
    rules: dict[int, list[Segment]] = defaultdict(list)
    for link in Campaign.segments.through.objects.filter(campaign_id__in=public).select_related("segment"):
        rules[link.campaign_id].append(link.segment)
    audience_ids = {campaign.segment_id for campaign in public.values() if campaign.segment_id}
    audience = Segment.objects.in_bulk(audience_ids) if audience_ids else {}
    return {campaign_id: (rules.get(campaign_id, []), audience.get(campaign.segment_id))
            for campaign_id, campaign in public.items()}


def _audience_words(campaign: Campaign, rule_segments: list[Segment], audience: Segment | None) -> str:
    words = []
    if campaign.countries:
        words.append(", ".join(campaign.countries))
    if rule_segments:
        words.append(" or ".join(f"segment “{segment.name}”" for segment in rule_segments))
    if audience is not None:
        words.append(f"audience “{audience.name}”")
    return "; ".join(words)


def _inside(row: dict, campaign: Campaign, rule_segments: list[Segment], audience: Segment | None) -> bool:
    """Whether a grouped redemption row's customer is in the campaign's audience (as the rules would judge)."""
    countries = {country.upper() for country in campaign.countries}
    return ((not countries or (row["customer__country"] or "").upper() in countries)
            and (not rule_segments or any(row[f"in_segment_{segment.pk}"] for segment in rule_segments))
            and (audience is None or bool(row[f"in_segment_{audience.pk}"])))


def leak_alerts(campaigns: list[Campaign], *, now: datetime | None = None) -> list[Alert]:
    """Leak-guard alerts for the public campaigns among `campaigns` (at most four queries in all).

    "Last day" is the last 24 hours, compared with the daily average of the 7 days before it, so the alert
    does not depend on whose midnight it is. A public code is flagged when
    - the last day's redemptions reach LEAK_MIN_REDEMPTIONS and exceed the campaign's factor (default 3)
      times the daily pace ("leak_pace"); or
    - the campaign has an audience (countries, segments in its rules, or an audience segment) and more than
      half of the last day's redemptions (at least LEAK_MIN_REDEMPTIONS // 2 with a known customer) came
      from customers outside it ("leak_audience"). Membership is judged now, by the segments' rules, so a
      customer who has left the audience since counts as outside.
    """
    now = now or timezone.now()
    public = {campaign.pk: campaign for campaign in campaigns if campaign.type == CampaignType.PUBLIC}
    if not public:
        return []
    day_start = now - timedelta(days=1)
    week_start = day_start - timedelta(days=PACE_DAYS)
    succeeded = Redemption.objects.filter(campaign_id__in=public, status=RedemptionStatus.SUCCEEDED,
                                          created_at__lte=now)
    week = dict(succeeded.filter(created_at__gte=week_start, created_at__lt=day_start)
                .values("campaign_id").annotate(n=Count("pk")).values_list("campaign_id", "n"))
    audiences = _audience_segments(public)
    # One EXISTS flag per segment any of these campaigns names, so one grouped query answers every campaign.
    segments = {segment.pk: segment for rule_segments, audience in audiences.values()
                for segment in [*rule_segments, *([audience] if audience else [])]}
    flags = {f"in_segment_{pk}": Exists(customers_in(segment, now).filter(pk=OuterRef("customer_id")))
             for pk, segment in segments.items()}
    last_day: dict[int, list[tuple[dict, int]]] = defaultdict(list)
    known_customer = ExpressionWrapper(Q(customer_id__isnull=False), output_field=BooleanField())
    for row in (succeeded.filter(created_at__gte=day_start).annotate(known=known_customer, **flags)
                .values("campaign_id", "customer__country", "known", *flags).annotate(n=Count("pk"))):
        last_day[row["campaign_id"]].append((row, row["n"]))
    alerts = []
    for campaign_id, rows in last_day.items():
        campaign = public[campaign_id]
        count = sum(n for _row, n in rows)
        pace = week.get(campaign_id, 0) / PACE_DAYS
        factor = campaign.leak_guard_factor or DEFAULT_LEAK_FACTOR
        if count >= LEAK_MIN_REDEMPTIONS and count > factor * pace:
            alerts.append(Alert(
                campaign=campaign, kind="leak_pace", level="error",
                message=(f"{count} redemptions of “{campaign.name}” in the last 24 hours, against "
                         f"{pace:.1f} a day over the week before. The public code may have leaked."),
                figures={"last_day": count, "pace": pace, "factor": factor},
            ))
        rule_segments, audience = audiences[campaign_id]
        if not (campaign.countries or rule_segments or audience):
            continue
        known = sum(n for row, n in rows if row["known"])
        outside = sum(n for row, n in rows if row["known"] and not _inside(row, campaign, rule_segments, audience))
        if known >= LEAK_MIN_REDEMPTIONS // 2 and outside * 100 > known * LEAK_OUTSIDE_SHARE:
            alerts.append(Alert(
                campaign=campaign, kind="leak_audience", level="error",
                message=(f"{outside} of the last 24 hours' {known} redemptions of “{campaign.name}” came "
                         f"from customers outside its audience "
                         f"({_audience_words(campaign, rule_segments, audience)})."),
                figures={"outside": outside, "known": known},
            ))
    return alerts


def limit_alerts(campaigns: QuerySet[Campaign] | list[Campaign]) -> list[Alert]:
    """Campaigns past BUDGET_WARNING_PERCENT of their budget or of their redemption cap (no query for
    campaigns read `with_counters`)."""
    alerts = []
    for campaign in campaigns:
        if not (campaign.budget or campaign.max_redemptions):
            continue
        counted = redemption_counters(campaign)
        if campaign.budget and counted.discount_total * 100 > campaign.budget * BUDGET_WARNING_PERCENT:
            percent = counted.discount_total * 100 // campaign.budget
            alerts.append(Alert(campaign=campaign, kind="budget", figures={"percent": percent},
                                message=f"“{campaign.name}” has spent {percent} % of its budget."))
        cap = campaign.max_redemptions
        if cap and counted.redemptions * 100 > cap * BUDGET_WARNING_PERCENT:
            percent = counted.redemptions * 100 // campaign.max_redemptions
            alerts.append(Alert(campaign=campaign, kind="cap",
                                message=f"“{campaign.name}” has used {percent} % of its {campaign.max_redemptions} "
                                        f"redemptions.",
                                figures={"percent": percent}))
    return alerts


# Dashboard ---------------------------------------------------------------------------------------------

@dataclass
class Dashboard:
    active: list[Campaign]
    scheduled: list[Campaign]
    redemptions_today: int
    discount_today: dict[str, int]
    series: list[tuple[date, int]]
    spent_this_month: dict[str, int]  # currency -> discount of this month's redemptions
    budgets: list[Campaign]  # live campaigns with a budget, most spent first
    alerts: list[Alert]
    triggered: list[Campaign]


def dashboard(*, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries (days are UTC days)."""
    now = now or timezone.now()
    live = list(with_counters(Campaign.objects.filter(status_condition(CampaignStatus.ACTIVE, now)
                                                      | status_condition(CampaignStatus.SCHEDULED, now)
                                                      | status_condition(CampaignStatus.PAUSED, now)))
                .order_by("starts_at", "name"))
    active = [campaign for campaign in live if campaign.status_at(now) == CampaignStatus.ACTIVE]
    scheduled = [campaign for campaign in live if campaign.status_at(now) == CampaignStatus.SCHEDULED]
    today = timezone.localdate(now)
    day_start = datetime.combine(today, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    month_start = day_start.replace(day=1)
    succeeded = Redemption.objects.filter(status=RedemptionStatus.SUCCEEDED, created_at__lte=now)
    spent: dict[str, int] = {}
    discount_today: dict[str, int] = {}
    redemptions_today = 0
    for currency, is_today, n, discount in (
        succeeded.filter(created_at__gte=min(month_start, day_start))
        .annotate(is_today=Q(created_at__gte=day_start))
        .values("currency", "is_today").annotate(n=Count("pk"), discount=Sum("discount_amount"))
        .values_list("currency", "is_today", "n", "discount")
    ):
        spent[currency] = spent.get(currency, 0) + (discount or 0)
        if is_today:
            redemptions_today += n
            discount_today[currency] = discount_today.get(currency, 0) + (discount or 0)
    budgets = sorted((campaign for campaign in active if campaign.budget),
                     key=lambda campaign: campaign.counted_discount / campaign.budget, reverse=True)
    alerts = leak_alerts(active, now=now) + limit_alerts(active)
    triggered = [campaign for campaign in live if campaign.trigger]
    return Dashboard(active=active, scheduled=scheduled, redemptions_today=redemptions_today,
                     discount_today=discount_today, series=daily_redemptions(days=30, now=now, zone_name="UTC"),
                     spent_this_month=spent, budgets=budgets, alerts=alerts, triggered=triggered)


# Calendar ----------------------------------------------------------------------------------------------

@dataclass
class CalendarEntry:
    campaign: Campaign
    status: str
    lane: int
    first: date  # first local day the campaign runs (its start, or its creation without one)
    last: date | None  # last local day it runs; None: open-ended


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    lanes: list  # one item per lane: (entry, starts_here, ends_here, show_name) or None for a gap


def parse_month(text: str | None, *, today: date) -> date:
    """"2026-12" -> date(2026, 12, 1); empty -> this month. Raises ValueError on anything else."""
    if not text:
        return today.replace(day=1)
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def month_grid(month: date, *, now: datetime | None = None) -> list[list[CalendarDay]]:
    """Weeks (Monday first) covering `month`, each day with the campaigns running on it, in stable lanes.

    Dates are each campaign's own local days. Lanes are assigned greedily by start, reusing a lane once its
    campaign has ended, so a bar keeps its row across the month (one query).
    """
    now = now or timezone.now()
    grid_start = month - timedelta(days=month.weekday())
    following = (month + timedelta(days=32)).replace(day=1)
    last_of_month = following - timedelta(days=1)
    grid_end = last_of_month + timedelta(days=6 - last_of_month.weekday())
    window_start = datetime.combine(grid_start - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    window_end = datetime.combine(grid_end + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    campaigns = Campaign.objects.filter(
        (Q(starts_at__lt=window_end) | Q(starts_at__isnull=True, created_at__lt=window_end))
        & (Q(ends_at__isnull=True) | Q(ends_at__gte=window_start))
    ).order_by("starts_at", "created_at", "pk")
    entries: list[CalendarEntry] = []
    lane_ends: list[date | None] = []  # the last day of the entry currently holding each lane
    for campaign in sorted(campaigns, key=lambda c: (_local_day(c.starts_at or c.created_at, c), c.pk)):
        first = _local_day(campaign.starts_at or campaign.created_at, campaign)
        # ends_at is exclusive (status_at: ended at ends_at), so a midnight end belongs to the day before.
        last = _local_day(campaign.ends_at - timedelta(microseconds=1), campaign) if campaign.ends_at else None
        if last is not None and (last < grid_start or first > grid_end):
            continue
        lane = next((index for index, end in enumerate(lane_ends) if end is not None and end < first), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(last)
        else:
            lane_ends[lane] = last
        entries.append(CalendarEntry(campaign=campaign, status=campaign.status_at(now), lane=lane, first=first,
                                     last=last))
    weeks: list[list[CalendarDay]] = []
    day = grid_start
    while day <= grid_end:
        week = []
        for _ in range(7):
            lanes: list = [None] * len(lane_ends)
            for entry in entries:
                if entry.first <= day and (entry.last is None or day <= entry.last):
                    starts, ends = entry.first == day, entry.last == day
                    lanes[entry.lane] = (entry, starts, ends, starts or day.weekday() == 0 or day == grid_start)
            week.append(CalendarDay(day=day, in_month=day.month == month.month, lanes=lanes))
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def _local_day(moment: datetime, campaign: Campaign) -> date:
    return timezone.localdate(moment, timezone=zone_or_utc(campaign.timezone))


# Triggers ----------------------------------------------------------------------------------------------

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def describe_trigger(trigger: dict | None) -> str:
    """A trigger (API.md "Triggers") in words: "3 days before each birthday, at 09:00 (Europe/Berlin)"."""
    if not trigger:
        return ""
    kind = trigger.get("type")
    at = f", at {trigger['send_time']}" if trigger.get("send_time") else ""
    zone = f" ({trigger['timezone']})" if trigger.get("timezone") else ""
    if kind == "welcome":
        return "Right after the first order" if trigger.get("on") == "first_order" else "Right after sign-up"
    if kind == "birthday":
        before = trigger.get("days_before") or 0
        lead = f"{before} day{'s' if before != 1 else ''} before each birthday" if before else "On each birthday"
        return f"{lead}{at}{zone}"
    if kind == "anniversary":
        attribute = str(trigger.get("attribute", "")).removeprefix("metadata.").replace("_", " ")
        offset = trigger.get("offset_days") or 0
        when = f"{offset} days after {attribute}" if offset else f"On the anniversary of {attribute}"
        repeat = ", once" if trigger.get("repeat") == "once" else ""
        return f"{when}{repeat}{at}{zone}"
    if kind == "win_back":
        cooldown = f", at most every {trigger['cooldown_days']} days" if trigger.get("cooldown_days") else ""
        return f"{trigger.get('days_since_last_order')} days after the last order{cooldown}{at}{zone}"
    return str(kind or "Trigger")


@dataclass
class Firing:
    campaign: Campaign
    description: str
    next_run: datetime | None


def next_firings(campaigns: list[Campaign], *, now: datetime | None = None) -> list[Firing]:
    """The triggered campaigns with their beat task's next run when one exists (one query), soonest first."""
    from django_celery_beat.models import PeriodicTask

    now = now or timezone.now()
    if not campaigns:
        return []
    by_campaign = {}
    tasks = PeriodicTask.objects.filter(enabled=True, task__startswith="campaigns.").select_related("crontab")
    ids = {campaign.pk for campaign in campaigns}
    for task in tasks:
        campaign_id = _task_campaign_id(task)
        if campaign_id in ids:
            by_campaign[campaign_id] = task
    firings = []
    for campaign in campaigns:
        task = by_campaign.get(campaign.pk)
        next_run = None
        if task is not None and task.crontab_id:
            try:
                next_run = now + task.schedule.remaining_estimate(task.last_run_at or now)
            except Exception:  # a hand-edited crontab must not break the dashboard
                next_run = None
        firings.append(Firing(campaign=campaign, description=describe_trigger(campaign.trigger), next_run=next_run))
    return sorted(firings, key=lambda firing: (firing.next_run is None, firing.next_run or now, firing.campaign.name))


def _task_campaign_id(task) -> int | None:
    try:
        kwargs = json.loads(task.kwargs or "{}")
        args = json.loads(task.args or "[]")
    except ValueError:
        return None
    value = kwargs.get("campaign_id", args[0] if args else None)
    return value if isinstance(value, int) else None


# Rules in words ----------------------------------------------------------------------------------------

# Names of the countries shops here sell to most; any other shows as its ISO code.
COUNTRY_NAMES = {
    "AT": "Austria", "BE": "Belgium", "CH": "Switzerland", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "the United Kingdom", "GR": "Greece", "HU": "Hungary",
    "IE": "Ireland", "IT": "Italy", "LU": "Luxembourg", "NL": "the Netherlands", "NO": "Norway", "PL": "Poland",
    "PT": "Portugal", "RO": "Romania", "SE": "Sweden", "SK": "Slovakia", "SI": "Slovenia", "US": "the United States",
    "CA": "Canada", "AU": "Australia",
}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe_discount(campaign: Campaign) -> str:
    currency = campaign.currency
    kind = campaign.discount_type
    if kind == DiscountType.PERCENT:
        cap = f", at most {format_money(campaign.max_amount, currency)}" if campaign.max_amount else ""
        return f"{campaign.percent or 0}% off{cap}"
    if kind == DiscountType.AMOUNT:
        return f"{format_money(campaign.amount or 0, currency)} off"
    if kind == DiscountType.FREE_SHIPPING:
        return "Free shipping"
    if kind == DiscountType.UNIT:
        quantity = campaign.unit_quantity or 1
        return f"{quantity} free unit{'s' if quantity != 1 else ''} of {campaign.unit_sku}"
    return f"Gift card of {format_money(campaign.gift_card_balance or 0, currency)}"


def describe_rules(campaign: Campaign) -> list[str]:
    """The discount and its limits as short phrases, joined with " · " on the page (segments prefetched)."""
    currency = campaign.currency
    parts = [describe_discount(campaign)]
    if campaign.min_order_amount:
        parts.append(f"orders from {format_money(campaign.min_order_amount, currency)}")
    if campaign.countries:
        parts.append(_and([COUNTRY_NAMES.get(code, code) for code in campaign.countries]))
    segments = [segment.name for segment in campaign.segments.all()] if campaign.pk else []
    if segments:
        parts.append(f"customers in {' or '.join(segments)}")
    if campaign.first_order_only:
        parts.append("first order only")
    if campaign.assigned_only:
        parts.append("only for the customer it was issued to")
    if campaign.include_skus or campaign.include_categories:
        parts.append(f"only on {_and(campaign.include_skus + campaign.include_categories)}")
    if campaign.exclude_skus or campaign.exclude_categories:
        parts.append(f"never on {_and(campaign.exclude_skus + campaign.exclude_categories)}")
    caps = []
    if campaign.max_redemptions:
        caps.append(f"{campaign.max_redemptions:,} redemptions in all")
    if campaign.max_redemptions_per_customer:
        caps.append(f"{campaign.max_redemptions_per_customer} per customer")
    if caps:
        parts.append(", ".join(caps))
    if campaign.budget:
        parts.append(f"budget {format_money(campaign.budget, currency)}")
    if campaign.code_valid_days:
        parts.append(f"codes valid {campaign.code_valid_days} days")
    if campaign.type == CampaignType.PUBLIC and campaign.leak_guard_auto_pause:
        factor = campaign.leak_guard_factor or DEFAULT_LEAK_FACTOR
        parts.append(f"pauses itself on a leak (over {factor}× its pace, or mostly outside its audience)")
    return parts

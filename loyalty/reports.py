"""The program dashboard's figures, computed in the database (a fixed number of queries).

Definitions (the dashboard says them too):
- member: a customer whose account in the program has at least one ledger entry (an account opened by a
  sign-up with no bonus and no order yet is not counted);
- active member: a member with an earning entry (earn or pending) or a spend in the last 90 days;
- points issued: earned points (spendable at once or pending until the return window ends), so each order
  counts once, in the month it earned; releases, reversals and adjustments are not "issued";
- spent and expired: the spend and expire entries, as positive numbers;
- repeat purchase rate: of the customers with at least one paid order, the share with two or more;
- time between purchases: (last order - first order) / (paid orders - 1), summed over customers with at
  least two paid orders and divided by their gaps, i.e. the mean gap between consecutive purchases.
  Both come from the customer's paid-order aggregates kept by retention.services.orders.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, LoyaltyProgram, RewardRedemption
from retention.models import Customer

ACTIVE_DAYS = 90
MONTHS = 12
EARNING_KINDS = (EntryKind.EARN, EntryKind.PENDING)


@dataclass(frozen=True)
class MonthPoints:
    month: date
    issued: int
    spent: int
    expired: int


@dataclass(frozen=True)
class PurchaseFigures:
    customers: int  # with at least one paid order
    repeat_customers: int  # with two or more
    repeat_rate_percent: float | None  # one decimal; None without customers
    average_days_between: float | None  # one decimal; None without a repeat customer


@dataclass(frozen=True)
class ProgramDashboard:
    members: int
    active_members: int
    months: list[MonthPoints]
    redemptions_total: int
    redemptions_recent: int  # last 30 days
    points_spent_on_rewards: int
    top_rewards: list[tuple[str, int]]
    members_purchases: PurchaseFigures
    others_purchases: PurchaseFigures


def month_starts(now: datetime, count: int = MONTHS) -> list[date]:
    """The first days of the last `count` months, oldest first, the current month last (UTC)."""
    year, month = now.year, now.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def _member_accounts(program: LoyaltyProgram):
    has_entry = LedgerEntry.objects.filter(account=OuterRef("pk"))
    return LoyaltyAccount.objects.filter(program=program).filter(Exists(has_entry))


def points_per_month(program: LoyaltyProgram, now: datetime) -> list[MonthPoints]:
    starts = month_starts(now)
    since = timezone.make_aware(datetime(starts[0].year, starts[0].month, 1), timezone.get_fixed_timezone(0))
    rows = (LedgerEntry.objects.filter(account__program=program, created_at__gte=since)
            .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_fixed_timezone(0)))
            .values("month")
            .annotate(
                issued=Coalesce(Sum(F("points") + F("pending_points"), filter=Q(kind__in=EARNING_KINDS)), 0),
                spent=Coalesce(Sum("points", filter=Q(kind=EntryKind.SPEND)), 0),
                expired=Coalesce(Sum("points", filter=Q(kind=EntryKind.EXPIRE)), 0),
            ))
    by_month = {}
    for row in rows:
        month = row["month"]
        key = month.date() if isinstance(month, datetime) else month
        by_month[key] = row
    months = []
    for start in starts:
        row = by_month.get(start, {})
        months.append(MonthPoints(month=start, issued=int(row.get("issued", 0)), spent=-int(row.get("spent", 0)),
                                  expired=-int(row.get("expired", 0))))
    return months


def purchase_figures(customers) -> PurchaseFigures:
    gap = ExpressionWrapper(F("last_order_at") - F("first_order_at"), output_field=DurationField())
    figures = customers.aggregate(
        buyers=Count("pk", filter=Q(orders_count__gte=1)),
        repeaters=Count("pk", filter=Q(orders_count__gte=2)),
        span=Sum(gap, filter=Q(orders_count__gte=2)),
        gaps=Sum(F("orders_count") - 1, filter=Q(orders_count__gte=2)),
    )
    buyers, repeaters = figures["buyers"], figures["repeaters"]
    rate = round(repeaters * 100 / buyers, 1) if buyers else None
    span, gaps = figures["span"], figures["gaps"]
    if isinstance(span, int):  # some backends hand back microseconds
        span = timedelta(microseconds=span)
    days = round(span.total_seconds() / 86400 / gaps, 1) if span is not None and gaps else None
    return PurchaseFigures(customers=buyers, repeat_customers=repeaters, repeat_rate_percent=rate,
                           average_days_between=days)


def program_dashboard(program: LoyaltyProgram, *, now: datetime | None = None) -> ProgramDashboard:
    now = now or timezone.now()
    members = _member_accounts(program)
    recent_activity = LedgerEntry.objects.filter(
        account=OuterRef("pk"), created_at__gte=now - timedelta(days=ACTIVE_DAYS),
        kind__in=[*EARNING_KINDS, EntryKind.SPEND])
    redemptions = RewardRedemption.objects.filter(reward__program=program)
    totals = redemptions.aggregate(
        total=Count("pk"), recent=Count("pk", filter=Q(created_at__gte=now - timedelta(days=30))),
        points=Coalesce(Sum("points_spent"), 0))
    top = list(redemptions.values("reward__name").annotate(count=Count("pk")).order_by("-count", "reward__name")[:5])
    is_member = Exists(members.filter(customer=OuterRef("pk")))
    living = Customer.objects.filter(erased_at__isnull=True)
    return ProgramDashboard(
        members=members.count(),
        active_members=members.filter(Exists(recent_activity)).count(),
        months=points_per_month(program, now),
        redemptions_total=totals["total"], redemptions_recent=totals["recent"],
        points_spent_on_rewards=totals["points"],
        top_rewards=[(row["reward__name"], row["count"]) for row in top],
        members_purchases=purchase_figures(living.filter(is_member)),
        others_purchases=purchase_figures(living.exclude(is_member)),
    )

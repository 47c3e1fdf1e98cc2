"""Who a calendar trigger reaches, as set-based querysets: API.md "Triggers".

A customer's occasion falls on a day of THEIR time zone (blank or unknown: the trigger's `timezone`, else the
campaign's). A tick at `now` groups the customers by time zone (there are few distinct zones), computes each
zone's local date and time once, and asks one indexed query per group of zones that share a local date:
birthdays by the stored (birthday_month, birthday_day) index, sign-up anniversaries by the expression index
on signed_up_at's month/day, win-back by the last_order_at index. Only the few thousand customers whose
occasion is today reach Python (split, hold-out and rules are judged on those, never on all customers).

Sign-up anniversaries use signed_up_at's UTC calendar date (the indexed one), as the segment engine does;
the day they are celebrated on is still the customer's local day. Metadata dates are ISO strings
("2025-05-10" or a full timestamp): their first ten characters are the date.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr
from django.utils import timezone

from campaigns.ab import in_split, is_holdout
from campaigns.models import CalendarSend, Campaign, SendStatus
from retention.messaging.consent import marketing_allowed_ids
from retention.messaging.models import Channel, Delivery, MessageKind
from retention.messaging.services.deliveries import CAPPED_STATUSES, frequency_cap
from retention.models import Customer
from retention.segments import customers_in
from retention.time import is_valid_zone, zone_or_utc

SCHEDULED_TYPES = ("birthday", "anniversary", "win_back")
DEFAULT_SEND_TIME = time(9, 0)
CHUNK = 900  # ids per IN (...) list, under SQLite's parameter limit
SKIP_RETRY_DAYS = 7  # a win-back with a cooldown decides a skipped customer again after this many days


class SkipReason:
    """Why a customer's occasion was decided without a code (CalendarSend.skip_reason, run counts)."""

    OUTSIDE_SEGMENT = "outside_segment"
    RULE_FAILED = "rule_failed"
    CAP_REACHED = "cap_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    HOLDOUT = "holdout"
    NO_TEMPLATE = "no_template"
    ALREADY_SENT = "already_sent"  # preview only: the run never sees these
    # From messaging: no_consent, frequency_cap, suppressed, no_address.

    LABELS = {
        "outside_segment": "outside the segment", "rule_failed": "a campaign rule failed",
        "cap_reached": "the campaign's redemption cap is reached", "budget_exhausted": "the budget is spent",
        "holdout": "held out (control group)", "no_template": "the campaign has no message template",
        "already_sent": "already received it", "no_consent": "no marketing consent",
        "frequency_cap": "frequency cap", "suppressed": "address suppressed", "no_address": "no address",
    }


@dataclass(frozen=True)
class Trigger:
    type: str
    on: str = "signup"
    days_before: int = 0
    attribute: str = "signed_up_at"
    offset_days: int = 0
    repeat: str = "yearly"
    days_since_last_order: int = 0
    cooldown_days: int | None = None
    send_time: time = DEFAULT_SEND_TIME
    timezone: str = ""

    @classmethod
    def of(cls, campaign: Campaign) -> "Trigger | None":
        """The campaign's trigger JSON read leniently (the campaign service checks its type)."""
        data = campaign.trigger
        if not isinstance(data, dict) or not data.get("type"):
            return None
        send_time = DEFAULT_SEND_TIME
        with suppress(ValueError):
            send_time = time.fromisoformat(str(data.get("send_time") or "09:00"))
        cooldown = data.get("cooldown_days")
        return cls(
            type=str(data["type"]), on=str(data.get("on") or "signup"),
            days_before=_int(data.get("days_before")), attribute=str(data.get("attribute") or "signed_up_at"),
            offset_days=_int(data.get("offset_days")), repeat=str(data.get("repeat") or "yearly"),
            days_since_last_order=_int(data.get("days_since_last_order")),
            cooldown_days=_int(cooldown) if cooldown not in (None, "") else None,
            send_time=send_time, timezone=str(data.get("timezone") or ""),
        )

    @property
    def is_scheduled(self) -> bool:
        return self.type in SCHEDULED_TYPES

    def fallback_zone(self, campaign: Campaign) -> ZoneInfo:
        return zone_or_utc(self.timezone if is_valid_zone(self.timezone) else campaign.timezone)


METADATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
SEND_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def trigger_problems(data: dict) -> dict[str, str]:
    """What is wrong with a trigger object of API.md, by field ("trigger.days_before": reason); {} if nothing.

    Checked on save, so a run never meets a trigger it cannot read (a win-back without days would reach
    everyone who ordered today).
    """
    problems: dict[str, str] = {}
    kind = data.get("type")

    def number(name: str, minimum: int, maximum: int, *, required: bool = False) -> None:
        value = data.get(name)
        if value is None:
            if required:
                problems[f"trigger.{name}"] = f"Required for a {kind} trigger: a whole number of days."
            return
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            problems[f"trigger.{name}"] = f"A whole number from {minimum} to {maximum}."

    if kind == "welcome" and data.get("on", "signup") not in ("signup", "first_order"):
        problems["trigger.on"] = "signup or first_order."
    if kind == "birthday":
        number("days_before", 0, 366)
    if kind == "anniversary":
        attribute = data.get("attribute", "signed_up_at")
        key = attribute.removeprefix("metadata.") if isinstance(attribute, str) else ""
        if attribute != "signed_up_at" and not (attribute.startswith("metadata.") and METADATA_KEY.match(key)
                                                and "__" not in key):
            problems["trigger.attribute"] = "signed_up_at or metadata.<key> (letters, digits and single _)."
        number("offset_days", 0, 3660)
        if data.get("repeat", "yearly") not in ("yearly", "once"):
            problems["trigger.repeat"] = "yearly or once."
    if kind == "win_back":
        number("days_since_last_order", 1, 3660, required=True)
        number("cooldown_days", 1, 3660)
    if kind in SCHEDULED_TYPES:
        send_time = data.get("send_time", "09:00")
        if not (isinstance(send_time, str) and SEND_TIME.fullmatch(send_time)):
            problems["trigger.send_time"] = "A time of day as HH:MM, e.g. 09:00."
        zone = data.get("timezone", "")
        if zone and not (isinstance(zone, str) and is_valid_zone(zone)):
            problems["trigger.timezone"] = "An IANA time zone such as Europe/Berlin, or empty for the campaign's."
    return problems


def _int(value) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_day(month_field: str, day_field: str, day: date) -> Q:
    """Month/day equals `day`'s; on 28 February of a common year, 29 February too."""
    condition = Q(**{month_field: day.month, day_field: day.day})
    if day.month == 2 and day.day == 28 and not is_leap(day.year):
        condition |= Q(**{month_field: 2, day_field: 29})
    return condition


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def occasion_condition(trigger: Trigger, local_date: date, zone: ZoneInfo) -> tuple[Q, str]:
    """(customer filter, occasion key) for customers whose occasion is `local_date` in `zone`."""
    if trigger.type == "birthday":
        birthday = local_date + timedelta(days=trigger.days_before)
        return _month_day("birthday_month", "birthday_day", birthday), f"birthday:{birthday.year}"
    if trigger.type == "anniversary":
        base = local_date - timedelta(days=trigger.offset_days)
        once = trigger.repeat == "once"
        if trigger.attribute.startswith("metadata."):
            key = trigger.attribute.removeprefix("metadata.")
            if once:
                condition = Q(**{"_anniversary_text__startswith": base.isoformat()})
            else:
                condition = Q(_anniversary_year__lt=f"{base.year:04d}") & Q(
                    _anniversary_month_day=f"{base.month:02d}-{base.day:02d}")
                if base.month == 2 and base.day == 28 and not is_leap(base.year):
                    condition = Q(_anniversary_year__lt=f"{base.year:04d}") & Q(
                        _anniversary_month_day__in=["02-28", "02-29"])
            occasion = f"anniversary:{trigger.attribute}" if once else f"anniversary:{trigger.attribute}:{base.year}"
            return condition & Q(**{f"metadata__{key}__isnull": False}), occasion
        if once:
            return Q(signed_up_at__date=base), "anniversary:signed_up_at"
        condition = _month_day("signed_up_at__month", "signed_up_at__day", base) & Q(signed_up_at__year__lt=base.year)
        return condition, f"anniversary:signed_up_at:{base.year}"
    if trigger.type == "win_back":
        lapse_day = local_date - timedelta(days=trigger.days_since_last_order)
        until = _local_midnight(lapse_day + timedelta(days=1), zone)
        if trigger.cooldown_days is None:  # exactly N days ago
            return Q(last_order_at__gte=_local_midnight(lapse_day, zone), last_order_at__lt=until), \
                f"win_back:{local_date.isoformat()}"
        return Q(last_order_at__lt=until), f"win_back:{local_date.isoformat()}"
    return Q(pk__in=[]), ""


def _base_queryset(trigger: Trigger) -> QuerySet[Customer]:
    customers = Customer.objects.filter(erased_at__isnull=True)
    if trigger.type == "anniversary" and trigger.attribute.startswith("metadata."):
        key = trigger.attribute.removeprefix("metadata.")
        customers = customers.alias(_anniversary_text=KeyTextTransform(key, "metadata")).alias(
            _anniversary_year=Substr("_anniversary_text", 1, 4),
            _anniversary_month_day=Substr("_anniversary_text", 6, 5))
    return customers


@dataclass(frozen=True)
class ZoneGroup:
    zone_names: tuple[str, ...]  # Customer.timezone values as stored ("" included for the fallback)
    zone: ZoneInfo
    local_date: date


def zone_groups(campaign: Campaign, trigger: Trigger, now: datetime, *, respect_send_time: bool,
                on_date: date | None = None) -> list[ZoneGroup]:
    """Customers' zones grouped by their local date at `now`; a zone before the send time is left out.

    `on_date` (preview) puts every zone on that date, whatever the time. Win-back keeps one group per zone,
    since its "N days ago" starts at that zone's midnight.
    """
    fallback = trigger.fallback_zone(campaign)
    utc_day = now.astimezone(ZoneInfo("UTC")).date()
    days = [on_date] if on_date else [utc_day + timedelta(days=shift) for shift in (-1, 0, 1)]
    broad = Q()
    for day in days:  # every zone's local day is within a day of UTC's: a cheap indexed superset
        broad |= occasion_condition(trigger, day, ZoneInfo("UTC"))[0] if trigger.type != "win_back" else Q()
    names = set(_base_queryset(trigger).filter(broad).values_list("timezone", flat=True).distinct())
    groups: dict[tuple, list[str]] = defaultdict(list)
    zones: dict[tuple, ZoneInfo] = {}
    for name in sorted(names):
        zone = ZoneInfo(name) if name and is_valid_zone(name) else fallback
        local = now.astimezone(zone)
        if on_date is None and respect_send_time and local.time() < trigger.send_time:
            continue
        local_date = on_date or local.date()
        key = (local_date, str(zone)) if trigger.type == "win_back" else (local_date,)
        groups[key].append(name)
        zones[key] = zone
    return [ZoneGroup(tuple(group), zones[key], key[0]) for key, group in groups.items()]


def due_customers(campaign: Campaign, trigger: Trigger, now: datetime, *, respect_send_time: bool = True,
                  on_date: date | None = None, exclude_sent: bool = True) -> list[tuple[int, str]]:
    """(customer id, occasion) of everyone whose occasion is due at `now`, in the campaign's split, by id.

    Excludes occasions already decided for this campaign (unless `exclude_sent` is False: the preview counts
    them) and, for a win-back with a cooldown, anyone this campaign considered within the cooldown.
    """
    found: list[tuple[int, str]] = []
    for group in zone_groups(campaign, trigger, now, respect_send_time=respect_send_time, on_date=on_date):
        condition, occasion = occasion_condition(trigger, group.local_date, group.zone)
        customers = _base_queryset(trigger).filter(condition, timezone__in=group.zone_names)
        if exclude_sent:
            customers = customers.exclude(Exists(CalendarSend.objects.filter(
                campaign=campaign, customer=OuterRef("pk"), occasion=occasion)))
        if trigger.type == "win_back" and trigger.cooldown_days is not None:
            # Contacted = issued within the cooldown. A skip (no consent, frequency cap...) is decided again
            # after a week at most, so a customer who consents later is reached, without a row a day each.
            contacted = Q(status=SendStatus.ISSUED, created_at__gte=now - timedelta(days=trigger.cooldown_days))
            recently_skipped = Q(created_at__gt=now - timedelta(days=min(trigger.cooldown_days, SKIP_RETRY_DAYS)))
            customers = customers.exclude(Exists(CalendarSend.objects.filter(
                contacted | recently_skipped, campaign=campaign, customer=OuterRef("pk")).exclude(occasion=occasion)))
        found.extend((pk, occasion) for pk in customers.order_by().values_list("pk", flat=True))
    found.sort()
    return [(pk, occasion) for pk, occasion in found if in_split(pk, campaign.split_buckets, campaign.split_bucket)]


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def rule_skips(campaign: Campaign, customer_ids: list[int], now: datetime) -> dict[int, str]:
    """Skip reason per customer id before any message: segment, rules, caps, hold-out ("" = go on).

    Rules are the campaign's countries, rule segments and first-order-only; the hold-out comes last, so the
    control group is drawn from customers who would otherwise have received the code.
    """
    if not customer_ids:
        return {}
    in_segment = _members(campaign.segment, customer_ids, now) if campaign.segment_id else None
    rule_segments = list(campaign.segments.all())
    in_rule_segments = set()
    for segment in rule_segments:
        in_rule_segments |= _members(segment, customer_ids, now)
    facts = {}
    for chunk in _chunks(customer_ids):
        facts.update({row[0]: row[1:] for row in Customer.objects.filter(pk__in=chunk).values_list(
            "pk", "country", "orders_count")})
    countries = {country.upper() for country in campaign.countries}
    cap_reached = campaign.max_redemptions is not None and campaign.redemptions_count >= campaign.max_redemptions
    budget_spent = campaign.budget is not None and campaign.discount_total >= campaign.budget
    reasons = {}
    for pk in customer_ids:
        country, orders_count = facts.get(pk, ("", 0))
        if in_segment is not None and pk not in in_segment:
            reasons[pk] = SkipReason.OUTSIDE_SEGMENT
        elif (countries and (country or "").upper() not in countries) or (
                rule_segments and pk not in in_rule_segments) or (campaign.first_order_only and orders_count > 0):
            reasons[pk] = SkipReason.RULE_FAILED
        elif cap_reached:
            reasons[pk] = SkipReason.CAP_REACHED
        elif budget_spent:
            reasons[pk] = SkipReason.BUDGET_EXHAUSTED
        elif is_holdout(pk, campaign):
            reasons[pk] = SkipReason.HOLDOUT
        else:
            reasons[pk] = ""
    return reasons


def _members(segment, customer_ids: list[int], now: datetime) -> set[int]:
    members: set[int] = set()
    for chunk in _chunks(customer_ids):
        members.update(customers_in(segment, now).filter(pk__in=chunk).values_list("pk", flat=True))
    return members


def message_skips(customer_ids: list[int], channel: str, now: datetime) -> dict[int, str]:
    """What messaging would answer for each customer (no_address, no_consent, frequency_cap); a read-only
    estimate for the preview and dry run. The real run takes messaging's own answer."""
    customers: list[Customer] = []
    for chunk in _chunks(customer_ids):
        customers.extend(Customer.objects.filter(pk__in=chunk))
    allowed = marketing_allowed_ids(customers, channel)
    recent: Counter = Counter()
    for chunk in _chunks(customer_ids):
        recent.update(Delivery.objects.filter(
            customer_id__in=chunk, kind=MessageKind.MARKETING, status__in=CAPPED_STATUSES,
            created_at__gt=now - timedelta(days=7)).values_list("customer_id", flat=True))
    cap = frequency_cap()
    reasons = {}
    for customer in customers:
        if (channel == Channel.EMAIL and not customer.email) or (channel == Channel.SMS and not customer.phone):
            reasons[customer.pk] = "no_address"
        elif customer.pk not in allowed:
            reasons[customer.pk] = "no_consent"
        elif recent[customer.pk] >= cap:
            reasons[customer.pk] = "frequency_cap"
        else:
            reasons[customer.pk] = ""
    return reasons


def next_occasion(trigger: Trigger, customer: Customer, today: date) -> date | None:
    """The next day (from `today`) the trigger's occasion falls on for this customer, or None (panel use)."""
    if trigger.type == "birthday" and customer.birthday_month:
        for year in (today.year, today.year + 1):
            month, day = customer.birthday_month, customer.birthday_day
            if month == 2 and day == 29 and not is_leap(year):
                day = 28
            send_day = date(year, month, day) - timedelta(days=trigger.days_before)
            if send_day >= today:
                return send_day
    if trigger.type == "anniversary" and trigger.attribute == "signed_up_at" and customer.signed_up_at:
        base = customer.signed_up_at.astimezone(ZoneInfo("UTC")).date()
        if trigger.repeat == "once":
            day = base + timedelta(days=trigger.offset_days)
            return day if day >= today else None
        for year in range(max(today.year - 1, base.year + 1), today.year + 2):
            leap_day = (base.month, base.day) == (2, 29) and not is_leap(year)
            day = base.replace(year=year, day=28 if leap_day else base.day)
            if day + timedelta(days=trigger.offset_days) >= today:
                return day + timedelta(days=trigger.offset_days)
    if trigger.type == "win_back" and customer.last_order_at:
        day = customer.last_order_at.astimezone(zone_or_utc(customer.timezone)).date() + timedelta(
            days=trigger.days_since_last_order)
        return max(day, today) if trigger.cooldown_days is not None else (day if day >= today else None)
    return None


def local_today(customer: Customer, trigger: Trigger, campaign: Campaign, now: datetime | None = None) -> date:
    zone = ZoneInfo(customer.timezone) if is_valid_zone(customer.timezone) and customer.timezone else \
        trigger.fallback_zone(campaign)
    return (now or timezone.now()).astimezone(zone).date()


# Reads for the trigger page ----------------------------------------------------------------------------------

def campaign_deliveries(campaign: Campaign, limit: int = 20) -> list[CalendarSend]:
    """The campaign's latest decided occasions that carry a message, with delivery and customer (one query)."""
    return list(CalendarSend.objects.filter(campaign=campaign, delivery__isnull=False)
                .select_related("delivery", "customer", "code").order_by("-created_at", "-pk")[:limit])


def unredeemed_welcomes(campaign: Campaign, limit: int = 50) -> tuple[int, list[CalendarSend]]:
    """The welcome campaign's "new customers": issued a code not redeemed yet (count, latest first).

    A customer leaves this view as soon as the code is used once.
    """
    sends = CalendarSend.objects.filter(campaign=campaign, occasion="welcome", status="issued",
                                        code__uses_count=0)
    return sends.count(), list(sends.select_related("customer", "code").order_by("-created_at", "-pk")[:limit])


"""Time helpers: storage is UTC; a customer's calendar day is in their own time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone


def zone_or_utc(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_day(zone_name: str | None, now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), timezone=zone_or_utc(zone_name))


def days_between(earlier: datetime | None, now: datetime | None = None) -> int | None:
    if earlier is None:
        return None
    return ((now or timezone.now()) - earlier).days

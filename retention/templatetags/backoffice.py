"""Small display helpers for the back-office templates."""

import json

from django import template
from django.conf import settings

from retention.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str = ""):
    """Minor units as money: {{ order.amount|money:order.currency }}; the shop's currency when none is given."""
    if amount is None or amount == "":
        return "—"
    return format_money(int(amount), currency or settings.RETENTION["DEFAULT_CURRENCY"])


@register.filter
def readable(value) -> str:
    """An audit value in words: lists joined, booleans as yes/no, objects as compact JSON."""
    if value is None:
        return "—"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)

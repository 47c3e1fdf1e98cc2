"""The campaign page's trigger card: {% load calendar_tags %}{% trigger_summary campaign %} (one query)."""

from django import template
from django.utils import timezone

from campaigns.calendar import Trigger
from campaigns.reports import describe_trigger
from campaigns.services.calendar import next_run_at

register = template.Library()


@register.inclusion_tag("campaigns/trigger_summary.html")
def trigger_summary(campaign) -> dict:
    now = timezone.now()
    trigger = Trigger.of(campaign)
    return {
        "campaign": campaign, "trigger": trigger, "now": now, "description": describe_trigger(campaign.trigger),
        "next_run": next_run_at(campaign, now) if trigger is not None and trigger.is_scheduled else None,
    }

"""The trigger page of a campaign (namespace `calendar`): trigger form, next run, preview, dry run, run now,
run history; and the customer page's "why didn't this customer get it?" panel. Thin: parse, authorise, one
service or query, render. htmx gets fragments of the same template ({% partialdef %}).
"""

from datetime import date

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.calendar import (
    SkipReason,
    Trigger,
    campaign_deliveries,
    local_today,
    next_occasion,
    unredeemed_welcomes,
)
from campaigns.forms_calendar import TYPE_FIELDS, TriggerForm, trigger_initial
from campaigns.models import CalendarSend, Campaign, CampaignRun, RunKind, SendStatus
from campaigns.reports import describe_trigger
from campaigns.services import campaigns as campaign_services
from campaigns.services.calendar import (
    dry_run_calendar_campaign,
    next_run_at,
    preview_calendar_campaign,
    run_calendar_campaign,
)
from retention.actors import Actor
from retention.errors import DomainError
from retention.messaging.models import Channel, MessageTemplate
from retention.roles import MARKETING, has_role, role_required

marketing_only = role_required(MARKETING)
TEMPLATE = "campaigns/trigger_page.html"


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("segment"), slug=slug)


def _preview_date(request) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return None


def _runs(campaign: Campaign) -> list[tuple[CampaignRun, list[tuple[str, int]]]]:
    # Hourly ticks that found nobody due are kept (they show the beat is alive) but would bury the history.
    runs = CampaignRun.objects.filter(campaign=campaign).exclude(kind=RunKind.SIGNAL).exclude(
        kind=RunKind.SCHEDULED, issued=0, skipped=0)[:20]
    return [(run, [(SkipReason.LABELS.get(reason, reason), count) for reason, count in run.skip_reasons.items()])
            for run in runs]


def _template_channels(campaign: Campaign) -> list[tuple[str, str, bool]]:
    """(channel, label, has a template) in the order the run picks them; the first existing one is used."""
    existing = set(MessageTemplate.objects.filter(owner_type="campaign", owner_id=str(campaign.pk))
                   .values_list("channel", flat=True))
    return [(channel, label, channel in existing) for channel, label in
            ((Channel.EMAIL, "Email"), (Channel.SMS, "SMS"), (Channel.WEBHOOK, "Webhook"))]


def _context(campaign: Campaign, form: TriggerForm | None = None) -> dict:
    now = timezone.now()
    trigger = Trigger.of(campaign)
    context = {
        "nav": "campaigns", "campaign": campaign, "trigger": trigger, "now": now,
        "description": describe_trigger(campaign.trigger),
        "form": form or TriggerForm(initial=trigger_initial(campaign)), "type_fields": TYPE_FIELDS,
        "next_run": next_run_at(campaign, now), "status": campaign.status_at(now),
        "runs": _runs(campaign), "deliveries": campaign_deliveries(campaign),
        "labels": SkipReason.LABELS, "template_channels": _template_channels(campaign),
        "preview_date": timezone.localdate(now, timezone=trigger.fallback_zone(campaign)) if trigger else None,
    }
    if trigger is not None and trigger.type == "welcome":
        context["welcome_sends"] = CalendarSend.objects.filter(campaign=campaign, occasion="welcome").count()
        context["new_customers_count"], context["new_customers"] = unredeemed_welcomes(campaign)
    return context


@marketing_only
@require_http_methods(["GET", "POST"])
def trigger_page(request, slug: str):
    campaign = _campaign(slug)
    form = TriggerForm(request.POST or None) if request.method == "POST" else None
    if form is not None and form.is_valid():
        try:
            campaign_services.update_campaign(campaign=campaign, data=form.to_data(),
                                              actor=Actor.for_user(request.user))
        except DomainError as error:
            for name, problems in (getattr(error, "fields", None) or {}).items():
                field_name = name.split(".")[-1]  # "trigger.days_before" is the form's days_before
                form.add_error(field_name if field_name in form.fields else None, problems)
            if not form.errors:
                form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved the trigger of “{campaign.name}”.")
            return redirect("calendar:trigger", slug=campaign.slug)
    return render(request, TEMPLATE, _context(campaign, form))


@marketing_only
@require_GET
def trigger_preview(request, slug: str):
    campaign = _campaign(slug)
    preview = preview_calendar_campaign(campaign, _preview_date(request), limit=20)
    context = {"campaign": campaign, "preview": preview, "labels": SkipReason.LABELS}
    if request.htmx:
        return render(request, f"{TEMPLATE}#preview", context)
    return render(request, TEMPLATE, {**_context(campaign), **context})


@marketing_only
@require_POST
def trigger_dry_run(request, slug: str):
    campaign = _campaign(slug)
    run = dry_run_calendar_campaign(campaign=campaign)
    if request.htmx:
        return render(request, f"{TEMPLATE}#runs", _context(campaign))
    messages.success(request, f"Dry run: {run.issued} would receive it, {run.skipped} skipped.")
    return redirect("calendar:trigger", slug=campaign.slug)


@marketing_only
@require_POST
def trigger_run_now(request, slug: str):
    campaign = _campaign(slug)
    run = run_calendar_campaign(campaign_id=campaign.pk, kind=RunKind.MANUAL)
    if run is None:
        messages.error(request, "This campaign cannot issue codes now (draft, paused, ended or not started).")
    else:
        messages.success(request, f"Run: {run.issued} issued, {run.skipped} skipped.")
    return redirect("calendar:trigger", slug=campaign.slug)


# The customer page panel ------------------------------------------------------------------------------------

def customer_calendar_panel(customer, request) -> dict:
    """Each campaign with a trigger and this customer's status for it: received, skipped and why, or not due."""
    if request is not None and not has_role(request.user, MARKETING):
        return {"rows": [], "hidden": True}
    now = timezone.now()
    campaigns = list(Campaign.objects.filter(trigger__isnull=False).exclude(trigger=None).order_by("name"))
    latest: dict[int, CalendarSend] = {}
    for send in CalendarSend.objects.filter(customer=customer).select_related("code").order_by("created_at", "pk"):
        latest[send.campaign_id] = send  # the last decision per campaign wins
    rows = []
    for campaign in campaigns:
        trigger = Trigger.of(campaign)
        if trigger is None:
            continue
        send = latest.get(campaign.pk)
        upcoming = next_occasion(trigger, customer, local_today(customer, trigger, campaign, now))
        rows.append({
            "campaign": campaign, "send": send, "trigger": trigger, "next": upcoming,
            "status": send.status if send else "not_due",
            "reason": SkipReason.LABELS.get(send.skip_reason, send.skip_reason) if send else "",
        })
    return {"rows": rows, "issued": SendStatus.ISSUED}

"""The marketer's campaign pages and dashboard. Thin: parse, authorise, one service or query, render.

htmx requests get fragments of the same templates ({% partialdef %}): a list row, the detail's status
panel, the codes table, the generation progress.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import queries, reports
from campaigns.charts import bar_chart, meter
from campaigns.codes import WEAK_BITS, CodeConfig, code_space_bits
from campaigns.filters import CampaignFilter
from campaigns.forms import CampaignForm, CodeSearchForm, GenerationForm, IssueCodeForm
from campaigns.models import Campaign, CampaignStatus, CampaignType, Code, CodeSource, GenerationJob, Redemption
from campaigns.services import campaigns as campaign_services
from campaigns.services.codes import issue_code
from campaigns.services.generation import start_generation
from retention.actors import Actor
from retention.emails import normalise_email
from retention.errors import DomainError
from retention.models import Customer
from retention.roles import MARKETING, role_required
from retention.views.common import paginate

marketing_only = role_required(MARKETING)

# action name -> (service, past tense for the confirmation message)
SWITCHES = {
    "pause": (campaign_services.pause_campaign, "Paused"),
    "resume": (campaign_services.resume_campaign, "Resumed"),
    "stop-issuing": (campaign_services.stop_issuing, "Stopped issuing codes of"),
    "resume-issuing": (campaign_services.resume_issuing, "Resumed issuing codes of"),
    "launch": (campaign_services.launch_campaign, "Launched"),
}


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


# List ------------------------------------------------------------------------------------------------

@marketing_only
@require_GET
def campaign_list(request):
    campaigns = CampaignFilter(request.GET, queryset=queries.campaign_list())
    page = paginate(request, campaigns.qs)
    return render(request, "campaigns/campaign_list.html",
                  {"nav": "campaigns", "filter": campaigns, "page_obj": page, "now": timezone.now()})


@marketing_only
@require_POST
def campaign_switch(request, slug: str, action: str):
    """Pause, resume, stop or resume issuing, launch. htmx gets the row (or the detail's status panel)."""
    service, verb = SWITCHES[action]
    campaign = service(campaign=_campaign(slug), actor=Actor.for_user(request.user))
    message = f"{verb} “{campaign.name}”."
    if request.htmx:
        fragment = "status" if request.POST.get("view") == "detail" else "row"
        template = "campaigns/campaign_detail.html" if fragment == "status" else "campaigns/campaign_list.html"
        return render(request, f"{template}#{fragment}",
                      {"campaign": campaign, "status": campaign.status_at(), "message": message})
    messages.success(request, message)
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/") else "campaigns:list")


@marketing_only
@require_http_methods(["GET", "POST"])
def pause_all(request):
    """The emergency stop. GET is the confirmation page for browsers without JavaScript."""
    if request.method == "GET":
        live = Campaign.objects.filter(queries.status_condition(CampaignStatus.ACTIVE)
                                       | queries.status_condition(CampaignStatus.SCHEDULED))
        return render(request, "campaigns/campaign_pause_all.html", {"nav": "campaigns", "live": live})
    count = campaign_services.pause_all_active_campaigns(actor=Actor.for_user(request.user))
    messages.warning(request, f"Paused {count} campaign{'s' if count != 1 else ''}." if count
                     else "No campaign was running.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("campaigns:list")
        return response
    return redirect("campaigns:list")


# Form ------------------------------------------------------------------------------------------------

def _save(request, form: CampaignForm, campaign: Campaign | None):
    actor = Actor.for_user(request.user)
    try:
        if campaign is None:
            return campaign_services.create_campaign(data=form.to_data(), actor=actor)
        return campaign_services.update_campaign(campaign=campaign, data=form.to_data(), actor=actor)
    except DomainError as error:
        form.add_service_errors(error.fields, error.message)
        return None


@marketing_only
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = _save(request, form, None)
        if campaign is not None:
            messages.success(request, f"Created “{campaign.name}”.")
            return redirect("campaigns:detail", slug=campaign.slug)
    return render(request, "campaigns/campaign_form.html", {"nav": "campaigns", "form": form, "campaign": None})


@marketing_only
@require_http_methods(["GET", "POST"])
def campaign_edit(request, slug: str):
    campaign = _campaign(slug)
    form = CampaignForm(request.POST or None, campaign=campaign)
    form.fields["type"].disabled = True  # the service refuses a change of type
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, campaign)
        if saved is not None:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("campaigns:detail", slug=saved.slug)
    return render(request, "campaigns/campaign_form.html", {"nav": "campaigns", "form": form, "campaign": campaign})


# Detail ----------------------------------------------------------------------------------------------

def _codes(request, campaign: Campaign):
    search = CodeSearchForm(request.GET)
    codes = Code.objects.filter(campaign=campaign).select_related("customer")
    if search.is_valid() and search.cleaned_data["q"]:
        text = search.cleaned_data["q"].strip()
        codes = codes.filter(Q(code__icontains=text) | Q(customer__email__icontains=text))
    return search, paginate(request, codes, per_page=15)


def _weak_bits(campaign: Campaign) -> float | None:
    """The randomness of a unique campaign's codes when under WEAK_BITS (accepted knowingly), else None."""
    if campaign.type != CampaignType.UNIQUE:
        return None
    bits = code_space_bits(CodeConfig.for_campaign(campaign))
    return bits if bits < WEAK_BITS else None


@marketing_only
@require_GET
def campaign_detail(request, slug: str):
    campaign = get_object_or_404(
        queries.with_counters(Campaign.objects.select_related("segment").prefetch_related("segments")), slug=slug)
    now = timezone.now()
    search, codes = _codes(request, campaign)
    context = {"nav": "campaigns", "campaign": campaign, "now": now, "search": search, "codes": codes,
               "page_obj": codes}
    if request.htmx and request.GET.get("fragment") == "codes":
        return render(request, "campaigns/campaign_detail.html#codes", context)
    status = campaign.status_at(now)
    series = reports.daily_redemptions(campaign=campaign, days=30, now=now)
    context.update(
        status=status,
        rules=reports.describe_rules(campaign),
        budget_meter=meter(campaign.counters.discount_total, campaign.budget or 0),
        counters=reports.campaign_counters(campaign),
        chart=bar_chart(series, title=f"Redemptions of {campaign.name} per day"),
        series_total=sum(count for _day, count in series),
        redemptions=Redemption.objects.filter(campaign=campaign).select_related("code", "customer")[:20],
        job=GenerationJob.objects.filter(campaign=campaign).first(),
        generation_form=GenerationForm(),
        issue_form=IssueCodeForm(),
        forecast=reports.draft_forecast(campaign, now=now) if status == CampaignStatus.DRAFT else None,
        run_out=reports.run_out_forecast(campaign, now=now) if status in (CampaignStatus.ACTIVE,
                                                                         CampaignStatus.PAUSED) else None,
        alerts=reports.leak_alerts([campaign], now=now) + reports.limit_alerts([campaign]),
        weak_bits=_weak_bits(campaign),
    )
    return render(request, "campaigns/campaign_detail.html", context)


@marketing_only
@require_POST
def generation_start(request, slug: str):
    campaign = _campaign(slug)
    form = GenerationForm(request.POST)
    job, error = None, ""
    if form.is_valid():
        try:
            job = start_generation(campaign=campaign, count=form.cleaned_data["count"],
                                   actor=Actor.for_user(request.user))
        except DomainError as failure:
            error = failure.message
    else:
        error = " ".join(form.errors.get("count", ["Give a number of codes."]))
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("campaigns:detail", slug=campaign.slug)
    return render(request, "campaigns/campaign_detail.html#generation",
                  {"campaign": campaign, "job": job, "generation_form": form, "generation_error": error})


def _customer_named(text: str) -> Customer | None:
    """A customer by source_id, else by (normalised) email when exactly one has it."""
    text = text.strip()
    customer = Customer.objects.filter(source_id=text).first()
    if customer is None and "@" in text:
        matches = list(Customer.objects.filter(email=normalise_email(text), erased_at__isnull=True)[:2])
        customer = matches[0] if len(matches) == 1 else None
    return customer


@marketing_only
@require_POST
def issue_code_to_customer(request, slug: str):
    """Issue one code of a unique-code campaign to a customer, from the campaign page (issue_code audits it)."""
    campaign = _campaign(slug)
    form = IssueCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Customer: give a source_id or an email address.")
        return redirect("campaigns:detail", slug=campaign.slug)
    customer = _customer_named(form.cleaned_data["customer"])
    if customer is None:
        messages.error(request, f"Customer: nobody (or more than one customer) is “{form.cleaned_data['customer']}”.")
    elif campaign.type != CampaignType.UNIQUE:
        messages.error(request, "A public campaign has one shared code: there is nothing to issue.")
    else:
        try:
            code = issue_code(campaign=campaign, customer=customer, actor=Actor.for_user(request.user),
                              source=CodeSource.BACKOFFICE)
        except DomainError as refusal:
            messages.error(request, f"No code issued: {refusal.message}")
        else:
            expiry = f", valid until {code.expires_at:%d %b %Y}" if code.expires_at else ""
            messages.success(request, f"Issued {code.code} to {customer.source_id}{expiry}.")
    return redirect("campaigns:detail", slug=campaign.slug)


@marketing_only
@require_GET
def generation_progress(request, slug: str, pk: int):
    job = get_object_or_404(GenerationJob.objects.select_related("campaign"), pk=pk, campaign__slug=slug)
    return render(request, "campaigns/campaign_detail.html#generation",
                  {"campaign": job.campaign, "job": job, "generation_form": GenerationForm()})


@marketing_only
@require_GET
def codes_csv(request, slug: str):
    """All codes of the campaign, streamed (campaigns.queries reads them in chunks)."""
    campaign = _campaign(slug)
    response = StreamingHttpResponse(queries.code_export_lines(campaign), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-codes.csv"'
    return response


# Calendar and dashboard --------------------------------------------------------------------------------

@marketing_only
@require_GET
def campaign_calendar(request):
    try:
        month = reports.parse_month(request.GET.get("month"), today=timezone.localdate())
    except ValueError:
        raise Http404("No such month") from None
    grid = reports.month_grid(month)
    return render(request, "campaigns/campaign_calendar.html", {
        "nav": "campaigns", "month": month, "grid": grid,
        "previous": (month - timedelta(days=1)).replace(day=1), "next": (month + timedelta(days=32)).replace(day=1),
        "today": timezone.localdate(),
    })


@marketing_only
@require_GET
def dashboard(request):
    now = timezone.now()
    figures = reports.dashboard(now=now)
    return render(request, "campaigns/dashboard.html", {
        "nav": "dashboard", "figures": figures, "now": now,
        "chart": bar_chart(figures.series, title="Redemptions per day, all campaigns"),
        "series_total": sum(count for _day, count in figures.series),
        "firings": reports.next_firings(figures.triggered, now=now),
        "month_start": date(now.year, now.month, 1), "public": CampaignType.PUBLIC,
    })

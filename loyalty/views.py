"""Loyalty back-office pages for marketing ops: programs and their dashboard, the program editor, the
members list, and the customer page's adjustments. Thin: parse, authorise, one service or query, render.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty import reports
from loyalty.charts import points_chart
from loyalty.filters import MemberFilter, RedemptionFilter
from loyalty.forms import PROGRAM_FIELDS, AdjustmentForm, ProgramForm, program_formsets, rows_of
from loyalty.models import (
    AdjustmentRequest,
    LoyaltyAccount,
    LoyaltyProgram,
    RewardRedemption,
    RewardRedemptionStatus,
)
from retention.actors import Actor
from retention.errors import DomainError
from retention.models import Customer
from retention.roles import MARKETING, role_required

marketing_only = role_required(MARKETING)
MEMBERS_PER_PAGE = 50
REDEMPTIONS_PER_PAGE = 50


def _customer_url(customer_id: int) -> str:
    return reverse("customers:detail", args=[customer_id])


@marketing_only
@require_GET
def home(request):
    programs = list(LoyaltyProgram.objects.annotate(accounts_count=Count("accounts")).order_by("-is_active",
                                                                                                 "created_at"))
    selected = None
    wanted = request.GET.get("program")
    if wanted and wanted.isdigit():
        selected = next((program for program in programs if program.pk == int(wanted)), None)
    if selected is None and programs:
        selected = next((program for program in programs if program.is_default), programs[0])
    context = {"nav": "loyalty", "programs": programs, "program": selected}
    if selected is not None:
        figures = reports.program_dashboard(selected)
        context.update(figures=figures, chart=points_chart(figures.months),
                       to_fulfil=RewardRedemption.objects.filter(account__program=selected,
                                                                 status=RewardRedemptionStatus.REQUESTED).count(),
                       first_reward=_first_reward(selected),
                       totals={key: sum(getattr(month, key) for month in figures.months)
                               for key in ("issued", "spent", "expired")})
    return render(request, "loyalty/home.html", context)


def _first_reward(program: LoyaltyProgram) -> dict | None:
    """The cheapest active reward and the spend it takes: the first reward should be reachable early."""
    reward = program.rewards.filter(is_active=True).order_by("cost", "pk").first()
    if reward is None:
        return None
    minor_units = -(-reward.cost * 100 // max(program.points_per_unit, 1))  # ceiling: enough to earn the cost
    return {"reward": reward, "spend": f"{minor_units // 100}.{minor_units % 100:02d} {program.currency}"}


def _program_form_page(request, program: LoyaltyProgram | None):
    from loyalty.services import programs as program_services

    data = request.POST if request.method == "POST" else None
    form = ProgramForm(data, instance=program or LoyaltyProgram())
    formsets = program_formsets(data, program=program)
    if request.method == "POST" and form.is_valid() and all(formset.is_valid() for _p, _h, formset in formsets):
        payload = {name: form.cleaned_data[name] for name in PROGRAM_FIELDS if name != "is_default"}
        payload["default"] = form.cleaned_data["is_default"]
        for prefix, _heading, formset in formsets:
            payload[prefix] = rows_of(formset)
        actor = Actor.for_user(request.user)
        try:
            if program is None:
                program = program_services.create_program(data=payload, actor=actor)
            else:
                program = program_services.update_program(program=program, data=payload, actor=actor)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Saved “{program.name}”.")
            return redirect(f"{reverse('loyalty:home')}?program={program.pk}")
    return render(request, "loyalty/program_form.html", {
        "nav": "loyalty", "program": program, "form": form, "formsets": formsets,
        "has_errors": request.method == "POST",
    })


@marketing_only
@require_http_methods(["GET", "POST"])
def program_create(request):
    return _program_form_page(request, None)


@marketing_only
@require_http_methods(["GET", "POST"])
def program_edit(request, pk: int):
    return _program_form_page(request, get_object_or_404(LoyaltyProgram, pk=pk))


@marketing_only
@require_GET
def members(request):
    accounts = LoyaltyAccount.objects.select_related("customer", "program", "tier").order_by("-points", "id")
    member_filter = MemberFilter(request.GET, queryset=accounts)
    page = Paginator(member_filter.qs, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "loyalty/member_list.html", {"nav": "loyalty", "filter": member_filter, "page_obj": page})


@marketing_only
@require_GET
def redemptions(request):
    rows = RewardRedemption.objects.select_related("account__customer", "account__program", "reward", "code")
    redemption_filter = RedemptionFilter(request.GET, queryset=rows.order_by("-created_at", "-id"))
    page = Paginator(redemption_filter.qs, REDEMPTIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "loyalty/redemption_list.html", {
        "nav": "loyalty", "filter": redemption_filter, "page_obj": page, "requested": RewardRedemptionStatus.REQUESTED,
    })


@marketing_only
@require_POST
def fulfil_redemption(request, pk: int):
    """Mark an experience (early access, ...) as handed over; the list keeps its filters."""
    from loyalty.services.rewards import fulfil_reward_redemption

    redemption = get_object_or_404(RewardRedemption.objects.select_related("reward", "account__customer"), pk=pk)
    try:
        fulfil_reward_redemption(redemption=redemption, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        customer = redemption.account.customer
        messages.success(request, f"“{redemption.reward.name}” for {customer.email or customer.source_id} "
                                  "is marked fulfilled.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/loyalty/redemptions/") else reverse("loyalty:redemptions"))


@marketing_only
@require_POST
def adjust(request, customer_id: int):
    """A marketer's manual adjustment from the customer page; above the threshold it waits for approval."""
    from loyalty.services import adjustments
    from loyalty.services.ledger import account_for

    customer = get_object_or_404(Customer, pk=customer_id)
    form = AdjustmentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(_customer_url(customer.pk))
    with transaction.atomic():
        account = account_for(program=form.cleaned_data["program"], customer=customer)
    try:
        result = adjustments.adjust_points(account=account, points=form.cleaned_data["points"],
                                           reason=form.cleaned_data["reason"], actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if isinstance(result, AdjustmentRequest):
            messages.warning(request, f"{result.points:+d} points wait for a second person's approval.")
        else:
            messages.success(request, f"{form.cleaned_data['points']:+d} points recorded.")
    return redirect(_customer_url(customer.pk) + "#panel-loyalty")


@marketing_only
@require_POST
def decide_adjustment(request, pk: int, decision: str):
    from loyalty.services import adjustments

    adjustment = get_object_or_404(AdjustmentRequest.objects.select_related("account"), pk=pk)
    service = {"approve": adjustments.approve_adjustment, "reject": adjustments.reject_adjustment}.get(decision)
    if service is None:
        raise Http404("Approve or reject.")
    try:
        service(request=adjustment, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Adjustment of {adjustment.points:+d} points {decision}d.")
    return redirect(_customer_url(adjustment.account.customer_id) + "#panel-loyalty")

"""Referral back-office pages for marketing ops (dashboard, program editor, review, leaderboard) and the
portal's invite action. Thin: parse, authorise, one service or query, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty.portal.auth import customer_required
from referrals import queries
from referrals.charts import spend_chart
from referrals.filters import LeaderboardFilter, ReferralFilter
from referrals.forms import DecisionForm, InviteForm, ProgramForm, TierFormSet, tier_initial
from referrals.models import Referral, ReferralProgram, ReferralReward
from retention.actors import Actor
from retention.errors import DomainError
from retention.models import Segment
from retention.roles import MARKETING, role_required

marketing_only = role_required(MARKETING)
PER_PAGE = 50


def _selected(request, programs: list[ReferralProgram]) -> ReferralProgram | None:
    wanted = request.GET.get("program", "")
    chosen = next((program for program in programs if wanted.isdigit() and program.pk == int(wanted)), None)
    return chosen or (programs[0] if programs else None)


@marketing_only
@require_GET
def home(request):
    programs = list(ReferralProgram.objects.order_by("-is_default", "created_at", "pk"))
    program = _selected(request, programs)
    context = {"nav": "referrals", "programs": programs, "program": program}
    if program is not None:
        figures = queries.dashboard(program)
        context.update(figures=figures, chart=spend_chart(figures.spend_by_month),
                       held=Referral.objects.filter(program=program, status="held").count(),
                       segments=Segment.objects.order_by("name"), **queries.code_jobs(program))
    return render(request, "referrals/home.html", context)


@marketing_only
@require_GET
def code_jobs(request, pk: int):
    """The jobs fragment that the dashboard polls while a job runs."""
    program = get_object_or_404(ReferralProgram, pk=pk)
    return render(request, "referrals/home.html#jobs", {"program": program, **queries.code_jobs(program)})


def _program_page(request, program: ReferralProgram | None):
    from referrals.services.programs import create_program, update_program

    if request.method == "POST":
        form, tiers = ProgramForm(request.POST), TierFormSet(request.POST, prefix="tiers")
    else:
        form = ProgramForm(initial=ProgramForm.initial_for(program) if program else None)
        tiers = TierFormSet(initial=tier_initial(program), prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        payload = form.payload()
        payload["tiers"] = [tier.row() for tier in tiers if tier.has_changed() and not tier.cleaned_data.get("DELETE")]
        actor = Actor.for_user(request.user)
        try:
            if program is None:
                program = create_program(data=payload, actor=actor)
            else:
                program = update_program(program=program, data=payload, actor=actor)
        except DomainError as error:
            for field, problems in error.fields.items():
                target = field if field in form.fields else None
                form.add_error(target, f"{field}: {' '.join(problems)}" if target is None else " ".join(problems))
            if not error.fields:
                form.add_error(None, error.message)
        else:
            messages.success(request, f"Saved “{program.name}”.")
            return redirect(f"{reverse('referrals:home')}?program={program.pk}")
    return render(request, "referrals/program_form.html",
                  {"nav": "referrals", "program": program, "form": form, "tiers": tiers})


@marketing_only
@require_http_methods(["GET", "POST"])
def program_create(request):
    return _program_page(request, None)


@marketing_only
@require_http_methods(["GET", "POST"])
def program_edit(request, pk: int):
    return _program_page(request, get_object_or_404(ReferralProgram, pk=pk))


@marketing_only
@require_POST
def program_toggle(request, pk: int):
    from referrals.services.programs import set_program_enabled

    program = get_object_or_404(ReferralProgram, pk=pk)
    program = set_program_enabled(program=program, enabled=not program.is_enabled, actor=Actor.for_user(request.user))
    if request.htmx:
        return render(request, "referrals/home.html#switch", {"program": program})
    messages.success(request, f"“{program.name}” is {'on' if program.is_enabled else 'off'}.")
    return redirect(f"{reverse('referrals:home')}?program={program.pk}")


@marketing_only
@require_POST
def code_job_start(request, pk: int):
    from referrals.services.codes import start_code_job

    program = get_object_or_404(ReferralProgram, pk=pk)
    segment = get_object_or_404(Segment, slug=request.POST.get("segment", ""))
    job = start_code_job(program=program, segment=segment, actor=Actor.for_user(request.user))
    messages.success(request, f"Creating codes for {job.total} members of “{segment.name}”.")
    return redirect(f"{reverse('referrals:home')}?program={program.pk}")


@marketing_only
@require_GET
def referral_list(request, pk: int):
    program = get_object_or_404(ReferralProgram, pk=pk)
    rows = (Referral.objects.filter(program=program).select_related("referrer", "friend", "code")
            .prefetch_related("fraud_signals").order_by("-needs_review", "-registered_at", "-pk"))
    referral_filter = ReferralFilter(request.GET or {"status": "held"}, queryset=rows)
    page = Paginator(referral_filter.qs, PER_PAGE).get_page(request.GET.get("page"))
    payouts = (ReferralReward.objects.filter(program=program, type="cash", is_cancelled=False)
               .exclude(payout_status="paid").select_related("customer").order_by("created_at")[:PER_PAGE])
    return render(request, "referrals/referral_list.html", {
        "nav": "referrals", "program": program, "filter": referral_filter, "page_obj": page, "payouts": payouts})


@marketing_only
@require_POST
def decide(request, pk: int, decision: str):
    from referrals.services.conversions import approve_referral, reject_referral

    referral = get_object_or_404(Referral, pk=pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    actor = Actor.for_user(request.user)
    try:
        if decision == "approve":
            approve_referral(referral=referral, actor=actor, note=note)
        elif decision == "reject":
            reject_referral(referral=referral, actor=actor, note=note)
        else:
            raise DomainError("approve or reject.", code="invalid")
    except DomainError as error:
        messages.error(request, f"Referral {referral.pk}: {error.message}")
    else:
        messages.success(request, f"Referral {referral.pk} {decision}d.")
    return redirect(reverse("referrals:referrals", args=[referral.program_id]) + "?status=held")


@marketing_only
@require_POST
def payout(request, pk: int, status: str):
    from referrals.services.conversions import set_payout_status

    reward = get_object_or_404(ReferralReward, pk=pk)
    try:
        set_payout_status(reward=reward, status=status, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Payout {reward.pk} is {status}.")
    return redirect(reverse("referrals:referrals", args=[reward.program_id]))


@marketing_only
@require_GET
def leaderboard(request, pk: int):
    program = get_object_or_404(ReferralProgram, pk=pk)
    board_filter = LeaderboardFilter(request.GET, queryset=Referral.objects.none())
    rows = queries.leaderboard(program, since=board_filter.since())
    return render(request, "referrals/leaderboard.html",
                  {"nav": "referrals", "program": program, "filter": board_filter, "rows": rows})


@customer_required
@require_POST
def portal_invite(request):
    from referrals.services.codes import get_or_create_referral_code
    from referrals.services.invitations import InvitationRateLimited, invite_by_email

    customer = request.portal_customer
    form = InviteForm(request.POST)
    program = queries.default_program()
    if not form.is_valid() or program is None:
        messages.error(request, "Enter a valid email address.")
        return redirect("loyalty:portal:home")
    try:
        code = get_or_create_referral_code(program=program, customer=customer, actor=Actor.customer(customer.source_id))
        invite_by_email(code=code, email=form.cleaned_data["email"])
    except InvitationRateLimited:
        messages.error(request, "You have sent many invitations today: please try again tomorrow.")
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    return redirect("loyalty:portal:home")

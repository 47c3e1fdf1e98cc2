"""The customer portal: sign-in by emailed link, then the customer's own points, rewards, codes, history
and consent choices. Every page reads the customer from the portal session (auth.py), never from the URL.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.queries import customer_wallet
from loyalty.portal import queries
from loyalty.portal.auth import customer_required, portal_customer, sign_in_customer, sign_out_customer
from loyalty.portal.forms import CONSENT_WORDING_VERSION, ConsentForm, SignInForm
from loyalty.portal.panels import render_portal_sections
from loyalty.portal.services import claim_sign_in_token, request_sign_in_link, usable_token
from retention.actors import Actor
from retention.errors import DomainError
from retention.http import client_ip
from retention.models import ConsentChannel, ConsentSource
from retention.ratelimit import hit
from retention.services.customers import record_consent

# Per address: enough for "I did not get it, send again" twice; per IP: a household or an office.
LINKS_PER_EMAIL = (3, 15 * 60)
LINKS_PER_IP = (10, 15 * 60)
HISTORY_PER_PAGE = 20


def _render(request, template: str, context: dict, status: int = 200):
    # Every page's header names the program, signed in or not.
    if "program" not in context:
        context["program"] = queries.portal_program()
    return render(request, template, context, status=status)


def _program_or_404():
    program = queries.portal_program()
    if program is None:
        raise Http404("No loyalty program is running.")
    return program


# Signing in -------------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.method == "GET" and portal_customer(request) is not None:
        return redirect("loyalty:portal:home")
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        for scope, ident, (limit, window) in (("portal-link-ip", client_ip(request) or "unknown", LINKS_PER_IP),
                                              ("portal-link-email", email, LINKS_PER_EMAIL)):
            allowed, retry_after = hit(scope, ident, limit, window)
            if not allowed:
                response = _render(request, "portal/rate_limited.html",
                                  {"retry_minutes": max(1, (retry_after + 59) // 60)}, status=429)
                response["Retry-After"] = str(retry_after)
                return response
        request_sign_in_link(email=email)
        # The same answer whether the address is known or not.
        return _render(request, "portal/sign_in_sent.html", {"email": email})
    return _render(request, "portal/sign_in.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def open_link(request, token: str):
    """GET asks for one click, POST uses the link: mail scanners that fetch links cannot burn it."""
    if request.method == "GET":
        if usable_token(token) is None:
            return _render(request, "portal/link_expired.html", {}, status=410)
        return _render(request, "portal/open_link.html", {"token": token})
    customer = claim_sign_in_token(token=token)
    if customer is None:
        return _render(request, "portal/link_expired.html", {}, status=410)
    sign_in_customer(request, customer)
    return redirect("loyalty:portal:home")


@require_POST
def sign_out(request):
    sign_out_customer(request)
    return redirect("loyalty:portal:sign_in")


# The customer's pages ---------------------------------------------------------------------------------

@never_cache
@require_GET
@customer_required
def home(request):
    customer = request.portal_customer
    program = queries.portal_program()
    context = {"customer": customer, "program": program, "nav": "home"}
    if program is not None:
        context["overview"] = queries.overview(customer, program)
        context["recent"] = list(queries.history(customer, program)[:5])
    wallet = customer_wallet(customer)
    context["active_codes"] = [entry for entry in wallet if entry.status == "active"][:3]
    context["sections"] = render_portal_sections(customer, request)
    return _render(request, "portal/home.html", context)


@never_cache
@require_GET
@customer_required
def reward_confirm(request, reward_id: int):
    program = _program_or_404()
    reward = queries.reward_for_customer(program, reward_id)
    account = queries.customer_account(request.portal_customer, program)
    points = account.points if account else 0
    return _render(request, "portal/reward_confirm.html", {
        "customer": request.portal_customer, "program": program, "reward": reward, "points": points,
        "points_after": points - reward.cost, "affordable": points >= reward.cost,
        "points_to_go": max(reward.cost - points, 0),
    })


@require_POST
@customer_required
def reward_redeem(request, reward_id: int):
    from loyalty.services.rewards import redeem_reward

    customer = request.portal_customer
    program = _program_or_404()
    reward = queries.reward_for_customer(program, reward_id)
    try:
        redemption = redeem_reward(account_or_customer=customer, reward=reward,
                                   actor=Actor.customer(customer.source_id))
    except DomainError as error:
        messages.error(request, _redeem_refusal(error))
        return redirect("loyalty:portal:reward_confirm", reward_id=reward.pk)
    return redirect("loyalty:portal:redemption", redemption_id=redemption.pk)


def _redeem_refusal(error: DomainError) -> str:
    if error.code == "insufficient_points":
        return "You do not have enough points for this reward yet."
    if error.code == "reward_unavailable":
        return "Sorry, this reward is not available right now."
    return error.message


@never_cache
@require_GET
@customer_required
def redemption_detail(request, redemption_id: int):
    redemption = queries.redemption_for_customer(request.portal_customer, redemption_id)
    return _render(request, "portal/redemption.html", {"customer": request.portal_customer,
                                                       "redemption": redemption})


@never_cache
@require_GET
@customer_required
def codes(request):
    wallet = customer_wallet(request.portal_customer)
    groups = [(label, [entry for entry in wallet if entry.status == status])
              for status, label in (("active", "Ready to use"), ("used", "Used"), ("expired", "Expired"))]
    return _render(request, "portal/codes.html", {"customer": request.portal_customer, "groups": groups,
                                                 "nav": "codes"})


@never_cache
@require_GET
@customer_required
def history(request):
    from django.core.paginator import Paginator

    program = _program_or_404()
    page = Paginator(queries.history(request.portal_customer, program), HISTORY_PER_PAGE).get_page(
        request.GET.get("page"))
    return _render(request, "portal/history.html", {"customer": request.portal_customer, "program": program,
                                                   "page_obj": page, "nav": "history"})


@never_cache
@require_http_methods(["GET", "POST"])
@customer_required
def preferences(request):
    customer = request.portal_customer
    current = {channel: customer.has_consent(channel) for channel in ConsentChannel.values}
    form = ConsentForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        refused = False
        for channel in ConsentChannel.values:
            if form.cleaned_data[channel] == current[channel]:
                continue  # only a change is a new consent record
            try:
                record_consent(customer=customer, channel=channel, granted=form.cleaned_data[channel],
                               source=ConsentSource.PORTAL, actor=Actor.customer(customer.source_id),
                               wording_version=CONSENT_WORDING_VERSION, ip_address=client_ip(request),
                               user_agent=request.META.get("HTTP_USER_AGENT", ""))
            except DomainError:
                refused = True
        if refused:
            messages.error(request, "We cannot send marketing to this address any more, so we left it off.")
        else:
            messages.success(request, "Your choices are saved.")
        return redirect("loyalty:portal:preferences")
    return _render(request, "portal/preferences.html", {"customer": customer, "form": form, "nav": "preferences",
                                                       "wording_version": CONSENT_WORDING_VERSION})

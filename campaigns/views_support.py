"""The support desk: find a customer, see their orders and codes, issue a "sorry" code. Thin views."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns.forms_support import CustomerSearchForm, SupportCodeForm
from campaigns.models import Code
from campaigns.services.support import (
    agent_limit,
    codes_issued_today,
    describe_code,
    issue_support_code,
    support_campaigns,
)
from retention.emails import normalise_email
from retention.errors import DomainError
from retention.models import Customer
from retention.roles import MARKETING, SUPPORT, role_required

RESULTS = 20
LATEST = 10


def search_customers(query: str):
    """Exact or prefix match on the email (normalised) or the shop's id: both are indexed look-ups."""
    query = query.strip()
    if not query:
        return Customer.objects.none()
    email = normalise_email(query)
    condition = Q(source_id=query) | Q(source_id__startswith=query)
    if "@" in query:
        condition = Q(email=email) | Q(email__startswith=email)
    elif len(email) >= 3:  # a bare "anna" finds anna@… by prefix too
        condition |= Q(email__startswith=email)
    return Customer.objects.filter(condition, erased_at__isnull=True).order_by("email", "id")[:RESULTS]


def _panel_context(request, customer: Customer, form=None, issued: Code | None = None) -> dict:
    limit = agent_limit(request.user)
    campaigns = support_campaigns()
    codes = Code.objects.filter(customer=customer).select_related("campaign")[:LATEST]
    return {
        "customer": customer,
        "orders": customer.orders.all()[:LATEST],
        "codes": [(code, describe_code(code)) for code in codes],
        "form": form or SupportCodeForm(campaigns=campaigns, limit=limit),
        "limit": limit,
        "issued_today": codes_issued_today(request.user),
        "has_campaigns": bool(campaigns),
        "issued": issued,
        "issued_value": describe_code(issued) if issued else "",
        "nav": "support",
    }


@role_required(SUPPORT, MARKETING)
def desk(request):
    form = CustomerSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"form": form, "query": query, "results": search_customers(query), "nav": "support"}
    if request.htmx:
        return render(request, "campaigns/support_desk.html#results", context)
    return render(request, "campaigns/support_desk.html", context)


@role_required(SUPPORT, MARKETING)
def customer(request, pk: int):
    target = get_object_or_404(Customer, pk=pk, erased_at__isnull=True)
    return render(request, "campaigns/support_customer.html", _panel_context(request, target))


@require_POST
@role_required(SUPPORT, MARKETING)
def issue(request, pk: int):
    target = get_object_or_404(Customer, pk=pk, erased_at__isnull=True)
    form = SupportCodeForm(request.POST, campaigns=support_campaigns(), limit=agent_limit(request.user))
    issued = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            issued = issue_support_code(
                agent=request.user, customer=target, campaign=data["campaign"], amount=data["amount"],
                percent=data["percent"], sku=data["sku"], reason=data["reason"],
                apply_to_next_order=data["apply_to_next_order"],
            )
        except DomainError as refusal:  # SupportRefused, or issue_code's CampaignError (paused a moment ago)
            form.add_error(None, refusal.message)
    if issued is not None and not request.htmx:
        messages.success(request, _result_text(issued, target))
        return redirect("support:customer", pk=target.pk)
    context = _panel_context(request, target, form=None if issued else form, issued=issued)
    context["result_text"] = _result_text(issued, target) if issued else ""
    template = "campaigns/support_customer.html"
    status = 200 if issued or form.is_valid() else 422
    if request.htmx:
        return render(request, f"{template}#panel", context, status=200)
    return render(request, template, context, status=status)


def _result_text(code: Code, target: Customer) -> str:
    if code.is_automatic:
        return f"Discount {code.code} ({describe_code(code)}) will apply automatically to the next order."
    if target.email:
        return f"Code {code.code} ({describe_code(code)}) sent to {target.email}."
    return f"Code {code.code} ({describe_code(code)}) issued. No email address on file: give it to the customer."

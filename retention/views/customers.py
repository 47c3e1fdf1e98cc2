"""Customers: the filtered list, the profile page, the GDPR export and erasure."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from retention.actors import Actor
from retention.filters import CustomerFilter
from retention.models import Customer, Segment
from retention.panels import render_customer_panels
from retention.queries import customer_list as customers_with_tags
from retention.roles import MARKETING, SUPPORT, role_required
from retention.services.gdpr import erase_customer, export_customer
from retention.views.common import paginate

LATEST = 20


@role_required(MARKETING, SUPPORT)
def customer_list(request):
    customer_filter = CustomerFilter(request.GET or None, queryset=customers_with_tags())
    page = paginate(request, customer_filter.qs)
    return render(request, "retention/customer_list.html",
                  {"filter": customer_filter, "page_obj": page, "nav": "customers"})


def _customer_page(customer: Customer, request) -> dict:
    """Everything the profile shows, each list read by one query whatever the customer's history."""
    return {
        "customer": customer,
        "consents": customer.consent_records.all()[:50],
        "orders": customer.orders.prefetch_related("items")[:LATEST],
        "events": customer.events.all()[:LATEST],
        "static_segments": Segment.objects.filter(static_members__customer=customer),
        "panels": render_customer_panels(customer, request),
        "nav": "customers",
    }


@role_required(MARKETING, SUPPORT)
def customer_detail(request, pk: int):
    customer = get_object_or_404(customers_with_tags(), pk=pk)
    return render(request, "retention/customer_detail.html", _customer_page(customer, request))


@role_required(MARKETING)
def customer_export(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    data = export_customer(customer=customer, actor=Actor.for_user(request.user))
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-{stamp}.json"'
    return response


@role_required(MARKETING)
def customer_erase(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    if request.method != "POST":
        # GET shows the confirmation; only the confirmation's POST erases.
        return render(request, "retention/customer_erase.html", {"customer": customer, "nav": "customers"})
    erase_customer(customer=customer, actor=Actor.for_user(request.user))
    messages.success(request, "Personal data erased. Orders, codes and ledgers are kept, anonymised.")
    return redirect("customers:detail", pk=customer.pk)

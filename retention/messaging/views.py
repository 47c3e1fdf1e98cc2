"""Messaging pages: template editor with live preview, deliveries log, webhook deliveries, unsubscribe.

Thin: parse, authorise, call one service or query, render.
"""

import json

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from retention.actors import Actor
from retention.http import client_ip
from retention.messaging.filters import DeliveryFilter
from retention.messaging.forms import MessageTemplateForm, channel_or_404
from retention.messaging.queries import delivery_list as delivery_list_query
from retention.messaging.queries import endpoint_deliveries, get_webhook_endpoint, template_for_owner
from retention.messaging.rendering import (
    SAMPLE_CONTEXT,
    SampleCustomer,
    compile_template,
    render_message,
)
from retention.messaging.services.templates import save_message_template
from retention.messaging.services.unsubscribes import UnknownRecipient, unsubscribe_customer
from retention.messaging.services.webhooks import send_test_event
from retention.messaging.unsubscribe import read_unsubscribe_token
from retention.roles import MARKETING, role_required

PAGE_SIZE = 50


def _owner_context(owner_type: str, owner_id: str, channel: str) -> dict:
    return {"owner_type": owner_type, "owner_id": owner_id, "channel": channel, "nav": "campaigns"}


@role_required(MARKETING)
@require_http_methods(["GET", "POST"])
def template_edit(request, owner_type: str, owner_id: str, channel: str):
    channel = channel_or_404(channel)
    template = template_for_owner(owner_type=owner_type, owner_id=owner_id, channel=channel)
    if request.method == "POST":
        form = MessageTemplateForm(request.POST, channel=channel)
        if form.is_valid():
            save_message_template(owner_type=owner_type, owner_id=owner_id, channel=channel,
                                  fields=form.cleaned_data, actor=Actor.for_user(request.user))
            messages.success(request, "Template saved.")
            return redirect(request.GET.get("next") if _safe_next(request) else request.path)
    else:
        names = MessageTemplateForm(channel=channel).fields
        initial = {name: getattr(template, name) for name in names} if template else {}
        form = MessageTemplateForm(initial=initial, channel=channel)
    context = {**_owner_context(owner_type, owner_id, channel), "form": form, "template": template,
               "preview": _preview(form) if request.method == "GET" and template else None}
    return render(request, "messaging/messagetemplate_edit.html", context)


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.GET.get("next")
    return bool(target) and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())


def _preview(form: MessageTemplateForm) -> dict:
    """Rendered subject/HTML/text (or SMS/JSON) for a sample customer, or the form's problems."""
    fields = {name: form.data.get(name, form.initial.get(name, "")) for name in form.fields}
    bound = MessageTemplateForm(fields, channel=form.channel)
    if not bound.is_valid():
        return {"errors": [f"{bound.fields[name].label}: {error}" for name, errors in bound.errors.items()
                           for error in errors]}
    compiled = compile_template(channel=form.channel, fields=fields)
    payload = render_message(channel=form.channel, compiled=compiled, customer=SampleCustomer(),
                             context=SAMPLE_CONTEXT, unsubscribe_url="#unsubscribe")
    pretty_json = json.dumps(payload["json"], indent=2, ensure_ascii=False) if "json" in payload else ""
    return {"payload": payload, "channel": form.channel, "pretty_json": pretty_json}


@role_required(MARKETING)
@require_POST
def template_preview(request, owner_type: str, owner_id: str, channel: str):
    channel = channel_or_404(channel)
    form = MessageTemplateForm(request.POST, channel=channel)
    return render(request, "messaging/messagetemplate_edit.html#preview", {"preview": _preview(form)})


@role_required(MARKETING)
def delivery_list(request):
    filterset = DeliveryFilter(request.GET, queryset=delivery_list_query())
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "messaging/delivery_list.html", {
        "filter": filterset, "page_obj": page, "querystring": query.urlencode(), "nav": "deliveries",
    })


@role_required(MARKETING)
def webhook_deliveries(request, endpoint_id: int):
    endpoint = get_webhook_endpoint(endpoint_id)
    page = Paginator(endpoint_deliveries(endpoint=endpoint), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "messaging/webhookdelivery_list.html",
                  {"endpoint": endpoint, "page_obj": page, "nav": "settings"})


@role_required(MARKETING)
@require_POST
def webhook_test(request, endpoint_id: int):
    endpoint = get_webhook_endpoint(endpoint_id)
    delivery = send_test_event(endpoint=endpoint, actor=Actor.for_user(request.user))
    delivery.refresh_from_db()  # eager or quick workers may already have sent it
    messages.info(request, f"Test event sent: {delivery.get_status_display().lower()}.")
    return redirect("messaging:webhook_deliveries", endpoint_id=endpoint.pk)


ONE_CLICK = "One-Click"


@csrf_exempt  # only for RFC 8058's one-click POST, which a mail client sends without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows a confirm button (mail scanners follow links); POST withdraws the consent the token names."""
    try:
        read_unsubscribe_token(token)
    except signing.BadSignature:
        raise Http404("Unknown unsubscribe link.")
    if request.method == "GET":
        return render(request, "messaging/unsubscribe.html", {"token": token, "done": False})
    is_one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK
    if not is_one_click:
        # The confirm form is a normal form: it keeps its CSRF protection.
        rejection = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejection is not None:
            return rejection
    try:
        unsubscribe_customer(token=token, ip_address=client_ip(request),
                             user_agent=request.headers.get("User-Agent", ""))
    except (signing.BadSignature, UnknownRecipient):
        raise Http404("Unknown unsubscribe link.")
    if is_one_click:
        return HttpResponse("You are unsubscribed.", content_type="text/plain")
    return render(request, "messaging/unsubscribe.html", {"token": token, "done": True})

"""Reads for the messaging pages, the customer panel and jobs."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from retention.messaging.models import Delivery, MessageTemplate, WebhookDelivery
from retention.models import Customer, WebhookEndpoint

SHARED = "shared"


def template_for_owner(*, owner_type: str, owner_id: str, channel: str, for_update: bool = False):
    """The template of an owner such as ("campaign", "42") for `channel`, or None. Owner "shared" looks up by name."""
    templates = MessageTemplate.objects.select_for_update() if for_update else MessageTemplate.objects.all()
    if owner_type == SHARED:
        return templates.filter(name=owner_id, channel=channel).first()
    return templates.filter(owner_type=owner_type, owner_id=owner_id, channel=channel).first()


def delivery_list() -> QuerySet[Delivery]:
    """Deliveries for the log page, newest first, with what each row shows in two joins."""
    return Delivery.objects.select_related("customer", "template").order_by("-created_at", "-id")


def customer_deliveries(*, customer: Customer, limit: int = 20) -> list[Delivery]:
    deliveries = Delivery.objects.filter(customer=customer).select_related("template")
    return list(deliveries.order_by("-created_at", "-id")[:limit])


def get_webhook_endpoint(pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk)


def endpoint_deliveries(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-created_at", "-id")

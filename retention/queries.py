"""Reads shared by pages, the API and jobs."""

from collections.abc import Callable, Iterable

from django.db.models import Prefetch, QuerySet

from retention.compiled import CompiledFirst
from retention.emails import email_hash
from retention.keys import hash_api_key_secret
from retention.models import (
    ApiKey,
    ConsentChannel,
    Customer,
    EmailSuppression,
    Event,
    Order,
    Segment,
)

# Every API request runs this: compiled once per connection. Not cached, so a revoked key stops at once.
_api_key_query = CompiledFirst(lambda key_hash: ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True))


def api_key_by_secret(secret: str) -> ApiKey | None:
    return _api_key_query.get(hash_api_key_secret(secret))


# Marketing consent ------------------------------------------------------------------------------------


def can_send_marketing(customer: Customer, channel: str) -> bool:
    """THE check before any marketing send: consent granted now, not erased, and for email not suppressed."""
    if not customer.has_consent(channel):
        return False
    if channel == ConsentChannel.EMAIL_MARKETING:
        if not customer.email:
            return False
        return not EmailSuppression.objects.filter(email_hash=email_hash(customer.email)).exists()
    return bool(customer.phone)


def marketable_customers(channel: str) -> QuerySet[Customer]:
    """Customers a set-based send may target, before the per-batch suppression filter below.

    Suppression is stored as a SHA-256 of the address, which SQL cannot join on portably, so
    `consented_to` cannot exclude it. Two things keep that gap small: upsert, record_consent and imports
    never grant email consent to a suppressed address, and senders pass each batch through
    `without_suppressed` (one query per batch).
    """
    customers = Customer.objects.consented_to(channel)
    if channel == ConsentChannel.EMAIL_MARKETING:
        return customers.exclude(email="")
    return customers.exclude(phone="")


def without_suppressed(customers: Iterable[Customer]) -> list[Customer]:
    """`customers` minus those whose email is on the suppression list (one query)."""
    customers = list(customers)
    hashes = {customer.pk: email_hash(customer.email) for customer in customers if customer.email}
    suppressed = set(EmailSuppression.objects.filter(email_hash__in=hashes.values()).values_list("email_hash",
                                                                                                  flat=True))
    return [customer for customer in customers if hashes.get(customer.pk) not in suppressed]


# Customers ----------------------------------------------------------------------------------------------


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related("tags")


def customer_by_source_id(source_id: str) -> Customer | None:
    return customer_list().filter(source_id=source_id).first()


# GDPR access: the core's sections plus those registered by apps in their AppConfig.ready().

ExportSection = Callable[[Customer], object]
_export_sections: dict[str, ExportSection] = {}


def register_export_section(name: str, function: ExportSection) -> None:
    """Add `function(customer)`'s JSON-safe result under `name` in every export (idempotent per name)."""
    _export_sections[name] = function


def export_customer_data(customer: Customer) -> dict:
    """Everything held about `customer`: profile, consent history, orders with items, events, segments."""
    data = {
        "profile": {
            "source_id": customer.source_id, "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "phone": customer.phone,
            "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "country": customer.country, "locale": customer.locale, "timezone": customer.timezone,
            "signed_up_at": _iso(customer.signed_up_at), "tags": [tag.name for tag in customer.tags.all()],
            "metadata": customer.metadata, "email_marketing_consent": customer.email_marketing_consent,
            "sms_marketing_consent": customer.sms_marketing_consent, "orders_count": customer.orders_count,
            "total_spent": customer.total_spent, "created_at": _iso(customer.created_at),
            "erased_at": _iso(customer.erased_at),
        },
        "consents": [
            {"channel": record.channel, "granted": record.granted, "source": record.source,
             "wording_version": record.wording_version, "ip_address": record.ip_address,
             "user_agent": record.user_agent, "recorded_at": _iso(record.recorded_at)}
            for record in customer.consent_records.order_by("recorded_at", "id")
        ],
        "orders": [
            {"source_id": order.source_id, "amount": order.amount, "currency": order.currency,
             "status": order.status, "created_at": _iso(order.created_at),
             "items": [{"sku": item.sku, "name": item.name, "category": item.category, "quantity": item.quantity,
                        "unit_price": item.unit_price} for item in order.items.all()]}
            for order in Order.objects.filter(customer=customer).order_by("created_at", "id").prefetch_related(
                Prefetch("items"))
        ],
        "events": [
            {"id": event.event_id, "type": event.type, "occurred_at": _iso(event.occurred_at),
             "properties": event.properties}
            for event in Event.objects.filter(customer=customer).order_by("occurred_at", "id")
        ],
        "segments": list(Segment.objects.filter(static_members__customer=customer).values_list("slug", flat=True)),
    }
    for name, function in _export_sections.items():
        data[name] = function(customer)
    return data


def _iso(value) -> str | None:
    return value.isoformat() if value else None

"""GDPR erasure: personal data goes, the facts the business must keep (orders, events, ledgers) stay."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import email_hash
from retention.models import ConsentRecord, Customer, EmailSuppression
from retention.queries import export_customer_data
from retention.signals import customer_erased


@transaction.atomic(durable=True)
def erase_customer(*, customer: Customer, actor: Actor, now: datetime | None = None) -> Customer:
    """Anonymise `customer`; a second call changes nothing.

    Cleared: email, names, phone, birthday, locale, metadata, tags, marketing consents, and the IP address
    and user agent of consent records (the records themselves stay as proof). The address goes on the
    suppression list as a hash, so a later import or PUT cannot mail it again. `source_id`, country and
    time zone stay: the shop names the customer by source_id, and orders, events and ledgers point at it.
    """
    now = now or timezone.now()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_erased:
        return customer
    if customer.email:
        EmailSuppression.objects.get_or_create(email_hash=email_hash(customer.email), defaults={"reason": "erased"})
    customer.email = customer.first_name = customer.last_name = customer.phone = customer.locale = ""
    customer.birthday = customer.birthday_month = customer.birthday_day = None
    customer.metadata = {}
    customer.email_marketing_consent = customer.sms_marketing_consent = False
    customer.erased_at = now
    customer.save()
    customer.tags.clear()
    ConsentRecord.objects.filter(customer=customer).update(ip_address=None, user_agent="")
    record_audit(actor=actor, action="customer.erased", target=customer, object_repr=customer.source_id,
                 after={"erased_at": now.isoformat()})
    transaction.on_commit(lambda: customer_erased.send(sender=Customer, customer=customer))
    return customer


@transaction.atomic(durable=True)
def export_customer(*, customer: Customer, actor: Actor) -> dict:
    """Everything held about `customer` (retention.queries.export_customer_data), with an audit entry of who
    took a copy of whose data: an access to personal data must be traceable, though it changes nothing."""
    data = export_customer_data(customer)
    record_audit(actor=actor, action="customer.exported", target=customer,
                 after={"source_id": customer.source_id, "sections": sorted(data)})
    return data

"""Customers and their consents.

`upsert_customer` is the shop's PUT: the keys present in `data` are written, absent keys keep their value.
Audit snapshots name personal fields but never hold their values, so an erased customer leaves no trace
of them in the audit trail.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit, snapshot
from retention.emails import email_hash, normalise_email
from retention.errors import DomainError
from retention.models import ConsentChannel, ConsentRecord, Customer, EmailSuppression, Tag
from retention.signals import customer_created

PERSONAL_FIELDS = ["email", "first_name", "last_name", "phone", "birthday", "metadata"]
PLAIN_FIELDS = [*PERSONAL_FIELDS, "country", "locale", "timezone", "signed_up_at"]
AUDITED_FIELDS = ["country", "locale", "timezone", "signed_up_at", "email_marketing_consent", "sms_marketing_consent"]


class CustomerErased(DomainError):
    code = "customer_erased"


def upsert_customer(
    *,
    source_id: str,
    data: dict,
    actor: Actor,
    consent_source: str = "api",
    ip_address: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[Customer, bool]:
    """Create or update the customer named `source_id`; return (customer, created).

    Consents in `data["consents"]` append a ConsentRecord only when the state changes; email marketing is
    never granted to an address on the suppression list. An erased customer raises CustomerErased (422).
    Two requests creating the same customer at once: the loser's insert fails and it retries as an update.
    """
    arguments = {"source_id": source_id, "data": data, "actor": actor, "consent_source": consent_source,
                 "ip_address": ip_address, "user_agent": user_agent, "now": now or timezone.now()}
    try:
        return _upsert_customer(**arguments)
    except IntegrityError:
        if not Customer.objects.filter(source_id=source_id).exists():
            raise
        return _upsert_customer(**arguments)


@transaction.atomic(durable=True)
def _upsert_customer(*, source_id, data, actor, consent_source, ip_address, user_agent, now):
    customer = Customer.objects.select_for_update().filter(source_id=source_id).first()
    created = customer is None
    if created:
        customer = Customer(source_id=source_id)
        before = None
    elif customer.is_erased:
        raise CustomerErased("This customer was erased; its personal data cannot be stored again.")
    else:
        before = snapshot(customer, AUDITED_FIELDS)

    changed = _apply_fields(customer, data)
    if created:
        customer.save()
    elif changed:
        customer.save(update_fields=[*changed, "updated_at"])
    if "tags" in data:
        _replace_tags(customer, data["tags"] or [])
        changed.append("tags")

    for channel, granted in (data.get("consents") or {}).items():
        if granted is None:
            continue
        if _record_consent(customer=customer, channel=channel, granted=granted, source=consent_source,
                           ip_address=ip_address, user_agent=user_agent, now=now, only_if_changed=True):
            changed.append(Customer.CONSENT_FIELDS[channel])

    if created or changed:
        record_audit(actor=actor, action="customer.created" if created else "customer.updated", target=customer,
                     object_repr=customer.source_id, before=before,
                     after={**snapshot(customer, AUDITED_FIELDS), "changed": sorted(set(changed))})
    if created:
        transaction.on_commit(lambda: customer_created.send(sender=Customer, customer=customer))
    return customer, created


def _apply_fields(customer: Customer, data: dict) -> list[str]:
    """Set the plain fields present in `data`; return the names that changed."""
    changed = []
    for name in PLAIN_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "email":
            value = normalise_email(value)
        elif name == "country":
            value = (value or "").upper()
        elif name == "metadata":
            value = value or {}
        elif value is None and name not in ("birthday", "signed_up_at"):
            value = ""
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    if "birthday" in changed:
        birthday = customer.birthday
        customer.birthday_month = birthday.month if birthday else None
        customer.birthday_day = birthday.day if birthday else None
        changed += ["birthday_month", "birthday_day"]
    return changed


def _replace_tags(customer: Customer, names: list[str]) -> None:
    names = sorted({name.strip() for name in names if name and name.strip()})
    if names:
        Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    customer.tags.set(Tag.objects.filter(name__in=names))


@transaction.atomic(durable=True)
def record_consent(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    source: str,
    actor: Actor,
    wording_version: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Append a grant or withdrawal for `channel` and make it the customer's current choice.

    A grant of email marketing to a suppressed address, or any grant to an erased customer, raises
    DomainError `consent_refused`.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    record = _record_consent(customer=customer, channel=channel, granted=granted, source=source,
                             wording_version=wording_version, ip_address=ip_address, user_agent=user_agent,
                             now=now or timezone.now())
    if record is None:
        raise DomainError("This customer cannot grant marketing consent.", code="consent_refused")
    record_audit(actor=actor, action="customer.consent_recorded", target=customer, object_repr=customer.source_id,
                 after={"channel": channel, "granted": granted, "source": source})
    return record


def _record_consent(*, customer, channel, granted, source, now, wording_version="", ip_address=None,
                    user_agent="", only_if_changed=False) -> ConsentRecord | None:
    """Append the record and update the customer's flag; None when nothing was recorded."""
    flag = Customer.CONSENT_FIELDS[ConsentChannel(channel)]
    if granted and not _may_grant(customer, channel):
        return None
    if only_if_changed and getattr(customer, flag) == granted:
        return None
    record = ConsentRecord.objects.create(
        customer=customer, channel=channel, granted=granted, source=source, wording_version=wording_version,
        ip_address=ip_address, user_agent=(user_agent or "")[:500], recorded_at=now,
    )
    setattr(customer, flag, granted)
    Customer.objects.filter(pk=customer.pk).update(**{flag: granted, "updated_at": now})
    return record


def _may_grant(customer: Customer, channel: str) -> bool:
    if customer.is_erased:
        return False
    if channel == ConsentChannel.EMAIL_MARKETING and customer.email:
        return not EmailSuppression.objects.filter(email_hash=email_hash(customer.email)).exists()
    return True

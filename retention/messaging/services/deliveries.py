"""Queueing and sending messages: one Delivery row per message, claimed before it is sent.

Exactly once: a delivery with an `occasion_key` is unique per (customer, channel, key), and a send
starts with a conditional UPDATE that only one worker can win. A crash after the claim leaves the
row "sending" until its lease runs out; the sweep then sends it again (at least once beats never).
"""

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from retention.emails import email_hash, normalise_email
from retention.messaging import channels
from retention.messaging.backoff import retry_delay
from retention.messaging.consent import (
    CONSENT_CHANNELS,
    is_suppressed,
    marketing_allowed_ids,
    may_send_marketing,
    suppressed_emails,
)
from retention.messaging.errors import PermanentSendError, TransientSendError
from retention.messaging.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    MessageKind,
    MessageTemplate,
    SkipReason,
    WebhookEventType,
)
from retention.messaging.rendering import (
    MessageContext,
    compile_template,
    insert_qr_code,
    render_message,
    template_fields,
)
from retention.messaging.unsubscribe import unsubscribe_url
from retention.models import Customer

logger = logging.getLogger(__name__)

# Rows that count towards the frequency cap: everything on its way or delivered.
CAPPED_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED)
FINAL_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.DEAD, DeliveryStatus.SKIPPED)
CLAIMABLE_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.FAILED, DeliveryStatus.SENDING)
# A claimed row belongs to its worker this long; far above every send timeout, so only a dead worker loses it.
SEND_LEASE = timedelta(minutes=10)
LOST_TASK_AFTER = timedelta(minutes=1)
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 60 * 60 * 2
CHUNK = 900  # ids per IN (...) list, under SQLite's parameter limit


@dataclass(frozen=True)
class Recipient:
    """One customer of a batch, with the values only the caller knows (code, discount, expiry)."""

    customer: Customer
    context: MessageContext | dict
    occasion_key: str | None = None


def frequency_cap() -> int:
    return settings.RETENTION.get("FREQUENCY_CAP_PER_7_DAYS", 3)


def max_attempts() -> int:
    return settings.RETENTION.get("MESSAGE_MAX_ATTEMPTS", 6)


def queue_message(
    *,
    customer: Customer,
    channel: str,
    template: MessageTemplate,
    context: MessageContext | dict,
    kind: str,
    occasion_key: str | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Write one delivery and send it after the caller's transaction commits.

    Not durable on purpose: call it INSIDE the transaction that creates what the message carries
    (e.g. the code), so the code and its delivery commit or vanish together. Locks the customer
    row until that transaction ends.

    - `context`: a MessageContext or a dict with code, discount_text, expires_at, portal_url.
    - `occasion_key` (e.g. "campaign:42:birthday:2026"): when a delivery for (customer, channel,
      key) exists, that one is returned and nothing new is written or sent.
    - Marketing messages without consent, over the frequency cap (FREQUENCY_CAP_PER_7_DAYS), to a
      suppressed email address, or to a customer without an address are recorded as "skipped"
      with a `skip_reason`; nothing is sent. Never raises for these: check `delivery.status`.
    """
    return queue_messages(
        recipients=[Recipient(customer=customer, context=context, occasion_key=occasion_key)],
        channel=channel, template=template, kind=kind, now=now,
    )[0]


def queue_messages(
    *,
    recipients: Sequence[Recipient],
    channel: str,
    template: MessageTemplate,
    kind: str,
    now: datetime | None = None,
) -> list[Delivery]:
    """queue_message for many customers at once: a few queries and one bulk insert per batch.

    Same rules and same transaction contract as queue_message. Returns one Delivery per recipient,
    in order (an existing one for a repeated occasion). Customer rows are locked in id order, so
    concurrent batches cannot deadlock and the frequency cap holds under concurrency.
    """
    now = now or timezone.now()
    if template.channel != channel:
        raise ValueError(f"Template {template.pk} is for {template.channel}, not {channel}.")
    with transaction.atomic():
        customers = _lock_customers({recipient.customer.pk for recipient in recipients})
        existing = _existing_deliveries(recipients, channel)
        recent = _recent_marketing_counts(list(customers), now) if kind == MessageKind.MARKETING else Counter()
        allowed = marketing_allowed_ids(list(customers.values()), channel) if kind == MessageKind.MARKETING else None
        suppressed = suppressed_emails([c.email for c in customers.values()]) if channel == Channel.EMAIL else set()
        compiled = compile_template(channel=channel, fields=template_fields(template))

        results: list[Delivery | tuple] = []
        new_rows: dict[tuple, Delivery] = {}
        for recipient in recipients:
            customer = customers[recipient.customer.pk]
            key = (customer.pk, recipient.occasion_key)
            if recipient.occasion_key and key in existing:
                results.append(existing[key])
                continue
            if recipient.occasion_key and key in new_rows:  # the same occasion twice in one batch
                results.append(key)
                continue
            reason = _skip_reason(customer, channel, kind, allowed, suppressed, recent[customer.pk])
            delivery = Delivery(
                customer=customer, channel=channel, template=template, kind=kind,
                occasion_key=recipient.occasion_key, created_at=now,
            )
            if reason:
                delivery.status, delivery.skip_reason = DeliveryStatus.SKIPPED, reason
            else:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.QUEUED, now
                delivery.payload = _render(customer, channel, kind, compiled, recipient.context)
                recent[customer.pk] += 1
            if recipient.occasion_key:
                new_rows[key] = delivery
            results.append(delivery)
        created = [row for row in results if isinstance(row, Delivery) and row.pk is None]
        Delivery.objects.bulk_create(created)
        queued_ids = [row.pk for row in created if row.status == DeliveryStatus.QUEUED]
        if queued_ids:
            # robust: a broker hiccup must not fail the caller's commit; the sweep sends these later.
            transaction.on_commit(partial(_enqueue_sends, queued_ids), robust=True)
    return [new_rows[row] if isinstance(row, tuple) else row for row in results]


@dataclass(frozen=True)
class NoOne:
    """The customer of a template rendered for a bare address: no names, so "Hello {{ customer.first_name }}"
    reads "Hello "."""

    first_name: str = ""
    last_name: str = ""


def queue_to_address(
    *,
    address: str,
    template: MessageTemplate,
    context: MessageContext | dict,
    why: str,
    occasion_key: str | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Queue a transactional email to an address that belongs to no customer (e.g. a referral invitation a
    customer asked for): no Customer row is created, so nothing fires `customer_created`.

    Not durable, like queue_message. Consent is not asked (the message is transactional and was requested by
    someone who knows the recipient), but the suppression list is honoured: a suppressed address is recorded
    as "skipped" and its address is not kept. `why` is the footer line saying why the recipient got the email
    (there is no unsubscribe link: we hold no subscription). `occasion_key` makes it once per address.
    The address is kept only until the delivery is final; its hash stays for the occasion key.
    """
    now = now or timezone.now()
    address = normalise_email(address)
    if template.channel != Channel.EMAIL:
        raise ValueError(f"Template {template.pk} is for {template.channel}: only email goes to a bare address.")
    if "@" not in address:
        raise ValueError("An email address.")
    hashed = email_hash(address)
    with transaction.atomic():
        if occasion_key:
            existing = Delivery.objects.filter(customer__isnull=True, address_hash=hashed, channel=Channel.EMAIL,
                                               occasion_key=occasion_key).first()
            if existing is not None:
                return existing
        delivery = Delivery(address_hash=hashed, channel=Channel.EMAIL, template=template,
                            kind=MessageKind.TRANSACTIONAL, occasion_key=occasion_key, created_at=now)
        if is_suppressed(address):
            delivery.status, delivery.skip_reason = DeliveryStatus.SKIPPED, SkipReason.SUPPRESSED
        else:
            context = context if isinstance(context, MessageContext) else MessageContext.from_dict(context)
            compiled = compile_template(channel=Channel.EMAIL, fields=template_fields(template))
            delivery.address, delivery.status, delivery.next_attempt_at = address, DeliveryStatus.QUEUED, now
            delivery.payload = render_message(channel=Channel.EMAIL, compiled=compiled, customer=NoOne(),
                                              context=context, footer_note=why, defer_qr_code=True)
        try:
            with transaction.atomic():
                delivery.save(force_insert=True)
        except IntegrityError:  # the same occasion queued concurrently: that one stands
            if not occasion_key:
                raise
            return Delivery.objects.get(customer__isnull=True, address_hash=hashed, channel=Channel.EMAIL,
                                        occasion_key=occasion_key)
        if delivery.status == DeliveryStatus.QUEUED:
            transaction.on_commit(partial(_enqueue_sends, [delivery.pk]), robust=True)
    return delivery


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _lock_customers(ids: set[int]) -> dict[int, Customer]:
    # Fresh rows under lock: consent and erasure are read as they are now, not as the caller loaded them.
    customers = {}
    for chunk in _chunks(sorted(ids)):
        for customer in Customer.objects.select_for_update().filter(pk__in=chunk).order_by("pk"):
            customers[customer.pk] = customer
    return customers


def _existing_deliveries(recipients: Sequence[Recipient], channel: str) -> dict[tuple, Delivery]:
    keyed = [(r.customer.pk, r.occasion_key) for r in recipients if r.occasion_key]
    found: dict[tuple, Delivery] = {}
    for chunk in _chunks(keyed):
        rows = Delivery.objects.filter(
            channel=channel, customer_id__in={c for c, _ in chunk}, occasion_key__in={k for _, k in chunk}
        )
        found.update({(row.customer_id, row.occasion_key): row for row in rows})
    return found


def _recent_marketing_counts(customer_ids: list[int], now: datetime) -> Counter:
    counts: Counter = Counter()
    for chunk in _chunks(sorted(customer_ids)):
        rows = (
            Delivery.objects.filter(
                customer_id__in=chunk, kind=MessageKind.MARKETING, status__in=CAPPED_STATUSES,
                created_at__gt=now - timedelta(days=7),
            )
            .values("customer_id")
            .annotate(sent=Count("id"))
        )
        counts.update({row["customer_id"]: row["sent"] for row in rows})
    return counts


def _skip_reason(customer, channel, kind, allowed, suppressed, recent_count) -> str:
    if (channel == Channel.EMAIL and not customer.email) or (channel == Channel.SMS and not customer.phone):
        return SkipReason.NO_ADDRESS
    if channel == Channel.EMAIL and customer.email in suppressed:
        return SkipReason.SUPPRESSED  # for transactional mail too: suppression means never mail again
    if kind == MessageKind.MARKETING and customer.pk not in allowed:
        return SkipReason.NO_CONSENT
    if kind == MessageKind.MARKETING and recent_count >= frequency_cap():
        return SkipReason.FREQUENCY_CAP
    return ""


def _render(customer, channel, kind, compiled, context) -> dict:
    context = context if isinstance(context, MessageContext) else MessageContext.from_dict(context)
    link = ""
    if kind == MessageKind.MARKETING and channel in CONSENT_CHANNELS:
        link = unsubscribe_url(customer_id=customer.pk, consent_channel=CONSENT_CHANNELS[channel])
    return render_message(channel=channel, compiled=compiled, customer=customer, context=context,
                          unsubscribe_url=link, defer_qr_code=True)


SEND_BATCH = 25  # deliveries per broker message: publishing one costs milliseconds, thousands cost seconds


def _enqueue_sends(delivery_ids: list[int]) -> None:
    from retention.messaging.tasks import send_deliveries_task, send_delivery_task

    if len(delivery_ids) == 1:
        send_delivery_task.delay(delivery_ids[0])
        return
    for chunk in _chunks(delivery_ids, SEND_BATCH):
        send_deliveries_task.delay(chunk)


def send_delivery(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send one delivery if it is due and nobody else holds it; returns it, or None when there was nothing to do.

    The claim is one conditional UPDATE (row count 1 or nothing happens), and the provider call runs
    outside any transaction. Transient errors become "failed" with a back-off (exponential, jittered)
    until MESSAGE_MAX_ATTEMPTS, then "dead"; permanent errors are "dead" at once. A marketing message
    whose consent was withdrawn after queueing is "skipped" instead of sent.
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=CLAIMABLE_STATUSES, next_attempt_at__lte=now
    ).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SEND_LEASE, updated_at=now
    )
    if claimed != 1:
        return None
    delivery = Delivery.objects.select_related("customer").get(pk=delivery_id)
    customer = delivery.customer
    email = customer.email if customer is not None else delivery.address
    # Consent and suppression are checked again: either may have changed since the message was queued.
    if delivery.channel == Channel.EMAIL and is_suppressed(email):
        return _finish(delivery, status=DeliveryStatus.SKIPPED, skip_reason=SkipReason.SUPPRESSED, now=now)
    if delivery.kind == MessageKind.MARKETING and not may_send_marketing(customer, delivery.channel):
        return _finish(delivery, status=DeliveryStatus.SKIPPED, skip_reason=SkipReason.NO_CONSENT, now=now)
    try:
        if delivery.channel == Channel.WEBHOOK:
            return _hand_to_webhooks(delivery, now)
        _send(delivery)
    except PermanentSendError as error:
        return _finish(delivery, status=DeliveryStatus.DEAD, last_error=str(error), now=now)
    except Exception as error:  # noqa: BLE001 - a provider's surprise is retried, then dead-lettered
        if not isinstance(error, TransientSendError):
            logger.exception("Unexpected error sending delivery %s", delivery_id)
        return _retry_or_give_up(delivery, error, now)
    return _finish(delivery, status=DeliveryStatus.SENT, sent_at=now, now=now)


def _send(delivery: Delivery) -> None:
    customer, payload = delivery.customer, delivery.payload
    if customer is None:  # a bare address: transactional email only
        if delivery.channel != Channel.EMAIL or not delivery.address:
            raise PermanentSendError("A message without a customer needs an email address.")
        channels.send_email(to=delivery.address, subject=payload.get("subject", ""), html=insert_qr_code(payload),
                            text=payload.get("text", ""), headers={})
        return
    if delivery.channel == Channel.EMAIL:
        if not customer.email:
            raise PermanentSendError("The customer has no email address any more.")
        headers = {}
        if payload.get("unsubscribe_url"):
            # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to this URL.
            headers["List-Unsubscribe"] = f"<{payload['unsubscribe_url']}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        channels.send_email(
            to=customer.email, subject=payload.get("subject", ""), html=insert_qr_code(payload),
            text=payload.get("text", ""), headers=headers,
        )
    elif delivery.channel == Channel.SMS:
        if not customer.phone:
            raise PermanentSendError("The customer has no phone number any more.")
        channels.send_sms(to=customer.phone, text=payload.get("text", ""))
    else:
        raise PermanentSendError(f"Unknown channel {delivery.channel!r}.")


def _hand_to_webhooks(delivery: Delivery, now: datetime) -> Delivery:
    """A webhook-channel message is "sent" once its event is stored; the webhook deliveries retry from there."""
    from retention.messaging.services.webhooks import emit_webhook

    data = {
        "delivery_id": delivery.pk,
        "customer": delivery.customer.source_id,
        "kind": delivery.kind,
        "occasion_key": delivery.occasion_key,
        "message": delivery.payload.get("json"),
    }
    with transaction.atomic():
        emit_webhook(type=WebhookEventType.MESSAGE_REQUESTED, data=data, now=now)
        return _finish(delivery, status=DeliveryStatus.SENT, sent_at=now, now=now)


def _retry_or_give_up(delivery: Delivery, error: Exception, now: datetime) -> Delivery:
    message = str(error) or type(error).__name__
    if delivery.attempts >= max_attempts():
        return _finish(
            delivery, status=DeliveryStatus.DEAD, now=now,
            last_error=f"Gave up after {delivery.attempts} attempts: {message}",
        )
    delay = retry_delay(attempt=delivery.attempts, base_seconds=RETRY_BASE_SECONDS, cap_seconds=RETRY_CAP_SECONDS)
    return _finish(delivery, status=DeliveryStatus.FAILED, last_error=message, next_attempt_at=now + delay, now=now)


def _finish(delivery: Delivery, *, status: str, now: datetime, last_error: str = "", sent_at=None,
            next_attempt_at=None, skip_reason: str = "") -> Delivery:
    # Only the claim's owner may finish: a worker whose lease expired and was re-claimed changes nothing.
    changes = {
        "status": status, "last_error": last_error[:2000], "sent_at": sent_at, "next_attempt_at": next_attempt_at,
        "skip_reason": skip_reason, "updated_at": now,
    }
    if delivery.customer_id is None and status in FINAL_STATUSES:
        changes["address"] = ""  # someone who is not a customer: their address is kept no longer than needed
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    return delivery


def sweep_deliveries(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue sends for deliveries nobody is handling: queued for over a minute (task lost between
    commit and enqueue), failed and due, or sending with an expired lease (worker died). Returns the count.

    Enqueueing a delivery that a worker is about to send is harmless: the claim lets one send win.
    """
    now = now or timezone.now()
    due = Q(next_attempt_at__lte=now) & (
        Q(status=DeliveryStatus.QUEUED, created_at__lte=now - LOST_TASK_AFTER)
        | Q(status__in=(DeliveryStatus.FAILED, DeliveryStatus.SENDING))
    )
    ids = list(Delivery.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    _enqueue_sends(ids)
    return len(ids)

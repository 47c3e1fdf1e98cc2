"""Outgoing webhooks (shared/API.md "Webhooks (out)"): events, signed deliveries, retries, dead letters.

Each event becomes one WebhookDelivery per active endpoint subscribed to its type. A delivery is
POSTed with `Retention-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; a 2xx answer
delivers it, anything else is retried with back-off and jitter up to WEBHOOK_MAX_ATTEMPTS, then dead.
"""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.messaging import channels
from retention.messaging.backoff import retry_delay
from retention.messaging.errors import PermanentSendError, TransientSendError
from retention.messaging.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
    WebhookEventType,
)
from retention.models import WebhookEndpoint

SIGNATURE_HEADER = "Retention-Signature"
CLAIMABLE_STATUSES = (WebhookDeliveryStatus.QUEUED, WebhookDeliveryStatus.FAILED, WebhookDeliveryStatus.SENDING)
SEND_LEASE = timedelta(minutes=5)
LOST_TASK_AFTER = timedelta(minutes=1)
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 60 * 60
RESPONSE_KEPT = 1000  # characters of a response body kept per attempt
BATCH = 1000  # rows per bulk insert
SEND_BATCH = 25  # deliveries per broker message when many are enqueued at once


def max_attempts() -> int:
    return settings.RETENTION.get("WEBHOOK_MAX_ATTEMPTS", 8)


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The Retention-Signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and its time is within `tolerance` seconds of now.

    For receivers and tests. Accepts several v1 values (an endpoint rotating its secret signs twice).
    """
    parts = [item.split("=", 1) for item in (header or "").split(",") if "=" in item]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not signatures or not timestamps[0].strip().isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def event_body(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed (and signed) for `event`."""
    payload = {"id": str(event.id), "type": event.type, "created_at": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def emit_webhook(*, type: str, data: dict, now: datetime | None = None) -> WebhookEvent:  # noqa: A002 - API.md's name
    """Record an event of `type` (one of WebhookEventType) and queue a delivery to each active, subscribed endpoint.

    Not durable: call it inside the transaction that made the event happen, so a rolled-back
    redemption announces nothing. Deliveries are enqueued after commit. `data` must be JSON-able
    (dates, datetimes, UUIDs and Decimals are serialised by DjangoJSONEncoder).
    """
    return emit_webhooks(type=type, items=[data], now=now)[0]


def emit_webhooks(*, type: str, items: list[dict], now: datetime | None = None) -> list[WebhookEvent]:  # noqa: A002
    """emit_webhook for many events of one type (a calendar run's code.issued): a fixed number of queries and
    batched broker messages, whatever their number. Same transaction contract as emit_webhook."""
    if type not in WebhookEventType.values:
        raise ValueError(f"Unknown webhook event type {type!r}.")
    if not items:
        return []
    now = now or timezone.now()
    # No savepoint: inside the caller's transaction a failure here fails the caller's too (two queries saved
    # on every redemption, code issued and conversion); alone it is still one transaction.
    with transaction.atomic(savepoint=False):
        events = WebhookEvent.objects.bulk_create(
            [WebhookEvent(type=type, data=data, created_at=now) for data in items], batch_size=BATCH)
        endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if _subscribed(e, type)]
        deliveries = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
             for event in events for endpoint in endpoints], batch_size=BATCH)
        if deliveries:
            enqueue_deliveries_after_commit([d.pk for d in deliveries])
    return events


@transaction.atomic(durable=True)
def send_test_event(*, endpoint: WebhookEndpoint, actor: Actor, now: datetime | None = None) -> WebhookDelivery:
    """Queue a signed "webhook.test" event to `endpoint` only, whatever it subscribes to (even when inactive)."""
    now = now or timezone.now()
    event = WebhookEvent.objects.create(
        type=WebhookEventType.WEBHOOK_TEST,
        data={"message": "A test event from Retention.", "endpoint_id": endpoint.pk},
        created_at=now,
    )
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
    record_audit(actor=actor, action="webhook.test_sent", target=endpoint, after={"event": str(event.id)})
    enqueue_deliveries_after_commit([delivery.pk])
    return delivery


def enqueue_deliveries_after_commit(delivery_ids: list[int]) -> None:
    """Send these deliveries once the current transaction commits (for a caller that inserted them with its own
    SQL, as the one-statement redemption does)."""
    transaction.on_commit(partial(_enqueue, delivery_ids), robust=True)


def _enqueue(delivery_ids: list[int]) -> None:
    from retention.messaging.tasks import send_webhook_deliveries_task, send_webhook_delivery_task

    if len(delivery_ids) <= SEND_BATCH:  # the usual case: one event, a few endpoints, one message each
        for delivery_id in delivery_ids:
            send_webhook_delivery_task.delay(delivery_id)
        return
    for start in range(0, len(delivery_ids), SEND_BATCH):
        send_webhook_deliveries_task.delay(delivery_ids[start:start + SEND_BATCH])


def send_webhook_delivery(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """POST one delivery if it is due and unclaimed; returns it, or None when there was nothing to do.

    Each attempt is logged (WebhookAttempt) with its status and response. An endpoint switched off
    after the event was queued gets nothing: the delivery is dead ("endpoint disabled"), except
    test events, which go to inactive endpoints too.
    """
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=CLAIMABLE_STATUSES, next_attempt_at__lte=now
    ).update(status=WebhookDeliveryStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SEND_LEASE)
    if claimed != 1:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active and event.type != WebhookEventType.WEBHOOK_TEST:
        return _finish(delivery, status=WebhookDeliveryStatus.DEAD, last_error="Endpoint disabled.", now=now)

    body = event_body(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Retention-Webhooks/1",
        SIGNATURE_HEADER: sign(secret=endpoint.secret, body=body, timestamp=int(time.time())),
    }
    started = time.monotonic()
    response, error = None, ""
    try:
        response = channels.post(endpoint.url, body=body, headers=headers)
    except (TransientSendError, PermanentSendError) as failure:
        error = str(failure)
    duration_ms = int((time.monotonic() - started) * 1000)
    WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, created_at=now, duration_ms=duration_ms, error=error[:2000],
        response_status=response.status if response else None,
        response_body=response.body[:RESPONSE_KEPT] if response else "",
    )
    outcome = {
        "response_status": response.status if response else None,
        "response_body": response.body[:RESPONSE_KEPT] if response else "",
    }
    if response and 200 <= response.status < 300:
        return _finish(delivery, status=WebhookDeliveryStatus.DELIVERED, delivered_at=now, now=now, **outcome)
    reason = error or f"HTTP {response.status}"
    if delivery.attempts >= max_attempts():
        return _finish(delivery, status=WebhookDeliveryStatus.DEAD, now=now, **outcome,
                       last_error=f"Gave up after {delivery.attempts} attempts: {reason}")
    delay = retry_delay(attempt=delivery.attempts, base_seconds=RETRY_BASE_SECONDS, cap_seconds=RETRY_CAP_SECONDS)
    return _finish(delivery, status=WebhookDeliveryStatus.FAILED, last_error=reason, next_attempt_at=now + delay,
                   now=now, **outcome)


def _finish(delivery: WebhookDelivery, *, status: str, now: datetime, last_error: str = "", delivered_at=None,
            next_attempt_at=None, response_status=None, response_body: str = "") -> WebhookDelivery:
    changes = {
        "status": status, "last_error": last_error[:2000], "delivered_at": delivered_at,
        "next_attempt_at": next_attempt_at, "response_status": response_status, "response_body": response_body,
    }
    # Only the claim's owner may finish (see retention.messaging.services.deliveries._finish).
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDeliveryStatus.SENDING, attempts=delivery.attempts
    ).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    return delivery


def sweep_webhook_deliveries(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue webhook deliveries nobody is handling (lost task, due retry, expired lease). Returns the count."""
    now = now or timezone.now()
    due = Q(next_attempt_at__lte=now) & (
        Q(status=WebhookDeliveryStatus.QUEUED, created_at__lte=now - LOST_TASK_AFTER)
        | Q(status__in=(WebhookDeliveryStatus.FAILED, WebhookDeliveryStatus.SENDING))
    )
    ids = list(WebhookDelivery.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    _enqueue(ids)
    return len(ids)

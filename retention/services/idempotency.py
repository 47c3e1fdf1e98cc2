"""Idempotency-Key for creating POSTs (API.md): the first answer is stored and replayed.

A key is claimed in its own short transaction before the view's service runs, so a second request with
the same key sees the claim (`request_in_progress`) instead of doing the work twice; the API decorator
(retention.api.idempotency) waits a few seconds for the first answer and replays it, and answers 409 only
if it does not come. 2xx and 4xx answers are kept; a 5xx or an exception releases the key so the client can
retry. A claim left behind by a process that died mid-request is taken over once it is older than any
request can run (ABANDONED_AFTER).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from retention.errors import DomainError
from retention.models import ApiKey, IdempotencyRecord

# Longer than gunicorn's worker timeout, so a live request is never taken over.
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyConflict(DomainError):
    status = 409


def _expiry(now: datetime) -> datetime:
    return now - timedelta(hours=settings.RETENTION["IDEMPOTENCY_KEY_HOURS"])


@transaction.atomic(durable=True)
def claim_idempotency_key(
    *, api_key: ApiKey, key: str, request_hash: str, now: datetime | None = None
) -> tuple[IdempotencyRecord, bool]:
    """Return (record, claimed). claimed=False means a finished answer to replay.

    Raises IdempotencyConflict `idempotency_key_reused` (other body) or `request_in_progress`.
    """
    now = now or timezone.now()
    # An expired key counts as absent: drop it so the insert below can take its place.
    IdempotencyRecord.objects.filter(api_key=api_key, key=key, created_at__lt=_expiry(now)).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(api_key=api_key, key=key, request_hash=request_hash)
        return record, True
    except IntegrityError:
        record = IdempotencyRecord.objects.get(api_key=api_key, key=key)
    if record.request_hash != request_hash:
        raise IdempotencyConflict("This Idempotency-Key was used with a different request.",
                                  code="idempotency_key_reused")
    if not record.is_complete:
        # The claimant died between claim and answer: take the key over, once (conditional update).
        taken_over = IdempotencyRecord.objects.filter(
            pk=record.pk, is_complete=False, created_at__lt=now - ABANDONED_AFTER
        ).update(created_at=now)
        if taken_over:
            return record, True
        raise IdempotencyConflict("A request with this Idempotency-Key is still in progress.",
                                  code="request_in_progress")
    return record, False


@transaction.atomic(durable=True)
def complete_idempotency_key(*, record: IdempotencyRecord, status: int, body) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(is_complete=True, response_status=status,
                                                          response_body=body)


@transaction.atomic(durable=True)
def release_idempotency_key(*, record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, is_complete=False).delete()


@transaction.atomic(durable=True)
def purge_expired_idempotency_records(*, now: datetime | None = None) -> int:
    """Delete keys past their lifetime; return how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=_expiry(now or timezone.now())).delete()
    return deleted

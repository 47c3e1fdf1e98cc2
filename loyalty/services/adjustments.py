"""Manual adjustments by marketers: small ones at once, large ones after a second person's approval."""

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from loyalty.errors import LoyaltyError, LoyaltyReason
from loyalty.locks import lock_account
from loyalty.models import AdjustmentRequest, AdjustmentStatus, EntryKind, LedgerEntry, LoyaltyAccount
from loyalty.services.ledger import credit, debit
from retention.actors import Actor
from retention.audit import record_audit
from retention.errors import InvalidInput


def _apply(account: LoyaltyAccount, *, points: int, reason: str, source_type: str, source_id: str,
           actor: Actor, now: datetime) -> LedgerEntry:
    """A positive adjustment is a new lot (it expires like earned points); a negative one spends FIFO and
    may leave a negative balance, paid off by later earnings like a refund's."""
    if points > 0:
        return credit(account, kind=EntryKind.ADJUST, points=points, source_type=source_type, source_id=source_id,
                      now=now, description=reason, actor_label=actor.label)
    return debit(account, kind=EntryKind.ADJUST, points=-points, source_type=source_type, source_id=source_id,
                 now=now, description=reason, actor_label=actor.label)


@transaction.atomic(durable=True)
def adjust_points(
    *, account: LoyaltyAccount, points: int, reason: str, actor: Actor, now: datetime | None = None,
) -> LedgerEntry | AdjustmentRequest:
    """Add (points > 0) or remove (< 0) points with a reason; audited.

    |points| above the program's adjustment_approval_threshold: nothing moves; an AdjustmentRequest
    waits for another user's approve_adjustment (an API key, having no user to pair with, gets
    `approval_required`). Returns the ADJUST entry, or the request. 0 points or no reason: InvalidInput.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if points == 0 or not reason:
        raise InvalidInput("A non-zero number of points and a reason.",
                           fields={name: ["required"] for name, bad in (("points", points == 0), ("reason", not reason))
                                   if bad})
    account = lock_account(account.pk)
    if abs(points) > account.program.adjustment_approval_threshold:
        if actor.user is None:
            raise LoyaltyError(LoyaltyReason.APPROVAL_REQUIRED,
                               f"Adjustments above {account.program.adjustment_approval_threshold} points are "
                               "requested in the back-office and approved by a second person.")
        request = AdjustmentRequest.objects.create(account=account, points=points, reason=reason[:255],
                                                   requested_by=actor.user)
        record_audit(actor=actor, action="loyalty.adjustment_requested", target=request,
                     after={"points": points, "reason": reason, "customer": account.customer.source_id})
        return request
    entry = _apply(account, points=points, reason=reason, source_type="adjustment", source_id=uuid.uuid4().hex,
                   actor=actor, now=now)
    record_audit(actor=actor, action="loyalty.points_adjusted", target=account,
                 before={"points": account.points - points}, after={"points": account.points, "reason": reason})
    return entry


@transaction.atomic(durable=True)
def approve_adjustment(*, request: AdjustmentRequest, actor: Actor, now: datetime | None = None) -> LedgerEntry:
    """Apply a pending request; the approver must be a user other than the requester. Once only."""
    now = now or timezone.now()
    request = _claim(request, actor, AdjustmentStatus.APPROVED, now)
    account = lock_account(request.account_id)
    entry = _apply(account, points=request.points, reason=request.reason, source_type="adjustment_request",
                   source_id=str(request.pk), actor=actor, now=now)
    record_audit(actor=actor, action="loyalty.adjustment_approved", target=request,
                 before={"status": AdjustmentStatus.PENDING, "points": account.points - request.points},
                 after={"status": AdjustmentStatus.APPROVED, "points": account.points})
    return entry


@transaction.atomic(durable=True)
def reject_adjustment(*, request: AdjustmentRequest, actor: Actor, now: datetime | None = None) -> AdjustmentRequest:
    """Refuse a pending request (by a user other than the requester); no points move."""
    request = _claim(request, actor, AdjustmentStatus.REJECTED, now or timezone.now())
    record_audit(actor=actor, action="loyalty.adjustment_rejected", target=request,
                 before={"status": AdjustmentStatus.PENDING}, after={"status": AdjustmentStatus.REJECTED})
    return request


def _claim(request: AdjustmentRequest, actor: Actor, status: str, now: datetime) -> AdjustmentRequest:
    if actor.user is None or actor.user.pk == request.requested_by_id:
        raise LoyaltyError(LoyaltyReason.SECOND_PERSON_REQUIRED)
    # The conditional UPDATE lets exactly one decision win, even when two approvers click at once.
    decided = AdjustmentRequest.objects.filter(pk=request.pk, status=AdjustmentStatus.PENDING).update(
        status=status, decided_by=actor.user, decided_at=now)
    if decided != 1:
        raise LoyaltyError(LoyaltyReason.ALREADY_DECIDED)
    return AdjustmentRequest.objects.select_related("account").get(pk=request.pk)

"""The ledger's one write path. Not durable: the calling service owns the transaction and the lock.

Invariants kept here (check_loyalty_ledger proves them):
- account.points == Σ entry.points, account.pending_points == Σ entry.pending_points,
  account.lifetime_points == Σ (points + pending_points) of EARN, PENDING and REVERSE entries;
- Σ remaining of released lots == account.points whenever points >= 0 (a negative balance has no live
  lots: the next points earned pay the debt first), Σ remaining of pending lots == pending_points.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, LoyaltyProgram, PointLot
from retention.models import Customer

# Kinds whose points count as earned (lifetime and tier points); RELEASE only moves pending to spendable.
EARNED_KINDS = (EntryKind.EARN, EntryKind.PENDING, EntryKind.REVERSE)
# Each spending batch reads this many lots: enough for almost every redemption in one query.
LOT_BATCH = 50


def account_for(*, program: LoyaltyProgram, customer: Customer) -> LoyaltyAccount:
    """The customer's account in `program`, created on first use; the unique constraint settles races."""
    account = LoyaltyAccount.objects.filter(program=program, customer=customer).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LoyaltyAccount.objects.create(program=program, customer=customer)
    except IntegrityError:
        return LoyaltyAccount.objects.get(program=program, customer=customer)


def has_entry(account: LoyaltyAccount, *, kinds, source_type: str, source_id: str) -> bool:
    return LedgerEntry.objects.filter(account=account, kind__in=kinds, source_type=source_type,
                                      source_id=source_id).exists()


def post_entry(
    account: LoyaltyAccount,
    *,
    kind: str,
    points: int = 0,
    pending_points: int = 0,
    source_type: str,
    source_id: str,
    now: datetime,
    description: str = "",
    actor_label: str = "",
) -> LedgerEntry:
    """Append one entry and move the LOCKED account's balances by the same amounts."""
    account.points += points
    account.pending_points += pending_points
    if kind in EARNED_KINDS:
        account.lifetime_points += points + pending_points
    entry = LedgerEntry.objects.create(
        account=account, kind=kind, points=points, pending_points=pending_points,
        balance_after=account.points, pending_after=account.pending_points,
        source_type=source_type, source_id=str(source_id)[:255], description=description[:255],
        actor_label=actor_label[:150], created_at=now,
    )
    LoyaltyAccount.objects.filter(pk=account.pk).update(
        points=account.points, pending_points=account.pending_points, lifetime_points=account.lifetime_points,
    )
    return entry


def expiry_for(program: LoyaltyProgram, earned_at: datetime) -> datetime | None:
    days = program.points_expire_after_days
    return earned_at + timedelta(days=days) if days else None


def credit(
    account: LoyaltyAccount, *, kind: str, points: int, source_type: str, source_id: str, now: datetime,
    description: str = "", actor_label: str = "",
) -> LedgerEntry:
    """Spendable points now: an entry and a lot; a negative balance is paid off from the lot first."""
    debt = max(0, -account.points)
    entry = post_entry(account, kind=kind, points=points, source_type=source_type, source_id=source_id, now=now,
                       description=description, actor_label=actor_label)
    PointLot.objects.create(
        account=account, entry=entry, points=points, remaining=max(0, points - debt), earned_at=now,
        available_at=now, expires_at=expiry_for(account.program, now),
    )
    return entry


def credit_pending(
    account: LoyaltyAccount, *, points: int, source_type: str, source_id: str, now: datetime, available_at: datetime,
    description: str = "",
) -> LedgerEntry:
    """Points that become spendable at `available_at` (release_pending_points does it)."""
    entry = post_entry(account, kind=EntryKind.PENDING, pending_points=points, source_type=source_type,
                       source_id=source_id, now=now, description=description)
    PointLot.objects.create(
        account=account, entry=entry, points=points, remaining=points, earned_at=now, available_at=available_at,
        expires_at=expiry_for(account.program, now), is_pending=True,
    )
    return entry


def release_lot(account: LoyaltyAccount, lot: PointLot, *, now: datetime) -> LedgerEntry:
    """A pending lot becomes spendable (RELEASE entry, once per lot); a negative balance takes its share first."""
    debt = max(0, -account.points)
    entry = post_entry(account, kind=EntryKind.RELEASE, points=lot.remaining, pending_points=-lot.remaining,
                       source_type="lot", source_id=str(lot.pk), now=now, description=lot.entry.description)
    PointLot.objects.filter(pk=lot.pk).update(is_pending=False, remaining=max(0, lot.remaining - debt))
    return entry


def take_from_lots(account: LoyaltyAccount, points: int, *, first: PointLot | None = None) -> int:
    """Decrement live lots by `points`, oldest first (FIFO), `first` before all; returns what they held."""
    taken = 0
    if first is not None and first.remaining > 0:
        part = min(points, first.remaining)
        PointLot.objects.filter(pk=first.pk).update(remaining=F("remaining") - part)
        taken += part
    while taken < points:
        lots = list(
            PointLot.objects.filter(account=account, is_pending=False, remaining__gt=0)
            .order_by("earned_at", "id").values_list("pk", "remaining")[:LOT_BATCH]
        )
        if not lots:
            break
        for lot_id, remaining in lots:
            part = min(points - taken, remaining)
            PointLot.objects.filter(pk=lot_id).update(remaining=F("remaining") - part)
            taken += part
            if taken == points:
                break
    return taken


def debit(
    account: LoyaltyAccount, *, kind: str, points: int, source_type: str, source_id: str, now: datetime,
    description: str = "", actor_label: str = "",
) -> LedgerEntry:
    """Take `points` (> 0) from the balance, FIFO from the lots; what the lots lack leaves a negative balance."""
    take_from_lots(account, points)
    return post_entry(account, kind=kind, points=-points, source_type=source_type, source_id=source_id, now=now,
                      description=description, actor_label=actor_label)

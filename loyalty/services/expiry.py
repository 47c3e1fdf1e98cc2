"""Daily jobs on lots: pending points become spendable, old points expire, members are reminded first.

Accounts are handled ACCOUNTS_PER_TRANSACTION at a time, each chunk in its own short transaction under the
accounts' locks (taken in id order, so no deadlock with earning); every step is claimed by a
unique entry (RELEASE / EXPIRE per lot) or a flag set under the lock (is_reminded), so a second run
does nothing.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.locks import lock_account, lock_accounts
from loyalty.models import EntryKind, LoyaltyProgram, PointLot
from loyalty.services.ledger import post_entry, release_lot
from loyalty.services.notifications import notify_points_expiring

# One commit per account made the jobs (and the demo data) slow; 100 short-held row locks are harmless.
ACCOUNTS_PER_TRANSACTION = 100


def _accounts_with(lots) -> list[int]:
    return sorted(set(lots.values_list("account_id", flat=True)))


def _chunks(account_ids: list[int]):
    for offset in range(0, len(account_ids), ACCOUNTS_PER_TRANSACTION):
        yield account_ids[offset:offset + ACCOUNTS_PER_TRANSACTION]


def release_pending_points(*, now: datetime | None = None) -> int:
    """Pending lots whose return window is over become spendable (RELEASE entries); returns how many."""
    now = now or timezone.now()
    released = 0
    due = PointLot.objects.filter(is_pending=True, available_at__lte=now)
    for chunk in _chunks(_accounts_with(due)):
        with transaction.atomic(durable=True):
            accounts = {account.pk: account for account in lock_accounts(chunk)}
            for lot in (due.filter(account_id__in=chunk).select_related("entry")
                        .order_by("account_id", "earned_at", "id")):
                release_lot(accounts[lot.account_id], lot, now=now)
                released += 1
    return released


def expire_points(*, now: datetime | None = None) -> int:
    """Lots past their expires_at with points left: an EXPIRE entry each (once); returns the points expired."""
    now = now or timezone.now()
    expired = 0
    due = PointLot.objects.filter(is_pending=False, remaining__gt=0, expires_at__lte=now)
    for chunk in _chunks(_accounts_with(due)):
        with transaction.atomic(durable=True):
            accounts = {account.pk: account for account in lock_accounts(chunk)}
            for lot in due.filter(account_id__in=chunk).order_by("account_id", "expires_at", "id"):
                # Read under the lock: a redemption a moment ago may have emptied the lot.
                PointLot.objects.filter(pk=lot.pk).update(remaining=0)
                post_entry(accounts[lot.account_id], kind=EntryKind.EXPIRE, points=-lot.remaining, source_type="lot",
                           source_id=str(lot.pk), now=now, description="Points expired")
                expired += lot.remaining
    return expired


def send_expiry_reminders(*, now: datetime | None = None) -> int:
    """One reminder per account for its live points expiring within the program's expiry_reminder_days.

    Only points still there (remaining > 0, not yet expired) are counted; each lot is reminded once
    (is_reminded). Returns how many accounts were reminded.
    """
    now = now or timezone.now()
    horizon = Q()
    for program in LoyaltyProgram.objects.filter(is_active=True, points_expire_after_days__isnull=False):
        horizon |= Q(account__program=program, expires_at__lte=now + timedelta(days=program.expiry_reminder_days))
    if not horizon:
        return 0
    due = PointLot.objects.filter(horizon, is_pending=False, is_reminded=False, remaining__gt=0, expires_at__gt=now)
    reminded = 0
    for account_id in _accounts_with(due):
        with transaction.atomic(durable=True):
            account = lock_account(account_id)
            lots = list(due.filter(account_id=account_id).order_by("expires_at", "id"))
            if not lots:
                continue
            PointLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(is_reminded=True)
            first = lots[0]
            points = sum(lot.remaining for lot in lots)
            notify_points_expiring(account, points=points, expires_at=first.expires_at, first_lot_id=first.pk,
                                   now=now)
            reminded += 1
    return reminded

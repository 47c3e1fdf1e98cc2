"""The ledger's one write path. Not durable: the calling service owns the transaction and the lock.

Invariants kept here (check_loyalty_ledger proves them):
- account.points == Σ entry.points, account.pending_points == Σ entry.pending_points,
  account.lifetime_points == Σ (points + pending_points) of EARN, PENDING and REVERSE entries;
- Σ remaining of released lots == account.points whenever points >= 0 (a negative balance has no live
  lots: the next points earned pay the debt first), Σ remaining of pending lots == pending_points.
"""

from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, LoyaltyProgram, PointLot
from retention.models import Customer

# Kinds whose points count as earned (lifetime and tier points); RELEASE only moves pending to spendable.
EARNED_KINDS = (EntryKind.EARN, EntryKind.PENDING, EntryKind.REVERSE)
# Each spending batch reads this many lots: enough for almost every redemption in one query.
LOT_BATCH = 50
BATCH = 500  # rows per INSERT/UPDATE statement of the batch writes below (SQLite's parameter limit)


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


def ensure_accounts(pairs) -> None:
    """Create the missing accounts of these (program id, customer id) pairs, without locking any.

    Batch paths call it BEFORE they lock accounts (in id order). Locking the existing accounts first and then
    inserting the missing ones deadlocked: a transaction holding account locks waited on another's uncommitted
    insert of an account while that one waited for those locks. The rows go in (customer, program) order in
    every transaction, so concurrent inserts of the same accounts queue instead; an existing account costs an
    index probe. One statement per ACCOUNT_INSERT_BATCH pairs (ON CONFLICT DO NOTHING: PostgreSQL, SQLite)."""
    ordered = sorted(set(pairs), key=lambda pair: (pair[1], pair[0]))
    joined = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), ACCOUNT_INSERT_BATCH):
            chunk = ordered[start:start + ACCOUNT_INSERT_BATCH]
            cursor.execute(
                f"INSERT INTO {LoyaltyAccount._meta.db_table} (program_id, customer_id, points, pending_points, "  # noqa: S608
                f"lifetime_points, tier_id, tier_points, joined_at) "
                f"VALUES {', '.join(['(%s, %s, 0, 0, 0, NULL, 0, %s)'] * len(chunk))} ON CONFLICT DO NOTHING",
                [value for program_id, customer_id in chunk for value in (program_id, customer_id, joined)])


ACCOUNT_INSERT_BATCH = 300  # 900 parameters: under old SQLite builds' limit of 999


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


class Credit(NamedTuple):
    """One credit() of credit_many: the same arguments."""

    account: LoyaltyAccount
    kind: str
    points: int
    source_type: str
    source_id: str
    description: str = ""
    actor_label: str = ""


def credit_many(credits: list[Credit], *, now: datetime) -> list[LedgerEntry]:
    """credit() for each item, in the order given, in three statements whatever their number: the entries,
    the lots and the accounts' balances. The same entries, lots and balances as calling credit one by one
    (an account credited twice sees its first credit, a negative balance is paid off from the first lots);
    the unique (account, kind, source) constraint refuses a replay as it does credit's. Not durable, like
    credit: the caller owns the transaction and has locked the accounts (one object per account)."""
    if not credits:
        return []
    entries, lots, touched = [], [], {}
    for item in credits:
        # The same moves as post_entry and credit, in memory.
        account = touched.setdefault(item.account.pk, item.account)
        debt = max(0, -account.points)
        account.points += item.points
        if item.kind in EARNED_KINDS:
            account.lifetime_points += item.points
        entry = LedgerEntry(
            account=account, kind=item.kind, points=item.points, pending_points=0, balance_after=account.points,
            pending_after=account.pending_points, source_type=item.source_type,
            source_id=str(item.source_id)[:255], description=item.description[:255],
            actor_label=item.actor_label[:150], created_at=now)
        entries.append(entry)
        lots.append((account.pk, entry, item.points, max(0, item.points - debt), now,
                     expiry_for(account.program, now), False))
    insert_entries_and_lots(entries, lots, now=now)
    update_accounts(list(touched.values()), columns=BALANCE_COLUMNS)
    for item in credits:  # another object of an account already seen gets its final balances too
        if item.account is not touched[item.account.pk]:
            for column in BALANCE_COLUMNS[1:]:
                setattr(item.account, column, getattr(touched[item.account.pk], column))
    return entries


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


# Batch writes (earn_for_orders, credit_many) ----------------------------------------------------------------------

ENTRY_ARRAYS = ("account_id", "kind", "points", "pending_points", "balance_after", "pending_after", "source_type",
                "source_id", "description", "actor_label")
LOT_ARRAYS = ("account_id", "entry_id", "points", "remaining", "available_at", "expires_at", "is_pending")


def insert_entries_and_lots(entries: list, lots: list, *, now: datetime) -> None:
    """The batch's entries (created at `now`; their ids set) and lots: `lots` holds (account id, entry, points,
    remaining, available_at, expires_at, is_pending), earned at `now`. On PostgreSQL two INSERT ... SELECT FROM
    unnest(arrays), written by hand: Django's bulk_create prepared every field of every row in Python (about
    a third of the batch's CPU); on SQLite bulk_create. Not durable."""
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create(entries, batch_size=BATCH)
        PointLot.objects.bulk_create([
            PointLot(account_id=account_id, entry=entry, points=points, remaining=remaining, earned_at=now,
                     available_at=available_at, expires_at=expires_at, is_pending=pending)
            for account_id, entry, points, remaining, available_at, expires_at, pending in lots], batch_size=BATCH)
        return
    entry_table, lot_table = LedgerEntry._meta.db_table, PointLot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entry_table} ({', '.join(ENTRY_ARRAYS)}, created_at) "  # noqa: S608
            f"SELECT v.*, %s FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], "
            f"%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) AS v RETURNING id",
            [now, *([getattr(entry, column) for entry in entries] for column in ENTRY_ARRAYS)])
        # RETURNING gives the rows in the order of the arrays (Django's bulk_create relies on it too).
        for entry, (entry_id,) in zip(entries, cursor.fetchall(), strict=True):
            entry.pk = entry_id
            entry._state.adding = False
        columns = list(zip(*lots, strict=True))
        columns[1] = [entry.pk for entry in columns[1]]
        cursor.execute(
            f"INSERT INTO {lot_table} ({', '.join(LOT_ARRAYS)}, earned_at, is_reminded) "  # noqa: S608
            f"SELECT v.*, %s, %s FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
            f"%s::timestamptz[], %s::timestamptz[], %s::boolean[]) AS v",
            [now, False, *(list(column) for column in columns)])


ACCOUNT_COLUMNS = ("id", "points", "pending_points", "lifetime_points", "tier_points", "tier_id")
BALANCE_COLUMNS = ("id", "points", "pending_points", "lifetime_points")  # what post_entry writes


def update_accounts(accounts: list, *, columns: tuple = ACCOUNT_COLUMNS) -> None:
    """The accounts' `columns` (id first; balances and tiers by default) in one UPDATE ... FROM unnest(arrays)
    on PostgreSQL, one UPDATE ... FROM (VALUES) per BATCH rows on SQLite (>= 3.33); Django's bulk_update
    builds a CASE per column and row. Not durable: the caller has locked the accounts."""
    table = LoyaltyAccount._meta.db_table
    sets = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    if connection.vendor == "postgresql":
        # One array per column: a parameter per column instead of one per column and row (psycopg re-parses
        # a long query text on every call, which cost more CPU than the update itself).
        sql = (f"UPDATE {table} SET {sets} FROM unnest({', '.join(['%s::bigint[]'] * len(columns))}) "  # noqa: S608
               f"AS v({', '.join(columns)}) WHERE {table}.id = v.id")
        with connection.cursor() as cursor:
            cursor.execute(sql, [[getattr(account, "pk" if column == "id" else column) for account in accounts]
                                 for column in columns])
        return
    casts = ", ".join(f"{column} = CAST(v.{column} AS bigint)" for column in columns[1:])
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for offset in range(0, len(accounts), BATCH):
            chunk = accounts[offset:offset + BATCH]
            params = [getattr(account, "pk" if column == "id" else column) for account in chunk for column in columns]
            sql = (f"WITH v({', '.join(columns)}) AS (VALUES {', '.join([row] * len(chunk))}) "  # noqa: S608
                   f"UPDATE {table} SET {casts} FROM v WHERE {table}.id = CAST(v.id AS bigint)")
            cursor.execute(sql, params)

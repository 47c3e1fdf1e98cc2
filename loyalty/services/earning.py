"""Earning from orders, events and sign-ups, and reversing a refunded order's points.

Each call is one durable transaction over every active program the customer belongs to; every account
is locked (loyalty.locks, id order) before its balance moves. Replays earn nothing twice: each entry is
unique per (account, kind, source) and checked under the lock.

Order points (decided): points = amount × points_per_unit / 100 (per 1.00 of the PAID amount), times the
items' weighted multiplier (each line's share of the items total times its category multiplier and the
best bonus period matching it: bonus periods never compound with each other), times the tier multiplier.
Everything is integer arithmetic and rounded ONCE, half up, at the end (retention.money.round_half_up):
an order of 0.50 at 1 point per 1.00 earns 1 point, 0.49 earns 0. Orders in another currency than the
program's earn nothing in that program.
"""

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty.models import (
    BonusPeriod,
    EarningRule,
    EntryKind,
    LedgerEntry,
    LoyaltyAccount,
    LoyaltyProgram,
    MilestoneAchievement,
    PointLot,
    QueuedOrder,
    Tier,
    TierBasis,
)
from loyalty.services.ledger import (
    EARNED_KINDS,
    credit,
    ensure_accounts,
    expiry_for,
    has_entry,
    insert_entries_and_lots,
    post_entry,
    take_from_lots,
    update_accounts,
)
from loyalty.services.notifications import notify_tier_changed, tier_changed_templates
from loyalty.services.tiers import TIER_WINDOW, award_milestones, evaluate_tier, reached, tier_for
from retention.collecting import collect, schedule_collector
from retention.messaging.services.webhooks import emit_webhook, emit_webhooks
from retention.models import Customer, Event, Order, OrderItem, OrderStatus
from retention.money import round_half_up

REFUNDED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


_rules_cache: dict = {}  # {"key": the active programs' rows, "programs": [...]}, per process


def active_programs() -> list[LoyaltyProgram]:
    """Active programs with what earning needs (tiers, multipliers, bonus periods, milestones); read-only.

    Cached per process: one small statement reads the active programs' rows (every column, updated_at too),
    and the rules are read again (5 queries) only when a row changed. A program's own fields are thus never
    stale; its tiers, multipliers, bonus periods and milestones change only through programs._save, which
    saves the program (updated_at), and changes in this process (tests, the shell) also clear the cache
    (loyalty.receivers.on_program_rule_changed).
    """
    with connection.cursor() as cursor:
        cursor.execute(ACTIVE_PROGRAMS_SQL, [True])
        key = tuple(cursor.fetchall())
    if _rules_cache.get("key") != key:
        # Edited between the two reads: newer rules under an older key, read again on the next call.
        programs = list(
            LoyaltyProgram.objects.filter(pk__in=[row[0] for row in key])
            .prefetch_related("tiers", "category_multipliers", "bonus_periods", "milestones__reward")
            .order_by("pk")
        )
        _rules_cache.clear()
        _rules_cache.update(key=key, programs=programs)
    return list(_rules_cache["programs"])


ACTIVE_PROGRAMS_SQL = (
    f"SELECT {', '.join(field.column for field in LoyaltyProgram._meta.concrete_fields)} "  # noqa: S608
    f"FROM {LoyaltyProgram._meta.db_table} WHERE is_active = %s ORDER BY id"
)


def forget_program_rules() -> None:
    _rules_cache.clear()


def order_points(program: LoyaltyProgram, order: Order, items: list, *, tier_multiplier_percent: int = 100) -> int:
    """The points `order` earns in `program` (rules in the module docstring). Pure: reads no database."""
    if order.currency.upper() != program.currency.upper() or order.amount <= 0:
        return 0
    categories = {row.category: row.multiplier_percent for row in program.category_multipliers.all()}
    periods = [period for period in program.bonus_periods.all()
               if period.starts_at <= order.created_at < period.ends_at]
    lines = [(item.quantity * item.unit_price, _line_percent(item, categories, periods)) for item in items]
    items_total = sum(amount for amount, _percent in lines)
    if items_total > 0:
        weighted, weight = sum(amount * percent for amount, percent in lines), items_total * 10000
    else:  # no items: only bonus periods for every product apply
        weighted = 100 * max([period.multiplier_percent for period in periods if _for_everything(period)] or [100])
        weight = 10000
    numerator = order.amount * program.points_per_unit * weighted * tier_multiplier_percent
    return round_half_up(numerator, 100 * weight * 100)


def _for_everything(period: BonusPeriod) -> bool:
    return not period.skus and not period.categories


def _line_percent(item, categories: dict, periods: list) -> int:
    """The line's category percent times its best bonus percent: in 1/10,000ths, so nothing rounds yet."""
    matching = [period.multiplier_percent for period in periods
                if _for_everything(period) or item.sku in period.skus or item.category in period.categories]
    return categories.get(item.category, 100) * max(matching or [100])


def _accounts(customer: Customer, programs: list[LoyaltyProgram]) -> list:
    """The customer's accounts in `programs`, created first when missing (ensure_accounts: before any lock, or
    a batch could deadlock with us), then locked in id order."""
    by_program = {program.pk: program for program in programs}
    ensure_accounts([(program_id, customer.pk) for program_id in by_program])
    locked = _lock_member(customer, by_program)
    for account in locked:
        account.program = by_program[account.program_id]  # keep the prefetched rules
        account.customer = customer
    return locked


def _lock_member(customer: Customer, by_program: dict) -> list:
    return list(LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("tier")
                .filter(customer=customer, program_id__in=by_program).order_by("pk"))


def _after_earning(account, entry, *, points: int, source: dict, now: datetime) -> None:
    tiers = sorted(account.program.tiers.all(), key=lambda tier: tier.threshold)
    evaluate_tier(account, now=now, tiers=tiers)
    award_milestones(account, now=now, milestones=list(account.program.milestones.all()))
    emit_webhook(type="loyalty.points_earned", now=now, data={
        "customer": account.customer.source_id, "program": account.program_id, "points": points,
        "pending": entry.kind == EntryKind.PENDING, "balance": account.points,
        "pending_points": account.pending_points, **source,
    })


@transaction.atomic(durable=True)
def earn_for_order(*, order_id: int, now: datetime | None = None) -> list:
    """Earn a PAID order's points in every active program; returns the new entries (empty on a replay).

    With pending_days the points wait (PENDING entry and a pending lot available after the window);
    otherwise they are spendable at once (EARN). An order no longer paid (refunded before this ran)
    earns nothing. Then the tier is re-evaluated, milestones awarded and `loyalty.points_earned` emitted.
    Orders recorded through retention no longer come here one by one: they are queued (queue_order_earning).
    """
    # The batch path with one order: one implementation of order earning, and lighter than the ORM reads
    # and per-entry writes this path had (about a quarter less CPU per order, as many statements).
    return _earn_for_orders([order_id], now=now)


@transaction.atomic(durable=True)
def reverse_order_points(*, order_id: int, now: datetime | None = None) -> list:
    """Take back a refunded or cancelled order's points, once per account; returns the REVERSE entries.

    Still pending: they leave pending_points (the lot is emptied and never released). Already
    spendable: the order's full points leave the balance, first from the order's own lot, then from the
    oldest lots; what is already spent leaves a NEGATIVE balance, which blocks spending until later
    earnings pay it off. Milestone bonuses already given are kept. Tiers are re-evaluated (downgrade).
    """
    now = now or timezone.now()
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None or order.status not in REFUNDED:
        return []
    programs = active_programs()
    entries = []
    for account in _accounts(order.customer, programs):
        earned = (PointLot.objects.select_related("entry")
                  .filter(account=account, entry__source_type="order", entry__source_id=order.source_id,
                          entry__kind__in=(EntryKind.EARN, EntryKind.PENDING)).first())
        if earned is None or has_entry(account, kinds=(EntryKind.REVERSE,), source_type="order",
                                       source_id=order.source_id):
            continue
        description = f"Order {order.source_id} {order.status}"
        if earned.is_pending:
            PointLot.objects.filter(pk=earned.pk).update(remaining=0, is_pending=False)
            entry = post_entry(account, kind=EntryKind.REVERSE, pending_points=-earned.remaining,
                               source_type="order", source_id=order.source_id, now=now, description=description)
        else:
            take_from_lots(account, earned.points, first=earned)
            entry = post_entry(account, kind=EntryKind.REVERSE, points=-earned.points, source_type="order",
                               source_id=order.source_id, now=now, description=description)
        entries.append(entry)
        evaluate_tier(account, now=now, tiers=sorted(account.program.tiers.all(), key=lambda tier: tier.threshold))
    return entries


@transaction.atomic(durable=True)
def earn_for_event(*, event_id: int, now: datetime | None = None) -> list:
    """Fixed points for a custom event by each active program's EarningRule for its type.

    Limits: `max_per_month` awards of that event type per calendar month (UTC); `once_per_property`:
    one award per distinct value of that property (an event without it earns nothing). Idempotent by
    the event's id (or the property value), so a replayed event never earns twice.
    """
    now = now or timezone.now()
    event = Event.objects.select_related("customer").filter(pk=event_id).first()
    if event is None:
        return []
    rules = {rule.program_id: rule for rule in EarningRule.objects.filter(
        event_type=event.type, is_active=True, program__is_active=True)}
    programs = [program for program in active_programs() if program.pk in rules]
    entries = []
    for account in _accounts(event.customer, programs):
        rule = rules[account.program_id]
        source_id = _event_source(event, rule)
        if source_id is None or has_entry(account, kinds=(EntryKind.EARN,), source_type="event", source_id=source_id):
            continue
        if rule.max_per_month is not None:
            month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            awarded = account.entries.filter(kind=EntryKind.EARN, source_type="event", description=event.type,
                                             created_at__gte=month_start).count()
            if awarded >= rule.max_per_month:
                continue
        # The description holds the event type: the monthly limit counts by it.
        entry = credit(account, kind=EntryKind.EARN, points=rule.points, source_type="event", source_id=source_id,
                       now=now, description=event.type)
        entries.append(entry)
        _after_earning(account, entry, points=rule.points, source={"event": source_id, "event_type": event.type},
                       now=now)
    return entries


def _event_source(event: Event, rule: EarningRule) -> str | None:
    if rule.once_per_property:
        value = (event.properties or {}).get(rule.once_per_property)
        if value in (None, ""):
            return None
        return f"{event.type}:{rule.once_per_property}={value}"
    return event.event_id or f"#{event.pk}"


@transaction.atomic(durable=True)
def earn_signup_bonus(*, customer_id: int, now: datetime | None = None) -> list:
    """Each active program's sign-up bonus, spendable at once, once per account."""
    now = now or timezone.now()
    customer = Customer.objects.filter(pk=customer_id, erased_at__isnull=True).first()
    programs = [program for program in active_programs() if program.signup_bonus > 0]
    if customer is None or not programs:
        return []
    entries = []
    for account in _accounts(customer, programs):
        if has_entry(account, kinds=(EntryKind.EARN,), source_type="signup", source_id=customer.source_id):
            continue
        points = account.program.signup_bonus
        entry = credit(account, kind=EntryKind.EARN, points=points, source_type="signup",
                       source_id=customer.source_id, now=now, description="Sign-up bonus")
        entries.append(entry)
        _after_earning(account, entry, points=points, source={"signup": True}, now=now)
    return entries


@transaction.atomic(durable=True)
def earn_for_orders(*, order_ids: list[int], now: datetime | None = None) -> list:
    """earn_for_order for many orders in ONE transaction (see _earn_for_orders)."""
    return _earn_for_orders(order_ids, now=now)


def _earn_for_orders(order_ids: list[int], *, now: datetime | None = None) -> list:
    """earn_for_order for many orders in ONE transaction, set-based: a fixed number of statements per call
    (plus one per tier change or milestone reached), whatever the number of orders. Returns the new entries.

    Same rules and guarantees as earn_for_order: the accounts are created in one statement and locked in
    id order, orders are taken in id order (a later order of the same customer sees the tier an earlier
    one reached), a source already earned is skipped (the unique constraint backs it), the tier is
    re-evaluated after each earning, milestones come once at the end of the batch. Used by the order queue
    (earn_queued_orders: every order recorded through retention), the Celery task for batches and the demo
    data. Callers pass at most a few thousand ids. Not durable: the caller owns the transaction.
    """
    now = now or timezone.now()
    order_ids = list(order_ids)
    if not order_ids:
        return []
    customer_ids = sorted(row[0] for row in _rows(
        f"SELECT DISTINCT customer_id FROM {ORDER} WHERE id IN ({_marks(order_ids)}) AND status = %s",  # noqa: S608
        [*order_ids, OrderStatus.PAID]))
    programs = active_programs()
    if not customer_ids or not programs:
        return []
    by_program = {program.pk: program for program in programs}
    # Every account exists before any is locked. Locking the existing ones first and then inserting the
    # missing ones deadlocked: a transaction holding account locks waited on another's uncommitted insert
    # while that one waited, in its id-ordered locking, for those locks (the collectors' race test).
    ensure_accounts([(program_id, customer_id) for customer_id in customer_ids for program_id in by_program])
    accounts = _lock_accounts(customer_ids, by_program)
    by_customer = {}
    for account in accounts:
        by_customer.setdefault(account.customer_id, []).append(account)
    # The orders are read once the accounts are locked: a refund committed before this read is not earned,
    # one committed after it waits for our commit in reverse_order_points (which locks the accounts first).
    # Hand-written reads into plain tuples (order_points reads attributes only): the ORM's compilation of
    # these five reads was about a third of the CPU of an order earned on its own.
    orders = [_OrderRow(pk, source_id, customer_id, amount, currency, aware_from_db(created_at))
              for pk, source_id, customer_id, amount, currency, created_at in _rows(
                  f"SELECT id, source_id, customer_id, amount, currency, created_at FROM {ORDER} "  # noqa: S608
                  f"WHERE id IN ({_marks(order_ids)}) AND status = %s ORDER BY id", [*order_ids, OrderStatus.PAID])]
    if not orders:
        return []
    order_pks = [order.pk for order in orders]
    items = {}
    for order_id, *item in _rows(f"SELECT order_id, sku, category, quantity, unit_price FROM {ORDER_ITEM} "  # noqa: S608
                                 f"WHERE order_id IN ({_marks(order_pks)}) ORDER BY id", order_pks):
        items.setdefault(order_id, []).append(_ItemRow(*item))
    account_ids = [account.pk for account in accounts]
    source_ids = [order.source_id for order in orders]
    done = set(_rows(
        f"SELECT account_id, source_id FROM {ENTRY} WHERE account_id IN ({_marks(account_ids)}) "  # noqa: S608
        f"AND kind IN (%s, %s) AND source_type = %s AND source_id IN ({_marks(source_ids)})",
        [*account_ids, EntryKind.EARN, EntryKind.PENDING, "order", *source_ids]))
    rolling = [account.pk for account in accounts if account.program.tier_basis == TierBasis.ROLLING_12_MONTHS]
    window = {account_id: int(total) for account_id, total in _rows(
        f"SELECT account_id, SUM(points + pending_points) FROM {ENTRY} WHERE account_id IN ({_marks(rolling)}) "  # noqa: S608
        f"AND kind IN ({_marks(EARNED_KINDS)}) AND created_at > %s GROUP BY account_id",
        [*rolling, *EARNED_KINDS, connection.ops.adapt_datetimefield_value(now - TIER_WINDOW)])} if rolling else {}
    tiers = {program.pk: sorted(program.tiers.all(), key=lambda tier: tier.threshold) for program in programs}

    entries, lots, earned, tier_changes, touched = [], [], [], [], {}
    for order in orders:
        for account in by_customer.get(order.customer_id, []):
            program = account.program
            if (account.pk, order.source_id) in done:
                continue
            tier_percent = account.tier.multiplier_percent if account.tier_id else 100
            points = order_points(program, order, items.get(order.pk, []), tier_multiplier_percent=tier_percent)
            if points <= 0:
                continue
            done.add((account.pk, order.source_id))
            touched[account.pk] = account
            # The same moves as ledger.post_entry and credit, in memory.
            debt = max(0, -account.points)
            pending = bool(program.pending_days)
            if pending:
                account.pending_points += points
            else:
                account.points += points
            account.lifetime_points += points
            entry = LedgerEntry(
                account=account, kind=EntryKind.PENDING if pending else EntryKind.EARN,
                points=0 if pending else points, pending_points=points if pending else 0,
                balance_after=account.points, pending_after=account.pending_points, source_type="order",
                source_id=order.source_id[:255], description=f"Order {order.source_id}"[:255], created_at=now)
            entries.append(entry)
            lots.append((account.pk, entry, points, points if pending else max(0, points - debt),
                         now + timedelta(days=program.pending_days), expiry_for(program, now), pending))
            earned.append((account, entry, order))
            # evaluate_tier, in memory: the window's sum plus what this batch earned.
            if tiers[program.pk] or account.tier_id is not None:
                window[account.pk] = window.get(account.pk, 0) + points
                points_now = (account.lifetime_points if program.tier_basis == TierBasis.LIFETIME
                              else window[account.pk])
                new_tier = tier_for(tiers[program.pk], points_now)
                if (new_tier.pk if new_tier else None) != account.tier_id:
                    tier_changes.append((account, account.tier if account.tier_id else None, new_tier, points_now))
                account.tier_points, account.tier = points_now, new_tier
    if not entries:
        return []
    insert_entries_and_lots(entries, lots, now=now)
    update_accounts(list(touched.values()))
    if tier_changes:
        emit_webhooks(type="loyalty.tier_changed", now=now, items=[{
            "customer": account.customer.source_id, "program": account.program_id,
            "previous_tier": old_tier.name if old_tier else None, "tier": new_tier.name if new_tier else None,
            "tier_points": points_now,
        } for account, old_tier, new_tier, points_now in tier_changes])
        templates = tier_changed_templates()
        if templates:
            for account, old_tier, new_tier, _points in tier_changes:
                notify_tier_changed(account, old_tier=old_tier, new_tier=new_tier, now=now, templates=templates)
    _award_milestones_in_batch(list(touched.values()), now=now)
    emit_webhooks(type="loyalty.points_earned", now=now, items=[{
        "customer": account.customer.source_id, "program": account.program_id, "points": entry.points
        + entry.pending_points, "pending": entry.kind == EntryKind.PENDING, "balance": entry.balance_after,
        "pending_points": entry.pending_after, "order": order.source_id,
    } for account, entry, order in earned])
    return entries


ORDER, ORDER_ITEM, ENTRY = Order._meta.db_table, OrderItem._meta.db_table, LedgerEntry._meta.db_table


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def _rows(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(value) if isinstance(value, Enum) else value for value in params])
        return cursor.fetchall()


def aware_from_db(value) -> datetime:
    """A raw read's datetime as the ORM gives it (SQLite hands back naive UTC datetimes, or text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _lock_accounts(customer_ids: list[int], by_program: dict) -> list:
    """The accounts locked in id order, each with its program and tier taken from the cached rules."""
    accounts = list(LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("customer")
                    .filter(customer_id__in=customer_ids, program_id__in=by_program).order_by("pk"))
    tiers = {tier.pk: tier for program in by_program.values() for tier in program.tiers.all()}
    for account in accounts:
        account.program = by_program[account.program_id]
        if account.tier_id is not None:
            # Not cached: a tier added since this process read the rules (another process already uses it).
            account.tier = tiers.get(account.tier_id) or Tier.objects.get(pk=account.tier_id)
    return accounts


class _OrderRow(NamedTuple):
    pk: int
    source_id: str
    customer_id: int
    amount: int
    currency: str
    created_at: datetime


class _ItemRow(NamedTuple):
    sku: str
    category: str
    quantity: int
    unit_price: int


def _award_milestones_in_batch(accounts: list, *, now: datetime) -> None:
    """award_milestones for the accounts that may have reached one: one query for what they already got."""
    # Only accounts that reached one (the rare case) cost the query for what they already got.
    candidates = [account for account in accounts if any(
        reached(milestone, account, account.customer) for milestone in account.program.milestones.all())]
    if not candidates:
        return
    achieved = set(MilestoneAchievement.objects.filter(account__in=candidates)
                   .values_list("account_id", "milestone_id"))
    for account in candidates:
        milestones = list(account.program.milestones.all())
        if any((account.pk, milestone.pk) not in achieved and reached(milestone, account, account.customer)
               for milestone in milestones):
            award_milestones(account, now=now, milestones=milestones)


# The order queue -------------------------------------------------------------------------------------------
# Orders arrive one per request; earning each in its own transaction costs ~20 statements per order, while
# earn_for_orders costs ~20 per batch. So the order_recorded receiver only queues the order (one INSERT) and
# schedules one collecting task per second (retention.collecting), which earns everything queued in batches.

QUEUE_BATCH = 500  # orders per collecting transaction
SCHEDULED_KEY = "loyalty:order-queue:scheduled"


def queue_order_earning(*, order_id: int) -> None:
    """Queue a paid order for earning (idempotent) and make sure a collecting task will run after commit."""
    # Hand-written: on the web request's path, and the ORM's bulk_create cost ~1 ms of CPU for this one row.
    # ON CONFLICT DO NOTHING (PostgreSQL, SQLite >= 3.24): a replayed signal queues nothing twice.
    with connection.cursor() as cursor:  # one statement: atomic on its own, no transaction block needed
        cursor.execute(QUEUE_SQL, [order_id, connection.ops.adapt_datetimefield_value(timezone.now())])
    transaction.on_commit(_schedule_collector)


QUEUE_SQL = (
    f"INSERT INTO {QueuedOrder._meta.db_table} (order_id, queued_at) VALUES (%s, %s) "  # noqa: S608
    "ON CONFLICT (order_id) DO NOTHING"
)


def _schedule_collector() -> None:
    from loyalty.tasks import earn_queued_orders_task

    schedule_collector(SCHEDULED_KEY, earn_queued_orders_task)


def earn_queued_orders(*, now: datetime | None = None) -> int:
    """Earn every queued order, QUEUE_BATCH per durable transaction; returns how many orders were taken.

    Concurrent collectors take disjoint batches (retention.collecting); each batch's accounts are locked in id
    order by earn_for_orders, so collectors and per-order services never deadlock.
    """
    return collect(SCHEDULED_KEY, QueuedOrder, lambda order_ids: _earn_for_orders(order_ids, now=now),
                   batch_size=QUEUE_BATCH)

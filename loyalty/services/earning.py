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

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from loyalty.locks import lock_accounts
from loyalty.models import BonusPeriod, EarningRule, EntryKind, LoyaltyProgram, PointLot
from loyalty.services.ledger import account_for, credit, credit_pending, has_entry, post_entry, take_from_lots
from loyalty.services.tiers import award_milestones, evaluate_tier
from retention.messaging.services.webhooks import emit_webhook
from retention.models import Customer, Event, Order, OrderStatus
from retention.money import round_half_up

REFUNDED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


def active_programs() -> list[LoyaltyProgram]:
    """Active programs with what earning needs, in a fixed number of queries."""
    return list(
        LoyaltyProgram.objects.filter(is_active=True)
        .prefetch_related("tiers", "category_multipliers", "bonus_periods", "milestones__reward")
        .order_by("pk")
    )


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
    """The customer's accounts in `programs` (created on first use), locked in id order."""
    ids = [account_for(program=program, customer=customer).pk for program in programs]
    by_program = {program.pk: program for program in programs}
    locked = lock_accounts(ids)
    for account in locked:
        account.program = by_program[account.program_id]  # keep the prefetched rules
    return locked


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
    """
    now = now or timezone.now()
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PAID:
        return []
    programs = active_programs()
    if not programs:
        return []
    items = list(order.items.all())
    entries = []
    for account in _accounts(order.customer, programs):
        program = account.program
        if has_entry(account, kinds=(EntryKind.EARN, EntryKind.PENDING), source_type="order",
                     source_id=order.source_id):
            continue
        tier_percent = account.tier.multiplier_percent if account.tier_id else 100
        points = order_points(program, order, items, tier_multiplier_percent=tier_percent)
        if points <= 0:
            continue
        description = f"Order {order.source_id}"
        if program.pending_days:
            entry = credit_pending(account, points=points, source_type="order", source_id=order.source_id, now=now,
                                   available_at=now + timedelta(days=program.pending_days), description=description)
        else:
            entry = credit(account, kind=EntryKind.EARN, points=points, source_type="order",
                           source_id=order.source_id, now=now, description=description)
        entries.append(entry)
        _after_earning(account, entry, points=points, source={"order": order.source_id}, now=now)
    return entries


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

"""Conversion, hold, release, refund and the marketer's review of held referrals.

A referral converts once: its status leaves PENDING by a conditional UPDATE that only one of several
concurrent order messages can win; the loser finds nothing to do.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.services.codes import audit_entry
from referrals.errors import ReferralError, ReferralReason
from referrals.models import (
    CONVERTED_STATUSES,
    FraudSignal,
    PayoutStatus,
    QueuedConversion,
    Referral,
    ReferralReward,
    ReferralStatus,
    RewardType,
)
from referrals.services.fraud import identity_signals
from referrals.services.rewards import cancel_rewards, reward_referrer, reward_referrers
from retention.actors import Actor
from retention.audit import record_audit
from retention.collecting import collect, schedule_collector
from retention.errors import InvalidInput
from retention.messaging.services.webhooks import emit_webhook, emit_webhooks
from retention.models import AuditEntry, Event, Order, OrderStatus

SYSTEM = Actor.system("referrals")
# What converting and rewarding read, in the query that finds the pending referrals.
CONVERTING = ("program__loyalty_program", "code", "referrer", "friend")


def _earlier_order() -> Exists:
    """An order of the same customer before this one (created earlier, or at the same moment with a lower id)."""
    return Exists(Order.objects.filter(customer_id=OuterRef("customer_id")).exclude(pk=OuterRef("pk")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))))


def _within(referral: Referral, moment: datetime) -> bool:
    days = referral.program.within_days
    return days is None or moment <= referral.registered_at + timedelta(days=days)


@transaction.atomic(durable=True)
def convert_for_order(*, order_id: int, now: datetime | None = None) -> list[Referral]:
    """Convert the friend's pending referrals whose program converts on a first paid order: the order is
    the friend's first, paid, at least min_order_amount and within `within_days` of the registration.
    The batch path with one order: the same statements whatever the number of orders."""
    return convert_orders_in_transaction([order_id], now=now or timezone.now())


@transaction.atomic(durable=True)
def convert_for_event(*, event_id: int, now: datetime | None = None) -> list[Referral]:
    """Convert the friend's pending referrals whose program converts on this event's type."""
    now = now or timezone.now()
    event = Event.objects.get(pk=event_id)
    converted = []
    for referral in Referral.objects.filter(friend_id=event.customer_id, status=ReferralStatus.PENDING,
                                            program__is_enabled=True, program__conversion_event=event.type
                                            ).select_related(*CONVERTING):
        if _within(referral, event.occurred_at) and _convert(referral, now=now, event=event, amount=0):
            converted.append(referral)
    return converted


def _convert(referral: Referral, *, now: datetime, amount: int, order: Order | None = None,
             event: Event | None = None) -> bool:
    """Claim the pending referral with its final status in one conditional UPDATE: HELD (a hold period or a
    fraud signal, from registration or found now) or REWARDED, in which case the referrer is rewarded here."""
    program = referral.program
    # The shop may have changed an email or phone since the registration: checked again (no query).
    late_signals = identity_signals(referral.referrer, referral.friend)
    needs_review = referral.needs_review or bool(late_signals)
    hold = program.reward_hold_days > 0 or needs_review
    changes = {"status": ReferralStatus.HELD if hold else ReferralStatus.REWARDED, "converted_at": now,
               "conversion_order": order, "conversion_event": event, "conversion_amount": amount,
               "reward_due_at": now + timedelta(days=program.reward_hold_days) if hold else None}
    if late_signals:
        changes["needs_review"] = True
    claimed = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.PENDING).update(**changes)
    if claimed != 1:
        return False  # another message converted it first
    for name, value in changes.items():
        setattr(referral, name, value)
    referral.needs_review = needs_review
    if late_signals:
        FraudSignal.objects.bulk_create(
            [FraudSignal(referral=referral, kind=kind, detail=detail, created_at=now) for kind, detail in late_signals],
            ignore_conflicts=True)
    if not hold:
        reward_referrer(referral, actor=SYSTEM, now=now)
    record_audit(actor=SYSTEM, action="referral.converted", target=referral,
                 before={"status": ReferralStatus.PENDING},
                 after={"status": referral.status, "order": order.source_id if order else None,
                        "event": event.type if event else None, "needs_review": referral.needs_review})
    emit_webhook(type="referral.converted", now=now, data={
        "id": referral.pk, "program": program.pk, "referral_code": referral.code.code,
        "referrer": referral.referrer.source_id, "customer": referral.friend.source_id,
        "order": order.source_id if order else None, "event": event.type if event else None,
        "amount": amount, "status": referral.status, "converted_at": now,
    })
    return True


def _reward(referral: Referral, *, actor: Actor, now: datetime) -> None:
    """Reward a referral its caller has already claimed as REWARDED."""
    reward_referrer(referral, actor=actor, now=now)
    referral.status, referral.reward_due_at = ReferralStatus.REWARDED, None


@transaction.atomic(durable=True)
def cancel_for_refund(*, order_id: int, now: datetime | None = None) -> list[Referral]:
    """A refund (or cancellation) of the converting order inside the program's return window cancels the
    conversion and takes back the referrer's reward; a still-held conversion is cancelled whenever the
    refund comes. A rewarded conversion refunded after the window stays."""
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    if order.status == OrderStatus.PAID:
        return []
    cancelled = []
    for referral in Referral.objects.filter(conversion_order=order, status__in=CONVERTED_STATUSES).select_related(
            "program", "referrer"):
        # A held referral has given nothing yet: a refund cancels it whenever it comes.
        window_passed = now > referral.converted_at + timedelta(days=referral.program.return_window_days)
        if window_passed and referral.status != ReferralStatus.HELD:
            continue
        before = referral.status
        claimed = Referral.objects.filter(pk=referral.pk, status=before).update(
            status=ReferralStatus.CANCELLED, reward_due_at=None)
        if claimed != 1:
            continue
        rewards = cancel_rewards(referral, actor=SYSTEM, now=now)
        record_audit(actor=SYSTEM, action="referral.cancelled", target=referral, before={"status": before},
                     after={"status": ReferralStatus.CANCELLED, "order": order.source_id,
                            "rewards_cancelled": [reward.pk for reward in rewards]})
        cancelled.append(referral)
    return cancelled


def release_held_referrals(*, now: datetime | None = None, limit: int = 500) -> int:
    """Reward held referrals whose hold has passed (those under review wait for a marketer). Each in its
    own transaction; safe to run twice."""
    now = now or timezone.now()
    due = list(Referral.objects.filter(status=ReferralStatus.HELD, needs_review=False, reward_due_at__lte=now)
               .order_by("reward_due_at", "pk").values_list("pk", flat=True)[:limit])
    return sum(1 for referral_id in due if _release(referral_id=referral_id, now=now))


@transaction.atomic(durable=True)
def _release(*, referral_id: int, now: datetime) -> bool:
    claimed = Referral.objects.filter(pk=referral_id, status=ReferralStatus.HELD, needs_review=False,
                                      reward_due_at__lte=now).update(status=ReferralStatus.REWARDED,
                                                                     reward_due_at=None)
    if claimed != 1:
        return False
    referral = Referral.objects.select_related(*CONVERTING).get(pk=referral_id)
    _reward(referral, actor=SYSTEM, now=now)
    record_audit(actor=SYSTEM, action="referral.released", target=referral, before={"status": ReferralStatus.HELD},
                 after={"status": ReferralStatus.REWARDED, "skipped_reason": referral.skipped_reason})
    return True


@transaction.atomic(durable=True)
def approve_referral(*, referral: Referral, actor: Actor, note: str = "", now: datetime | None = None) -> Referral:
    """A marketer clears a held referral: the referrer is rewarded now. Only a HELD one, once."""
    now = now or timezone.now()
    claimed = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.HELD).update(
        status=ReferralStatus.REWARDED, needs_review=False, reward_due_at=None, decided_by=actor.user,
        decided_at=now, decision_note=note[:255])
    if claimed != 1:
        raise ReferralError(ReferralReason.ALREADY_DECIDED)
    referral = Referral.objects.select_related(*CONVERTING).get(pk=referral.pk)
    _reward(referral, actor=actor, now=now)
    record_audit(actor=actor, action="referral.approved", target=referral, before={"status": ReferralStatus.HELD},
                 after={"status": ReferralStatus.REWARDED, "note": note, "skipped_reason": referral.skipped_reason})
    return referral


@transaction.atomic(durable=True)
def reject_referral(*, referral: Referral, actor: Actor, note: str, now: datetime | None = None) -> Referral:
    """A marketer refuses a held (or still pending) referral: the referrer gets nothing. A reason is required."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise InvalidInput("A reason for the rejection.", fields={"note": ["required"]})
    before = Referral.objects.filter(pk=referral.pk).values_list("status", flat=True).first()
    claimed = Referral.objects.filter(pk=referral.pk, status__in=[ReferralStatus.HELD, ReferralStatus.PENDING]).update(
        status=ReferralStatus.REJECTED, needs_review=False, reward_due_at=None, decided_by=actor.user,
        decided_at=now, decision_note=note[:255])
    if claimed != 1:
        raise ReferralError(ReferralReason.ALREADY_DECIDED)
    referral.refresh_from_db()
    record_audit(actor=actor, action="referral.rejected", target=referral, before={"status": before},
                 after={"status": ReferralStatus.REJECTED, "note": note})
    return referral


PAYOUT_STEPS = {PayoutStatus.APPROVED: PayoutStatus.PENDING, PayoutStatus.PAID: PayoutStatus.APPROVED}


@transaction.atomic(durable=True)
def set_payout_status(*, reward: ReferralReward, status: str, actor: Actor) -> ReferralReward:
    """Move a cash payout forward: pending → approved → paid, one step at a time."""
    if status not in PAYOUT_STEPS:
        raise InvalidInput("approved or paid.", fields={"status": ["approved or paid"]})
    moved = ReferralReward.objects.filter(pk=reward.pk, type=RewardType.CASH, is_cancelled=False,
                                          payout_status=PAYOUT_STEPS[status]).update(payout_status=status)
    if moved != 1:
        raise InvalidInput(f"Only a {PAYOUT_STEPS[status]} payout can become {status}.",
                           fields={"status": [f"the payout is not {PAYOUT_STEPS[status]}"]})
    reward.refresh_from_db()
    record_audit(actor=actor, action="referral.payout_" + status, target=reward,
                 before={"payout_status": PAYOUT_STEPS[status]}, after={"payout_status": status})
    return reward


# -- many orders at once ------------------------------------------------------------------------------------

CONVERT_BATCH = 1000  # orders per transaction in convert_for_orders


def convert_for_orders(*, order_ids: list[int], now: datetime | None = None) -> list[Referral]:
    """convert_for_order for many orders (the collecting task, bulk order arrivals): the same conversions,
    holds, rewards, limits, budget, audit entries and referral.converted webhooks, decided in order-id order
    as if the orders had come one by one, with set-based statements in one durable transaction per
    CONVERT_BATCH orders (the referrers' points too: loyalty's credit_many). Safe to run twice."""
    now = now or timezone.now()
    ids = sorted(set(order_ids))
    converted = []
    for start in range(0, len(ids), CONVERT_BATCH):
        converted.extend(_convert_batch(ids[start:start + CONVERT_BATCH], now=now))
    return converted


@transaction.atomic(durable=True)
def _convert_batch(order_ids: list[int], *, now: datetime) -> list[Referral]:
    return convert_orders_in_transaction(order_ids, now=now)


def convert_orders_in_transaction(order_ids: list[int], *, now: datetime) -> list[Referral]:
    """The body of convert_for_orders. Not durable: inside the caller's transaction (the collecting task's)."""
    # The orders are locked (id order): a refund recorded meanwhile waits for this transaction, then its
    # cancel_for_refund finds the conversion; one recorded first leaves the order unpaid here.
    orders = {order.customer_id: order for order in Order.objects.select_for_update(of=("self",)).annotate(
        has_earlier=_earlier_order()).filter(pk__in=order_ids, status=OrderStatus.PAID).order_by("pk")
        if not order.has_earlier}
    if not orders:
        return []
    # Locked in id order (lock order: referrals, codes, accounts); a concurrent single conversion of one of
    # them waits here, and one that won is no longer pending when the lock is granted.
    pending = list(Referral.objects.select_for_update(of=("self",)).select_related(*CONVERTING)
                   .filter(friend_id__in=orders, status=ReferralStatus.PENDING, program__is_enabled=True)
                   .order_by("pk"))
    claims = []
    for referral in pending:
        order, program = orders[referral.friend_id], referral.program
        if program.converts_on_first_order and order.amount >= program.min_order_amount and _within(
                referral, order.created_at):
            claims.append((referral, order))
    if not claims:
        return []
    claims.sort(key=lambda claim: (claim[1].pk, claim[0].pk))  # as if converted one order after another
    signals, to_reward = [], []
    for referral, order in claims:
        late_signals = identity_signals(referral.referrer, referral.friend)
        hold = referral.program.reward_hold_days > 0 or referral.needs_review or bool(late_signals)
        referral.status = ReferralStatus.HELD if hold else ReferralStatus.REWARDED
        referral.converted_at, referral.conversion_order, referral.conversion_event = now, order, None
        referral.conversion_amount = order.amount
        referral.reward_due_at = now + timedelta(days=referral.program.reward_hold_days) if hold else None
        referral.needs_review = referral.needs_review or bool(late_signals)
        signals.extend(FraudSignal(referral=referral, kind=kind, detail=detail, created_at=now)
                       for kind, detail in late_signals)
        if not hold:
            to_reward.append(referral)
    _claim_all([referral for referral, _ in claims])
    FraudSignal.objects.bulk_create(signals, ignore_conflicts=True)
    reward_referrers(to_reward, actor=SYSTEM, now=now)
    AuditEntry.objects.bulk_create([audit_entry(
        actor=SYSTEM, action="referral.converted", target=referral, before={"status": ReferralStatus.PENDING},
        after={"status": referral.status, "order": order.source_id, "event": None,
               "needs_review": referral.needs_review}) for referral, order in claims])
    webhooks = [{
        "id": referral.pk, "program": referral.program_id, "referral_code": referral.code.code,
        "referrer": referral.referrer.source_id, "customer": referral.friend.source_id, "order": order.source_id,
        "event": None, "amount": order.amount, "status": referral.status, "converted_at": now,
    } for referral, order in claims]
    emit_webhooks(type="referral.converted", now=now, items=webhooks)
    return [referral for referral, _ in claims]


CLAIM_COLUMNS = ("id", "status", "converted_at", "conversion_order_id", "conversion_amount", "reward_due_at",
                 "needs_review")


def _claim_all(referrals: list[Referral]) -> None:
    """Every claimed referral's final state in one UPDATE ... FROM (VALUES), still conditional on PENDING.
    The rows are locked, so all of them match; a mismatch would mean a lost claim and fails the batch."""
    table = Referral._meta.db_table
    fields = [Referral._meta.get_field(name) for name in (
        "id", "status", "converted_at", "conversion_order", "conversion_amount", "reward_due_at", "needs_review")]
    casts = {"id": "bigint", "status": "varchar(16)", "converted_at": "timestamp with time zone",
             "conversion_order_id": "bigint", "conversion_amount": "bigint",
             "reward_due_at": "timestamp with time zone", "needs_review": "boolean"}
    if connection.vendor != "postgresql":
        casts = {column: {"converted_at": "text", "reward_due_at": "text", "status": "text", "needs_review": "integer"
                          }.get(column, "integer") for column in casts}
    rows = ", ".join(["(" + ", ".join(["%s"] * len(CLAIM_COLUMNS)) + ")"] * len(referrals))
    params = [field.get_db_prep_save(getattr(referral, field.attname), connection)
              for referral in referrals for field in fields]
    # Not WITH v AS (VALUES ...): Python's sqlite3 reports no row count for a statement starting with WITH.
    if connection.vendor == "postgresql":
        names, alias = CLAIM_COLUMNS, f"v({', '.join(CLAIM_COLUMNS)})"
    else:  # SQLite names the columns of VALUES column1, column2, ...
        names, alias = [f"column{number}" for number in range(1, len(CLAIM_COLUMNS) + 1)], "v"
    value = {column: f"CAST(v.{name} AS {casts[column]})" for column, name in zip(CLAIM_COLUMNS, names, strict=True)}
    sets = ", ".join(f"{column} = {value[column]}" for column in CLAIM_COLUMNS[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM (VALUES {rows}) AS {alias} "  # noqa: S608 - placeholders only
            f"WHERE {table}.id = {value['id']} AND {table}.status = %s", [*params, ReferralStatus.PENDING])
        if cursor.rowcount != len(referrals):
            raise RuntimeError("A locked pending referral could not be claimed.")


# -- the order queue: orders arriving one by one, converted in batches ----------------------------------------
# Converting each paid order in its own transaction costs ~15 statements and ~20 ms of CPU; convert_for_orders
# costs ~20 statements per batch. So order_recorded only queues the order (one INSERT) and schedules one
# collecting task per second (retention.collecting), which converts everything queued in batches.

QUEUE_BATCH = 500  # orders per collecting transaction
SCHEDULED_KEY = "referrals:conversion-queue:scheduled"


def queue_conversion(*, order_id: int) -> None:
    """Queue a paid order for conversion (idempotent) and make sure a collecting task runs after commit."""
    with transaction.atomic():
        QueuedConversion.objects.bulk_create([QueuedConversion(order_id=order_id)], ignore_conflicts=True)
    transaction.on_commit(_schedule_collector)


def _schedule_collector() -> None:
    from referrals.tasks import convert_queued_orders_task

    schedule_collector(SCHEDULED_KEY, convert_queued_orders_task)


def convert_queued_orders(*, now: datetime | None = None) -> int:
    """Convert every queued order, QUEUE_BATCH per durable transaction; returns how many orders were taken.
    Concurrent collectors take disjoint batches (retention.collecting)."""
    return collect(SCHEDULED_KEY, QueuedConversion,
                   lambda order_ids: convert_orders_in_transaction(order_ids, now=now or timezone.now()),
                   batch_size=QUEUE_BATCH)

"""Loyalty's reads for the API, the portal, pages and jobs. None of them sums the ledger."""

from datetime import datetime

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from loyalty.models import (
    LedgerEntry,
    LoyaltyAccount,
    LoyaltyProgram,
    PointLot,
    Reward,
    RewardRedemption,
    Tier,
)
from loyalty.services.earning import aware_from_db
from loyalty.services.ledger import account_for
from retention.errors import NotFound
from retention.models import Customer, Segment
from retention.segments import is_member

EXPIRING_ROWS = 5  # the next expiry dates shown in a summary


def default_program() -> LoyaltyProgram | None:
    """The program marked default, else the first created (active or not: the answer must not flicker)."""
    return LoyaltyProgram.objects.order_by("-is_default", "created_at", "pk").first()


def program_or_404(program_id=None) -> LoyaltyProgram:
    """`program_id` (any form of an int) or the default program; NotFound when there is none."""
    if program_id in (None, ""):
        program = default_program()
    else:
        try:
            program = LoyaltyProgram.objects.filter(pk=int(program_id)).first()
        except (TypeError, ValueError):
            program = None
    if program is None:
        raise NotFound("No such loyalty program.")
    return program


def program_list() -> QuerySet[LoyaltyProgram]:
    return LoyaltyProgram.objects.order_by("created_at", "pk").prefetch_related(*PROGRAM_PREFETCH)


PROGRAM_PREFETCH = (
    "tiers", "earning_rules", "category_multipliers", "bonus_periods", "milestones__reward",
    Prefetch("rewards", queryset=Reward.objects.select_related("campaign", "min_tier", "segment")),
)


def program_detail(program_id) -> LoyaltyProgram:
    program = program_list().filter(pk=program_id).first() if str(program_id).isdigit() else None
    if program is None:
        raise NotFound("No such loyalty program.")
    return program


def account_of(customer: Customer, program: LoyaltyProgram) -> LoyaltyAccount:
    """The customer's account (created on first read: every customer is a member), with its tier."""
    account = LoyaltyAccount.objects.select_related("tier").filter(program=program, customer=customer).first()
    if account is None:
        account = account_for(program=program, customer=customer)
        account.tier = None
    account.program, account.customer = program, customer
    return account


def loyalty_summary(customer: Customer, program: LoyaltyProgram | None = None, now: datetime | None = None) -> dict:
    """API.md's summary for `customer` in `program` (default: the default program); see summary_for."""
    return summary_for(customer.source_id, program.pk if program else None, now=now)


def summary_for(source_id: str, program_id=None, now: datetime | None = None) -> dict:
    """API.md's summary: {program, points, pending_points, tier, next_tier, expiring, rewards}.

    Three hand-written statements whatever the ledger size (customer + program + account + tier + next tier;
    the live lots' expiry dates; the active rewards with their tier thresholds), plus one for the segments
    when a reward is limited to one (and one per such reward to test membership). The summary is on the
    shop's hot path and the ORM's compilation of the same reads cost about 1 ms each. Balances and tier
    points are stored on the account, never summed. NotFound for an unknown customer, then program.
    Extras: program_name, tier_points, lifetime_points, and per reward `type`, `available`, `points_to_go`.
    """
    row = _summary_row(source_id, _program_key(program_id))
    if row is None:
        raise NotFound(f"No customer with source_id {source_id!r}.")
    (customer_id, program_pk, program_name, account_id, points, pending, lifetime, tier_points, tier_name,
     tier_threshold, next_name, next_threshold) = row
    if program_pk is None:
        raise NotFound("No such loyalty program.")
    if account_id is None:  # every customer is a member: the account is created on first read
        account = account_for(program=LoyaltyProgram(pk=program_pk), customer=Customer(pk=customer_id))
        points, pending, lifetime, tier_points = account.points, account.pending_points, account.lifetime_points, 0
        account_id = account.pk
    return {
        "program": program_pk,
        "program_name": program_name,
        "points": points,
        "pending_points": pending,
        "lifetime_points": lifetime,
        "tier": tier_name,
        "tier_points": tier_points,
        "next_tier": None if next_name is None else {"name": next_name, "points_to_go": next_threshold - tier_points},
        "expiring": _expiring_rows(account_id, now or timezone.now()),
        "rewards": _reward_rows(program_pk, customer_id, points, tier_threshold, now),
    }


def _program_key(program_id) -> int | None:
    """None for the default program; an id; -1 (no program) for anything that is not a usable id."""
    if program_id in (None, ""):
        return None
    try:
        value = int(program_id)
    except (TypeError, ValueError):
        return -1
    return value if 0 < value < 2**63 else -1


def _tables() -> dict:
    return {"customer": Customer._meta.db_table, "program": LoyaltyProgram._meta.db_table,
            "account": LoyaltyAccount._meta.db_table, "tier": Tier._meta.db_table,
            "reward": Reward._meta.db_table, "lot": PointLot._meta.db_table}


def _summary_row(source_id: str, program_key: int | None):
    t = _tables()
    if program_key is None:
        program = f"(SELECT d.id FROM {t['program']} d ORDER BY d.is_default DESC, d.created_at, d.id LIMIT 1)"  # noqa: S608
        params = [source_id]
    else:
        program, params = "%s", [program_key, source_id]
    # The next tier: the lowest above both the tier points and the current tier (the lowest threshold above both).
    # Table names come from the models, values are parameters.
    sql = (
        f"SELECT c.id, p.id, p.name, a.id, a.points, a.pending_points, a.lifetime_points, a.tier_points, "  # noqa: S608
        f"t.name, t.threshold, nt.name, nt.threshold "
        f"FROM {t['customer']} c "
        f"LEFT JOIN {t['program']} p ON p.id = {program} "
        f"LEFT JOIN {t['account']} a ON a.program_id = p.id AND a.customer_id = c.id "
        f"LEFT JOIN {t['tier']} t ON t.id = a.tier_id "
        f"LEFT JOIN {t['tier']} nt ON nt.id = (SELECT n.id FROM {t['tier']} n WHERE n.program_id = p.id "
        f"AND n.threshold > COALESCE(a.tier_points, 0) AND n.threshold > COALESCE(t.threshold, -1) "
        f"ORDER BY n.threshold, n.id LIMIT 1) "
        f"WHERE c.source_id = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _expiring_rows(account_id: int, now: datetime, limit: int = EXPIRING_ROWS) -> list[dict]:
    """The next expiry moments of live points, soonest first (the partial index lot_live_expiry serves it)."""
    sql = (
        f"SELECT expires_at, SUM(remaining) FROM {PointLot._meta.db_table} WHERE account_id = %s AND "  # noqa: S608
        f"is_pending = %s AND remaining > 0 AND expires_at > %s GROUP BY expires_at ORDER BY expires_at LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_id, False, connection.ops.adapt_datetimefield_value(now), limit])
        rows = cursor.fetchall()
    # int(): PostgreSQL's SUM of bigint is numeric.
    return [{"points": int(points), "expires_at": aware_from_db(expires_at)} for expires_at, points in rows]


def _reward_rows(program_id: int, customer_id: int, points: int, tier_threshold: int | None,
                 now: datetime | None) -> list[dict]:
    """The program's active rewards for this member, cheapest first: available (tier, stock, segment) and
    affordable."""
    t = _tables()
    sql = (
        f"SELECT r.id, r.name, r.cost, r.type, r.stock, mt.threshold, r.min_tier_id, r.segment_id "  # noqa: S608
        f"FROM {t['reward']} r LEFT JOIN {t['tier']} mt ON mt.id = r.min_tier_id "
        f"WHERE r.program_id = %s AND r.is_active = %s ORDER BY r.cost, r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [program_id, True])
        rows = cursor.fetchall()
    segment_ids = {row[7] for row in rows if row[7] is not None}
    segments = Segment.objects.in_bulk(segment_ids) if segment_ids else {}
    customer = Customer(pk=customer_id)
    result = []
    for reward_id, name, cost, kind, stock, min_threshold, min_tier_id, segment_id in rows:
        available = not (
            (stock is not None and stock <= 0)
            or (min_tier_id is not None and (tier_threshold is None or tier_threshold < min_threshold))
            or (segments.get(segment_id) is not None and not is_member(customer, segments[segment_id], now))
        )
        result.append({"id": reward_id, "name": name, "cost": cost, "type": kind,
                       "affordable": available and points >= 0 and points >= cost, "available": available,
                       "points_to_go": max(0, cost - max(points, 0))})
    return result


def ledger_history(account: LoyaltyAccount) -> QuerySet[LedgerEntry]:
    """The account's entries, newest first (index ledger_account_newest); paginate it."""
    return LedgerEntry.objects.filter(account=account).order_by("-created_at", "-id")


def customer_redemptions(account: LoyaltyAccount) -> QuerySet[RewardRedemption]:
    return RewardRedemption.objects.filter(account=account).select_related("reward", "code").order_by("-created_at")


def customer_loyalty_export(customer: Customer) -> list[dict]:
    """GDPR access: every account of the customer with its ledger and reward redemptions."""
    accounts = LoyaltyAccount.objects.filter(customer=customer).select_related("program", "tier").prefetch_related(
        Prefetch("entries", queryset=LedgerEntry.objects.order_by("created_at", "id")),
        Prefetch("reward_redemptions", queryset=RewardRedemption.objects.select_related("reward", "code")),
    )
    return [
        {
            "program": account.program.name, "points": account.points, "pending_points": account.pending_points,
            "lifetime_points": account.lifetime_points, "tier": account.tier.name if account.tier else None,
            "joined_at": account.joined_at.isoformat(),
            "ledger": [
                {"kind": entry.kind, "points": entry.points, "pending_points": entry.pending_points,
                 "balance_after": entry.balance_after, "source_type": entry.source_type,
                 "source_id": entry.source_id, "description": entry.description,
                 "created_at": entry.created_at.isoformat()}
                for entry in account.entries.all()
            ],
            "reward_redemptions": [
                {"reward": redemption.reward.name, "points_spent": redemption.points_spent,
                 "code": redemption.code.code if redemption.code else None, "status": redemption.status,
                 "created_at": redemption.created_at.isoformat()}
                for redemption in account.reward_redemptions.all()
            ],
        }
        for account in accounts
    ]

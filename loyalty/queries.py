"""Loyalty's reads for the API, the portal, pages and jobs. None of them sums the ledger."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet, Sum
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
from loyalty.services.ledger import account_for
from retention.errors import NotFound
from retention.models import Customer
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


@dataclass(frozen=True)
class RewardOption:
    reward: Reward
    is_available: bool
    is_affordable: bool
    points_to_go: int


def reward_options(account: LoyaltyAccount, now: datetime | None = None) -> list[RewardOption]:
    """The program's active rewards for this member: available (tier, stock, segment) and affordable.

    One query, plus one per reward limited to a segment (the catalogue's size, never the ledger's).
    """
    options = []
    rewards = Reward.objects.filter(program=account.program, is_active=True).select_related("min_tier", "segment")
    for reward in rewards.order_by("cost", "pk"):
        available = not (
            (reward.stock is not None and reward.stock <= 0)
            or (reward.min_tier_id and (account.tier is None or account.tier.threshold < reward.min_tier.threshold))
            or (reward.segment_id and not is_member(account.customer, reward.segment, now))
        )
        affordable = available and account.points >= 0 and account.points >= reward.cost
        options.append(RewardOption(reward=reward, is_available=available, is_affordable=affordable,
                                    points_to_go=max(0, reward.cost - max(account.points, 0))))
    return options


def expiring_points(account: LoyaltyAccount, now: datetime | None = None, limit: int = EXPIRING_ROWS) -> list[dict]:
    """The next expiry moments of live points: [{"points", "expires_at"}], soonest first (partial index)."""
    now = now or timezone.now()
    rows = (PointLot.objects.filter(account=account, is_pending=False, remaining__gt=0, expires_at__gt=now)
            .values("expires_at").annotate(points=Sum("remaining")).order_by("expires_at")[:limit])
    return [{"points": row["points"], "expires_at": row["expires_at"]} for row in rows]


def next_tier(account: LoyaltyAccount, tiers: list[Tier]) -> dict | None:
    for tier in tiers:
        if tier.threshold > account.tier_points and (account.tier is None or tier.threshold > account.tier.threshold):
            return {"name": tier.name, "points_to_go": tier.threshold - account.tier_points}
    return None


def loyalty_summary(customer: Customer, program: LoyaltyProgram | None = None, now: datetime | None = None) -> dict:
    """API.md's summary: {program, points, pending_points, tier, next_tier, expiring, rewards}.

    A fixed number of queries whatever the ledger size (program, account, tiers, lots, rewards; one more
    per segment-limited reward): balances and tier points are stored on the account, never summed.
    Extras: tier_points, lifetime_points, and per reward `available` and `points_to_go`.
    """
    program = program or program_or_404()
    account = account_of(customer, program)
    tiers = list(Tier.objects.filter(program=program).order_by("threshold"))
    return {
        "program": program.pk,
        "program_name": program.name,
        "points": account.points,
        "pending_points": account.pending_points,
        "lifetime_points": account.lifetime_points,
        "tier": account.tier.name if account.tier else None,
        "tier_points": account.tier_points,
        "next_tier": next_tier(account, tiers),
        "expiring": expiring_points(account, now),
        "rewards": [
            {"id": option.reward.pk, "name": option.reward.name, "cost": option.reward.cost,
             "type": option.reward.type, "affordable": option.is_affordable, "available": option.is_available,
             "points_to_go": option.points_to_go}
            for option in reward_options(account, now)
        ],
    }


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

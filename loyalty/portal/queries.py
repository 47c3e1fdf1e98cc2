"""Reads of the portal pages: the customer's program, their overview, codes and history."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from loyalty.models import LedgerEntry, LoyaltyAccount, LoyaltyProgram, Reward, RewardRedemption, Tier
from retention.models import Customer

SOON_DAYS = 30  # the least "expiring soon" looks ahead

def portal_program() -> LoyaltyProgram | None:
    """The program the portal shows: the API's default program (loyalty.queries), when it is active."""
    from loyalty.queries import default_program

    program = default_program()
    return program if program is not None and program.is_active else None


def customer_account(customer: Customer, program: LoyaltyProgram) -> LoyaltyAccount | None:
    return LoyaltyAccount.objects.filter(program=program, customer=customer).select_related("tier").first()


@dataclass
class TierProgress:
    current: str | None
    next_name: str | None
    points_to_go: int
    percent: int  # 0..100 of the way from the current tier's threshold to the next one
    perks: str = ""  # of the current tier
    next_perks: str = ""


def tier_progress(program: LoyaltyProgram, summary: dict) -> TierProgress:
    """The progress bar: how far the customer is between the thresholds of their tier and the next."""
    tiers = list(Tier.objects.filter(program=program).order_by("threshold"))
    current = _name(summary.get("tier"))
    perks = {tier.name: tier.perks for tier in tiers}
    next_tier = summary.get("next_tier") or None
    if not next_tier:
        return TierProgress(current=current, next_name=None, points_to_go=0, percent=100 if current else 0,
                            perks=perks.get(current, ""))
    next_name = _name(next_tier)
    to_go = max(int(next_tier.get("points_to_go") or 0), 0)
    thresholds = {tier.name: tier.threshold for tier in tiers}
    floor = thresholds.get(current, 0) if current else 0
    ceiling = thresholds.get(next_name, floor + to_go)
    span = max(ceiling - floor, 1)
    done = min(max(span - to_go, 0), span)
    return TierProgress(current=current, next_name=next_name, points_to_go=to_go, percent=done * 100 // span,
                        perks=perks.get(current, "") if current else "", next_perks=perks.get(next_name, ""))


def _name(value) -> str | None:
    if not value:
        return None
    if isinstance(value, dict):
        return value.get("name")
    return str(value)


@dataclass
class RewardOffer:
    id: int
    name: str
    description: str
    type_label: str
    cost: int
    affordable: bool
    available: bool
    points_to_go: int


@dataclass
class Overview:
    program: LoyaltyProgram
    points: int
    pending_points: int
    progress: TierProgress
    expiring: list = field(default_factory=list)
    redeemable: list = field(default_factory=list)
    later: list = field(default_factory=list)


def overview(customer: Customer, program: LoyaltyProgram) -> Overview:
    """ENGINE's loyalty_summary plus what the page adds: reward texts, points to go, tier progress."""
    from loyalty.queries import loyalty_summary

    summary = loyalty_summary(customer, program=program)
    points = int(summary.get("points") or 0)
    listed = summary.get("rewards") or []
    details = Reward.objects.in_bulk([reward["id"] for reward in listed])
    offers = []
    for reward in listed:
        row = details.get(reward["id"])
        offers.append(RewardOffer(
            id=reward["id"], name=reward["name"], cost=reward["cost"], affordable=bool(reward["affordable"]),
            description=row.description if row else "", type_label=row.get_type_display() if row else "",
            available=bool(reward.get("available", True)),
            points_to_go=int(reward.get("points_to_go", max(reward["cost"] - max(points, 0), 0))),
        ))
    return Overview(
        program=program, points=points, pending_points=int(summary.get("pending_points") or 0),
        progress=tier_progress(program, summary), expiring=_soon(program, summary.get("expiring") or []),
        redeemable=[offer for offer in offers if offer.affordable],
        later=[offer for offer in offers if not offer.affordable],
    )


def _soon(program: LoyaltyProgram, expiring: list[dict]) -> list[dict]:
    """"Expiring soon" on the home page: within the reminder window, and never less than 30 days ahead
    (points a year away are not news)."""
    horizon = timezone.now() + timedelta(days=max(program.expiry_reminder_days, SOON_DAYS))
    return [row for row in expiring if row["expires_at"] <= horizon]


def reward_for_customer(program: LoyaltyProgram, reward_id: int) -> Reward:
    """An active reward of the customer's program; Http404 for any other id (another program's too)."""
    reward = Reward.objects.filter(pk=reward_id, program=program, is_active=True).first()
    if reward is None:
        raise Http404("No such reward.")
    return reward


def redemption_for_customer(customer: Customer, redemption_id: int) -> RewardRedemption:
    redemption = (RewardRedemption.objects.select_related("reward", "code", "code__campaign")
                  .filter(pk=redemption_id, account__customer=customer).first())
    if redemption is None:
        raise Http404("No such redemption.")
    return redemption


def history(customer: Customer, program: LoyaltyProgram) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account__customer=customer, account__program=program).order_by(
        "-created_at", "-id")

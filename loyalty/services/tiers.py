"""Tiers and milestones. Not durable: called under the account's lock inside the earning transaction,
except `reevaluate_tiers`, the daily job, which opens one transaction per account.

Tier points (decided): on the rolling basis, the points EARNED in the last 365 days, i.e. Σ (points +
pending_points) of EARN, PENDING and REVERSE entries in the window, so pending points count at once and
a refunded order stops counting; manual adjustments, expiry and spending never change a tier. On the
lifetime basis: lifetime_points (the same sum over all time). The result is stored on the account
(`tier_points`) so the summary never sums the ledger.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from loyalty.locks import lock_account
from loyalty.models import (
    LedgerEntry,
    LoyaltyAccount,
    Milestone,
    MilestoneAchievement,
    MilestoneKind,
    Tier,
    TierBasis,
)
from loyalty.services.ledger import EARNED_KINDS, credit
from loyalty.services.notifications import notify_tier_changed
from retention.messaging.services.webhooks import emit_webhook

TIER_WINDOW = timedelta(days=365)


def tier_points(account: LoyaltyAccount, now: datetime) -> int:
    if account.program.tier_basis == TierBasis.LIFETIME:
        return account.lifetime_points
    total = LedgerEntry.objects.filter(
        account=account, kind__in=EARNED_KINDS, created_at__gt=now - TIER_WINDOW,
    ).aggregate(total=Sum(F("points") + F("pending_points")))["total"]
    return total or 0


def tier_for(tiers: list[Tier], points: int) -> Tier | None:
    """The highest tier whose threshold `points` reach (tiers sorted by threshold)."""
    reached = None
    for tier in tiers:
        if points >= tier.threshold:
            reached = tier
    return reached


def evaluate_tier(account: LoyaltyAccount, *, now: datetime, tiers: list[Tier] | None = None) -> bool:
    """Store the LOCKED account's tier points and tier; on a change emit `loyalty.tier_changed` and notify.

    Returns whether the tier changed. `tiers` (sorted by threshold) saves a query per account in batches.
    """
    if tiers is None:
        tiers = list(Tier.objects.filter(program_id=account.program_id).order_by("threshold"))
    if not tiers and account.tier_id is None:
        return False
    points = tier_points(account, now)
    new_tier = tier_for(tiers, points)
    old_tier = account.tier if account.tier_id else None
    changed = (new_tier.pk if new_tier else None) != account.tier_id
    account.tier_points = points
    account.tier = new_tier
    LoyaltyAccount.objects.filter(pk=account.pk).update(tier_points=points, tier=new_tier)
    if changed:
        emit_webhook(type="loyalty.tier_changed", now=now, data={
            "customer": account.customer.source_id, "program": account.program_id,
            "previous_tier": old_tier.name if old_tier else None, "tier": new_tier.name if new_tier else None,
            "tier_points": points,
        })
        notify_tier_changed(account, old_tier=old_tier, new_tier=new_tier, now=now)
    return changed


def award_milestones(account: LoyaltyAccount, *, now: datetime, milestones: list[Milestone] | None = None) -> list:
    """Give every milestone the LOCKED account reached and never got: bonus points and/or a free reward, once.

    Kinds: points (lifetime_points), orders (the customer's paid orders), spend (total_spent, minor units).
    A milestone bonus is earned points, so it may reach a points milestone in turn (checked again).
    """
    from loyalty.services.rewards import grant_reward  # rewards imports this module for tier checks

    if milestones is None:
        milestones = list(Milestone.objects.filter(program_id=account.program_id).select_related("reward"))
    customer = account.customer
    # Nothing reachable (the usual case): no query for what was already achieved.
    if not any(reached(milestone, account, customer) for milestone in milestones):
        return []
    done = set(MilestoneAchievement.objects.filter(account=account).values_list("milestone_id", flat=True))
    achieved = []
    progress = True
    while progress:
        progress = False
        for milestone in milestones:
            if milestone.pk in done or not reached(milestone, account, customer):
                continue
            try:
                with transaction.atomic():
                    MilestoneAchievement.objects.create(account=account, milestone=milestone, achieved_at=now)
            except IntegrityError:  # achieved by a concurrent writer: theirs counts
                done.add(milestone.pk)
                continue
            done.add(milestone.pk)
            achieved.append(milestone)
            if milestone.bonus_points:
                credit(account, kind="earn", points=milestone.bonus_points, source_type="milestone",
                       source_id=str(milestone.pk), now=now, description=f"Milestone: {milestone.name}")
                progress = True
            if milestone.reward_id:
                grant_reward(account, reward=milestone.reward, points_spent=0, now=now,
                             actor_label="milestone", source_id=f"milestone:{milestone.pk}")
    return achieved


def reached(milestone: Milestone, account: LoyaltyAccount, customer) -> bool:
    if milestone.kind == MilestoneKind.POINTS:
        return account.lifetime_points >= milestone.threshold
    if milestone.kind == MilestoneKind.ORDERS:
        return customer.orders_count >= milestone.threshold
    return customer.total_spent >= milestone.threshold


def reevaluate_tiers(*, now: datetime | None = None) -> int:
    """Daily: re-evaluate every account holding a tier or with tier points (downgrades as the window rolls).

    One short transaction per account, so the job never holds many locks; returns how many tiers changed.
    Upgrades happen on earning already; a second run the same day changes nothing.
    """
    now = now or timezone.now()
    changed = 0
    candidates = (
        LoyaltyAccount.objects.filter(program__is_active=True, program__tier_basis=TierBasis.ROLLING_12_MONTHS)
        .exclude(tier__isnull=True, tier_points=0).values_list("pk", flat=True).order_by("pk")
    )
    for account_id in candidates.iterator(chunk_size=1000):
        with transaction.atomic(durable=True):
            account = lock_account(account_id)
            changed += evaluate_tier(account, now=now)
    return changed

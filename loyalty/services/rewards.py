"""Redeeming rewards for points, and fulfilling the ones handed out by hand."""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.errors import CampaignError
from campaigns.models import CodeSource
from campaigns.services.codes import issue_code
from loyalty.errors import LoyaltyError, LoyaltyReason
from loyalty.locks import lock_account
from loyalty.models import (
    EntryKind,
    LoyaltyAccount,
    Reward,
    RewardRedemption,
    RewardRedemptionStatus,
    RewardType,
)
from loyalty.services.ledger import account_for, debit
from retention.actors import Actor
from retention.audit import record_audit
from retention.messaging.services.webhooks import emit_webhook
from retention.models import Customer
from retention.segments import is_member

CODE_REWARDS = (RewardType.CODE, RewardType.GIFT_CARD, RewardType.PRODUCT, RewardType.FREE_SHIPPING)


def unavailability(reward: Reward, account: LoyaltyAccount, now: datetime | None = None) -> str:
    """Why `account` cannot have `reward` whatever its balance ("" when it can). Reads the segment once."""
    if not reward.is_active or not reward.program.is_active:
        return "This reward is not offered now."
    if reward.stock is not None and reward.stock <= 0:
        return "This reward is out of stock."
    if reward.min_tier_id and (account.tier is None or account.tier.threshold < reward.min_tier.threshold):
        return f"This reward needs the {reward.min_tier.name} tier."
    if reward.type in CODE_REWARDS and reward.campaign_id is None:
        return "This reward has no campaign to issue a code from."
    if reward.segment_id and not is_member(account.customer, reward.segment, now):
        return "This reward is not offered to this customer."
    return ""


@transaction.atomic(durable=True)
def redeem_reward(
    *, account_or_customer: LoyaltyAccount | Customer, reward: Reward, actor: Actor, now: datetime | None = None,
) -> RewardRedemption:
    """Spend `reward.cost` points (FIFO) on `reward`; returns the redemption (with its code for code rewards).

    Under the account's row lock, so two redemptions racing on one balance never spend more than it.
    Refuses (LoyaltyError, nothing written): `insufficient_points` when the balance is below the cost or
    negative; `reward_unavailable` when the reward or program is inactive, out of stock (decremented by a
    conditional UPDATE), above the customer's tier, outside its segment, or its campaign cannot issue.
    Code-like rewards get a code of the reward's campaign in this transaction; an experience is
    `requested` until fulfilled by hand; a donation is recorded as issued. Audited; emits
    `loyalty.reward_redeemed`.
    """
    now = now or timezone.now()
    reward = Reward.objects.select_related("program", "min_tier", "segment", "campaign").get(pk=reward.pk)
    if isinstance(account_or_customer, LoyaltyAccount):
        account_id = account_or_customer.pk
        if account_or_customer.program_id != reward.program_id:
            raise LoyaltyError(LoyaltyReason.REWARD_UNAVAILABLE, "This reward belongs to another program.")
    else:
        account_id = account_for(program=reward.program, customer=account_or_customer).pk
    account = lock_account(account_id)
    reason = unavailability(reward, account, now)
    if reason:
        raise LoyaltyError(LoyaltyReason.REWARD_UNAVAILABLE, reason)
    if account.points < 0:
        raise LoyaltyError(LoyaltyReason.INSUFFICIENT_POINTS,
                           f"The balance is negative ({account.points}): spending waits until it is paid off.")
    if account.points < reward.cost:
        raise LoyaltyError(LoyaltyReason.INSUFFICIENT_POINTS,
                           f"This reward costs {reward.cost} points; the balance is {account.points}.")
    if reward.stock is not None:
        taken = Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1)
        if taken != 1:
            raise LoyaltyError(LoyaltyReason.REWARD_UNAVAILABLE, "This reward is out of stock.")
    redemption = grant_reward(account, reward=reward, points_spent=reward.cost, now=now, actor=actor)
    record_audit(actor=actor, action="loyalty.reward_redeemed", target=redemption,
                 after={"reward": reward.pk, "points_spent": reward.cost, "customer": account.customer.source_id,
                        "code": redemption.code.code if redemption.code_id else None})
    return redemption


def grant_reward(
    account: LoyaltyAccount, *, reward: Reward, points_spent: int, now: datetime, actor: Actor | None = None,
    actor_label: str = "", source_id: str = "",
) -> RewardRedemption:
    """Hand `reward` to the LOCKED account, spending `points_spent` (0 for a milestone's gift). Not durable."""
    actor = actor or Actor.system(actor_label or "loyalty")
    status = RewardRedemptionStatus.REQUESTED if reward.type == RewardType.EXPERIENCE else RewardRedemptionStatus.ISSUED
    code = None
    if reward.type in CODE_REWARDS:
        if reward.campaign_id is None:
            raise LoyaltyError(LoyaltyReason.REWARD_UNAVAILABLE, "This reward has no campaign to issue a code from.")
        try:
            code = issue_code(campaign=reward.campaign, customer=account.customer, actor=actor,
                              source=CodeSource.LOYALTY, now=now, note=f"Loyalty reward {reward.name}"[:200])
        except CampaignError as error:
            raise LoyaltyError(LoyaltyReason.REWARD_UNAVAILABLE, error.message) from error
    redemption = RewardRedemption.objects.create(account=account, reward=reward, points_spent=points_spent,
                                                 code=code, status=status, created_at=now)
    if points_spent:
        debit(account, kind=EntryKind.SPEND, points=points_spent, source_type="reward_redemption",
              source_id=str(redemption.pk), now=now, description=reward.name, actor_label=actor.label)
    emit_webhook(type="loyalty.reward_redeemed", now=now, data={
        "customer": account.customer.source_id, "program": account.program_id, "redemption": redemption.pk,
        "reward": {"id": reward.pk, "name": reward.name, "type": reward.type}, "points_spent": points_spent,
        "code": code.code if code else None, "status": status, "source": source_id or "redeem",
    })
    return redemption


@transaction.atomic(durable=True)
def fulfil_reward_redemption(
    *, redemption: RewardRedemption, actor: Actor, now: datetime | None = None,
) -> RewardRedemption:
    """Mark a requested (hand-fulfilled) redemption as fulfilled, once; `not_requested` otherwise. Audited."""
    updated = RewardRedemption.objects.filter(pk=redemption.pk, status=RewardRedemptionStatus.REQUESTED).update(
        status=RewardRedemptionStatus.FULFILLED)
    if updated != 1:
        raise LoyaltyError(LoyaltyReason.NOT_REQUESTED)
    redemption.refresh_from_db()
    record_audit(actor=actor, action="loyalty.reward_fulfilled", target=redemption,
                 before={"status": RewardRedemptionStatus.REQUESTED}, after={"status": redemption.status})
    return redemption

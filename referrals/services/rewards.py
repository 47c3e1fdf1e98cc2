"""The referrer's reward: tier, limits, budget, then points, a code, a gift card or a cash payout.

Not durable: called inside conversions' transactions with the referral already claimed. Exactly once:
the referral's status moves only by conditional UPDATE, and a reward is unique per (referral, role).
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q

from campaigns.models import CodeSource, DiscountType
from campaigns.services.codes import ALREADY_USED, issue_code, withdraw_code
from loyalty.models import EntryKind, LoyaltyAccount, LoyaltyProgram
from loyalty.services.ledger import Credit, account_for, credit_many, debit, ensure_accounts
from referrals.locks import lock_referrer_code
from referrals.models import (
    PayoutStatus,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralReward,
    ReferralTier,
    RewardRole,
    RewardType,
)
from retention.actors import Actor
from retention.errors import DomainError
from retention.models import Customer
from retention.money import round_half_up

LIMIT_REACHED = "limit_reached"
BUDGET_EXHAUSTED = "budget_exhausted"
NO_TIER = "no_tier"
NO_LOYALTY_PROGRAM = "no_loyalty_program"


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def tier_for(tiers: list[ReferralTier], number: int) -> ReferralTier | None:
    """The tier of the `number`th rewarded referral: the highest whose `referrals` is reached."""
    reached = [tier for tier in tiers if tier.referrals <= number]
    return max(reached, key=lambda tier: tier.referrals) if reached else None


def reward_type_of(tier: ReferralTier) -> str:
    if tier.points:
        return RewardType.POINTS
    if tier.cash_amount:
        return RewardType.CASH
    if tier.campaign_id and tier.campaign.discount_type == DiscountType.GIFT_CARD:
        return RewardType.GIFT_CARD
    return RewardType.CODE


def reward_cost(program: ReferralProgram, tier: ReferralTier) -> int:
    """What the reward costs in minor units: points at the program's point value, a code's amount off or a
    gift card's balance (a percent code has no fixed cost: 0), a payout's amount."""
    if tier.points:
        return round_half_up(tier.points * program.point_value, 100)
    if tier.cash_amount:
        return tier.cash_amount
    if tier.campaign_id:
        campaign = tier.campaign
        return (campaign.gift_card_balance if campaign.discount_type == DiscountType.GIFT_CARD
                else campaign.amount) or 0
    return 0


def loyalty_program_for(program: ReferralProgram) -> LoyaltyProgram | None:
    if program.loyalty_program_id:
        return program.loyalty_program
    return LoyaltyProgram.objects.order_by("-is_default", "created_at", "pk").first()


def _locked_account(loyalty_program: LoyaltyProgram, customer: Customer) -> LoyaltyAccount:
    locked = LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("program", "tier", "customer")
    account = locked.filter(program=loyalty_program, customer=customer).first()  # usually there: one query
    if account is None:
        account = locked.get(pk=account_for(program=loyalty_program, customer=customer).pk)
    return account


def reward_referrer(referral: Referral, *, actor: Actor, now: datetime) -> ReferralReward | None:
    """Give the referrer the reward of their tier, or record on the referral why not (skipped_reason).

    `referral` comes with program (and its loyalty_program), code, referrer and friend loaded."""
    program = referral.program
    lock_referrer_code(referral.code_id)
    # Counted after the lock: the referrer's concurrent rewards have committed or wait behind us.
    counts = ReferralReward.objects.filter(program=program, customer_id=referral.referrer_id,
                                           role=RewardRole.REFERRER, is_cancelled=False).aggregate(
        total=Count("pk"), this_month=Count("pk", filter=Q(created_at__gte=month_start(now))))
    limit = program.max_rewards_per_referrer_per_month
    if limit is not None and counts["this_month"] >= limit:
        return _skip(referral, LIMIT_REACHED)
    tier = tier_for(list(program.tiers.select_related("campaign")), counts["total"] + 1)
    if tier is None:
        return _skip(referral, NO_TIER)
    cost = reward_cost(program, tier)
    try:
        if program.budget is None:  # nothing to hand back: no savepoint needed
            return _give(referral, program, tier, cost, actor=actor, now=now)
        # One savepoint for budget and reward: a reward that cannot be given hands its budget back.
        with transaction.atomic():
            # The conditional UPDATE is the budget's guard: two conversions cannot both take the last euro.
            taken = ReferralProgram.objects.filter(pk=program.pk, budget_spent__lte=F("budget") - cost).update(
                budget_spent=F("budget_spent") + cost)
            if taken != 1:
                raise _Skipped(BUDGET_EXHAUSTED)
            return _give(referral, program, tier, cost, actor=actor, now=now)
    except _Skipped as skipped:
        return _skip(referral, skipped.reason)
    except DomainError as refusal:  # e.g. the reward campaign was paused: recorded, shown in the review list
        return _skip(referral, str(refusal.code)[:32])


class _Skipped(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _give(referral: Referral, program: ReferralProgram, tier: ReferralTier, cost: int, *, actor: Actor,
          now: datetime) -> ReferralReward:
    """The batch path's reward (_reward_row) for one referral: its referrer's account locked here, its
    points credited and the reward saved at once."""
    loyalty_program = loyalty_program_for(program) if reward_type_of(tier) == RewardType.POINTS else None
    accounts = {}
    if loyalty_program is not None:
        accounts[(loyalty_program.pk, referral.referrer_id)] = _locked_account(loyalty_program, referral.referrer)
    credits = []
    reward = _reward_row(referral, program, tier, cost, loyalty_program, accounts, credits, actor=actor, now=now)
    credit_many(credits, now=now)
    reward.save()
    return reward


def _skip(referral: Referral, reason: str) -> None:
    Referral.objects.filter(pk=referral.pk).update(skipped_reason=reason)
    referral.skipped_reason = reason
    return None


def cancel_rewards(referral: Referral, *, actor: Actor, now: datetime) -> list[ReferralReward]:
    """Take back what the referral gave: the referrer's points are reversed, the budget is given back and an
    unpaid payout is dropped; a code (referrer's or friend's, gift cards too) nobody used yet is withdrawn
    through campaigns. A used code stays (its value was spent): recorded as code_was_used, its cost stays in
    the budget, and a friend's used welcome code stays a given reward. Returns the rewards cancelled."""
    rewards = list(ReferralReward.objects.filter(referral=referral, is_cancelled=False)
                   .filter(Q(role=RewardRole.REFERRER) | Q(code__isnull=False)).select_related("program", "code"))
    cancelled, used, unused = [], [], []
    for reward in rewards:
        code_used = False
        if reward.code_id is not None:
            outcome = withdraw_code(code=reward.code, reason=f"referral {referral.pk} cancelled", actor=actor)
            code_used = outcome == ALREADY_USED
            (used if code_used else unused).append(reward.pk)
        if reward.role == RewardRole.FRIEND and code_used:
            continue  # the friend spent the welcome code: it was given, nothing to take back
        cancelled.append(reward)
        if reward.type == RewardType.POINTS and reward.points:
            loyalty_program = loyalty_program_for(reward.program)
            account = _locked_account(loyalty_program, referral.referrer)
            debit(account, kind=EntryKind.REVERSE, points=reward.points, source_type="referral",
                  source_id=str(referral.pk), now=now, description="Referral cancelled", actor_label=actor.label)
        if (reward.role == RewardRole.REFERRER and not code_used and reward.program.budget is not None
                and reward.cost):
            ReferralProgram.objects.filter(pk=reward.program_id).update(budget_spent=F("budget_spent") - reward.cost)
    ReferralReward.objects.filter(pk__in=[reward.pk for reward in cancelled]).update(is_cancelled=True)
    ReferralReward.objects.filter(pk__in=used).update(code_was_used=True)
    ReferralReward.objects.filter(pk__in=unused).update(code_was_used=False)
    for reward in rewards:
        reward.code_was_used = True if reward.pk in used else False if reward.pk in unused else None
    return cancelled


def reward_referrers(referrals: list[Referral], *, actor: Actor, now: datetime) -> list[ReferralReward]:
    """reward_referrer for many claimed referrals, in the order given, as if one after another: the referrers'
    codes and loyalty accounts are locked in one statement each (id order), their reward counts read in one,
    tiers in one; the budget keeps its conditional UPDATE per reward, and the points (loyalty's credit_many:
    three statements for the batch), rewards and skips are written in bulk. Not durable, like reward_referrer.

    `referrals` come with program (and its loyalty_program), code, referrer and friend loaded."""
    if not referrals:
        return []
    programs = {referral.program_id: referral.program for referral in referrals}
    list(ReferralCode.objects.select_for_update().filter(pk__in={r.code_id for r in referrals}).order_by("pk")
         .values_list("pk", flat=True))
    counts = {}
    referrer_ids = {referral.referrer_id for referral in referrals}
    for row in (ReferralReward.objects.filter(program_id__in=programs, customer_id__in=referrer_ids,
                                               role=RewardRole.REFERRER, is_cancelled=False)
                .order_by().values("program_id", "customer_id")
                .annotate(total=Count("pk"), this_month=Count("pk", filter=Q(created_at__gte=month_start(now))))):
        counts[(row["program_id"], row["customer_id"])] = [row["total"], row["this_month"]]
    tiers = {}
    for tier in ReferralTier.objects.filter(program_id__in=programs).select_related("campaign"):
        tiers.setdefault(tier.program_id, []).append(tier)
    loyalty_programs = {program_id: loyalty_program_for(program) for program_id, program in programs.items()
                        if any(tier.points for tier in tiers.get(program_id, []))}
    accounts = _locked_accounts(referrals, loyalty_programs)
    rewards, skips, credits = [], {}, []
    for referral in referrals:
        program = referral.program
        total, this_month = counts.setdefault((program.pk, referral.referrer_id), [0, 0])
        limit = program.max_rewards_per_referrer_per_month
        reason = ""
        if limit is not None and this_month >= limit:
            reason = LIMIT_REACHED
        elif (tier := tier_for(tiers.get(program.pk, []), total + 1)) is None:
            reason = NO_TIER
        else:
            cost = reward_cost(program, tier)
            taken = program.budget is None or ReferralProgram.objects.filter(
                pk=program.pk, budget_spent__lte=F("budget") - cost).update(budget_spent=F("budget_spent") + cost)
            if not taken:
                reason = BUDGET_EXHAUSTED
            else:
                try:
                    rewards.append(_reward_row(referral, program, tier, cost, loyalty_programs.get(program.pk),
                                               accounts, credits, actor=actor, now=now))
                    counts[(program.pk, referral.referrer_id)] = [total + 1, this_month + 1]
                except (_Skipped, DomainError) as refusal:  # nothing written: the budget goes back
                    reason = refusal.reason if isinstance(refusal, _Skipped) else str(refusal.code)[:32]
                    if program.budget is not None:
                        ReferralProgram.objects.filter(pk=program.pk).update(budget_spent=F("budget_spent") - cost)
        if reason:
            referral.skipped_reason = reason
            skips.setdefault(reason, []).append(referral.pk)
    # The points after the loop: nothing in it reads the ledger, and the order given is kept.
    credit_many(credits, now=now)
    ReferralReward.objects.bulk_create(rewards)
    for reason, ids in skips.items():
        Referral.objects.filter(pk__in=ids).update(skipped_reason=reason)
    return rewards


def _locked_accounts(referrals: list[Referral], loyalty_programs: dict) -> dict:
    """{(loyalty program id, customer id): locked account} for every referrer whose program gives points,
    created first when missing."""
    pairs = {(loyalty_programs[r.program_id].pk, r.referrer_id) for r in referrals
             if loyalty_programs.get(r.program_id) is not None}
    if not pairs:
        return {}
    ensure_accounts(pairs)  # before any lock: loyalty.services.ledger.ensure_accounts says why
    locked = (LoyaltyAccount.objects.select_for_update(of=("self",)).select_related("program")
              .filter(program_id__in={program_id for program_id, _ in pairs},
                      customer_id__in={customer_id for _, customer_id in pairs}).order_by("pk"))
    return {(account.program_id, account.customer_id): account for account in locked}


def _reward_row(referral: Referral, program: ReferralProgram, tier: ReferralTier, cost: int,
                loyalty_program: LoyaltyProgram | None, accounts: dict, credits: list, *, actor: Actor,
                now: datetime) -> ReferralReward:
    """_give without saving the reward (the caller bulk-creates them) nor crediting the points (appended to
    `credits`, which the caller gives loyalty's credit_many)."""
    kind = reward_type_of(tier)
    reward = ReferralReward(referral=referral, program=program, customer_id=referral.referrer_id,
                            role=RewardRole.REFERRER, type=kind, cost=cost, created_at=now)
    if kind == RewardType.POINTS:
        if loyalty_program is None:
            raise _Skipped(NO_LOYALTY_PROGRAM)
        account = accounts[(loyalty_program.pk, referral.referrer_id)]
        account.customer = referral.referrer
        credits.append(Credit(account, EntryKind.EARN, tier.points, "referral", str(referral.pk),
                              f"Referral of {referral.friend.first_name or 'a friend'}", actor.label))
        reward.points = tier.points
    elif kind == RewardType.CASH:
        reward.cash_amount = tier.cash_amount
        reward.payout_status = PayoutStatus.PENDING
    else:
        reward.code = issue_code(campaign=tier.campaign, customer=referral.referrer, actor=actor,
                                 source=CodeSource.REFERRAL, now=now, note=f"referral {referral.pk}")
    return reward

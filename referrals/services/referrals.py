"""Registering a referral: the friend signs up with a referrer's code."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import CodeSource, DiscountType
from campaigns.services.codes import issue_code
from referrals.errors import ReferralError, ReferralReason
from referrals.models import (
    FraudSignal,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralReward,
    RewardRole,
    RewardType,
)
from referrals.services.fraud import code_fact_expressions, is_self_referral, signals_from
from referrals.services.rewards import month_start
from retention.actors import Actor
from retention.audit import record_audit
from retention.models import Customer, Order


def _find_code(code: str) -> ReferralCode:
    found = (ReferralCode.objects.select_related("program__friend_campaign", "customer")
             .filter(code=(code or "").strip().upper()).first())
    if found is None:
        raise ReferralError(ReferralReason.UNKNOWN_CODE, fields={"referral_code": ["Unknown referral code."]})
    return found


def _facts(program: ReferralProgram, code: ReferralCode, friend: Customer, *, ip_address: str | None,
           device_id: str, now: datetime) -> dict:
    """Every read the refusals and the fraud checks need, in one query: an order of the friend, an earlier
    referral of the friend, the referrer's rewards this month and the code's other sign-ups."""
    expressions = {
        "has_order": Exists(Order.objects.filter(customer_id=friend.pk)),
        "referred": Exists(Referral.objects.filter(program=program, friend_id=friend.pk)),
        "rewards_this_month": Value(0),
        **code_fact_expressions(code=code, ip_address=ip_address, device_id=device_id, now=now),
    }
    if program.max_rewards_per_referrer_per_month is not None:
        given = ReferralReward.objects.filter(
            program=program, customer_id=code.customer_id, role=RewardRole.REFERRER, is_cancelled=False,
            created_at__gte=month_start(now)).order_by().values("program").annotate(n=Count("pk")).values("n")[:1]
        expressions["rewards_this_month"] = Coalesce(Subquery(given), 0)
    return ReferralCode.objects.filter(pk=code.pk).annotate(**expressions).values(*expressions).get()


@transaction.atomic(durable=True)
def register_referral(*, code: str, friend: Customer, actor: Actor, ip_address: str | None = None,
                      device_id: str = "", now: datetime | None = None) -> Referral:
    """Record that `friend` signed up with the referral `code`; the friend's welcome code is issued now.

    Refusals (ReferralError, nothing written), checked in this order: unknown_code, program_inactive,
    self_referral (same customer, normalised email or phone), not_new_customer (an order before),
    already_referred (one referrer per friend and program, held by a unique constraint), limit_reached
    (the referrer's monthly rewards or the program budget are used up). Softer fraud signals are recorded
    and send the referral to review when it converts.
    """
    now = now or timezone.now()
    referral_code = _find_code(code)
    program, referrer = referral_code.program, referral_code.customer
    if not program.is_enabled:
        raise ReferralError(ReferralReason.PROGRAM_INACTIVE)
    if friend.is_erased:
        raise ReferralError(ReferralReason.NOT_ELIGIBLE, "This customer's data was erased.",
                            fields={"customer": ["Erased customer."]})
    why = is_self_referral(referrer, friend)
    if why:
        raise ReferralError(ReferralReason.SELF_REFERRAL, why, fields={"customer": [why]})
    facts = _facts(program, referral_code, friend, ip_address=ip_address, device_id=device_id or "", now=now)
    if friend.orders_count > 0 or friend.first_order_at is not None or facts["has_order"]:
        raise ReferralError(ReferralReason.NOT_NEW_CUSTOMER, fields={"customer": ["The friend has ordered before."]})
    if facts["referred"]:
        raise ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
    if program.budget is not None and program.budget_spent >= program.budget:
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The program's budget is spent.")
    limit = program.max_rewards_per_referrer_per_month
    if limit is not None and facts["rewards_this_month"] >= limit:
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The referrer has reached this month's rewarded referrals.")
    signals = signals_from(facts, referrer=referrer, friend=friend, ip_address=ip_address)
    try:
        # No savepoint: a lost race raises out of the whole transaction, which then rolls back.
        referral = Referral.objects.create(
            program=program, code=referral_code, referrer=referrer, friend=friend, ip_address=ip_address,
            device_id=(device_id or "")[:255], registered_at=now, needs_review=bool(signals))
    except IntegrityError:  # a concurrent registration of the same friend won
        raise ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
    FraudSignal.objects.bulk_create(FraudSignal(referral=referral, kind=kind, detail=detail[:255], created_at=now)
                                    for kind, detail in signals)
    if program.friend_campaign_id:
        campaign = program.friend_campaign
        welcome = issue_code(campaign=campaign, customer=friend, actor=actor, source=CodeSource.REFERRAL, now=now,
                             note=f"referral {referral.pk}")
        gift_card = campaign.discount_type == DiscountType.GIFT_CARD
        ReferralReward.objects.create(
            referral=referral, program=program, customer=friend, role=RewardRole.FRIEND,
            type=RewardType.GIFT_CARD if gift_card else RewardType.CODE, code=welcome,
            cost=(campaign.gift_card_balance if gift_card else campaign.amount) or 0, created_at=now)
    record_audit(actor=actor, action="referral.registered", target=referral,
                 after={"program": program.pk, "code": referral_code.code, "referrer": referrer.source_id,
                        "friend": friend.source_id, "signals": [kind for kind, _detail in signals]})
    return referral

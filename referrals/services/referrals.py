"""Registering a referral: the friend signs up with a referrer's code."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import CodeSource, DiscountType
from campaigns.services.codes import issue_code
from referrals.errors import ReferralError, ReferralReason
from referrals.models import FraudSignal, Referral, ReferralCode, ReferralReward, RewardRole, RewardType
from referrals.services.fraud import fraud_signals, is_self_referral
from referrals.services.rewards import monthly_limit_reached
from retention.actors import Actor
from retention.audit import record_audit
from retention.models import Customer


def _find_code(code: str) -> ReferralCode:
    found = (ReferralCode.objects.select_related("program__friend_campaign", "customer")
             .filter(code=(code or "").strip().upper()).first())
    if found is None:
        raise ReferralError(ReferralReason.UNKNOWN_CODE, fields={"referral_code": ["Unknown referral code."]})
    return found


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
    if friend.orders_count > 0 or friend.first_order_at is not None or friend.orders.exists():
        raise ReferralError(ReferralReason.NOT_NEW_CUSTOMER, fields={"customer": ["The friend has ordered before."]})
    if Referral.objects.filter(program=program, friend=friend).exists():
        raise ReferralError(ReferralReason.ALREADY_REFERRED, fields={"customer": ["Already referred."]})
    if program.budget is not None and program.budget_spent >= program.budget:
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The program's budget is spent.")
    if monthly_limit_reached(program, referrer, now):
        raise ReferralError(ReferralReason.LIMIT_REACHED, "The referrer has reached this month's rewarded referrals.")
    signals = fraud_signals(code=referral_code, referrer=referrer, friend=friend, ip_address=ip_address,
                            device_id=device_id or "", now=now)
    try:
        with transaction.atomic():
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

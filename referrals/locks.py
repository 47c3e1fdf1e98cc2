"""Row locks for read-modify-write. Call inside a transaction.

Order when several are taken: referral, then the referrer's code, then the loyalty account, so two
writers cannot deadlock.
"""

from referrals.models import Referral, ReferralCode


def lock_referral(referral_id: int) -> Referral:
    return (Referral.objects.select_for_update(of=("self",)).select_related("program", "code", "referrer", "friend")
            .get(pk=referral_id))


def lock_referrer_code(code_id: int) -> ReferralCode:
    """One referrer's code row: serialises that referrer's rewards (tiers and the monthly limit)."""
    return ReferralCode.objects.select_for_update().get(pk=code_id)

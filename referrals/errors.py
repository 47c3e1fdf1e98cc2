"""Referral refusals. The values of ReferralReason are API.md's reason codes: binding, never rename."""

from django.db import models

from retention.errors import ReasonError


class ReferralReason(models.TextChoices):
    UNKNOWN_CODE = "unknown_code", "No referral code like this exists."
    PROGRAM_INACTIVE = "program_inactive", "The referral program is switched off."
    SELF_REFERRAL = "self_referral", "A customer cannot refer themselves."
    NOT_NEW_CUSTOMER = "not_new_customer", "The friend has ordered before: only new customers can be referred."
    ALREADY_REFERRED = "already_referred", "The friend was already referred in this program."
    LIMIT_REACHED = "limit_reached", "The referrer or the program has reached its limit."
    # Extensions (API.md allows new codes):
    NOT_ELIGIBLE = "not_eligible", "This customer may not refer in this program."
    NO_PROGRAM = "no_program", "No referral program exists."
    ALREADY_DECIDED = "already_decided", "This referral is not waiting for a decision."


class ReferralError(ReasonError):
    """A referral rule says no; `code` is one of ReferralReason. The API answers 422."""

    status = 422
    code = "referral_rejected"
    reasons = ReferralReason

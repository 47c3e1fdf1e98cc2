"""Loyalty's refusals. The API's exception handler turns them into 422 with the reason as `code`."""

from django.db import models

from retention.errors import ReasonError


class LoyaltyReason(models.TextChoices):
    INSUFFICIENT_POINTS = "insufficient_points", "Not enough points (or a negative balance)"
    REWARD_UNAVAILABLE = "reward_unavailable", "The reward cannot be redeemed by this customer now"
    APPROVAL_REQUIRED = "approval_required", "The adjustment needs a second person's approval"
    SECOND_PERSON_REQUIRED = "second_person_required", "Someone else must approve this adjustment"
    ALREADY_DECIDED = "already_decided", "The adjustment request was already approved or rejected"
    NOT_REQUESTED = "not_requested", "Only a requested redemption can be fulfilled"
    PROGRAM_INACTIVE = "program_inactive", "The program is not active"


class LoyaltyError(ReasonError):
    """A loyalty rule says no; `code` is one of LoyaltyReason."""

    status = 422
    code = "loyalty_rejected"
    reasons = LoyaltyReason

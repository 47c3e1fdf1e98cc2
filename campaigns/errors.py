"""Why a code is refused. The values are API.md's reason codes: binding, never rename."""

from django.db import models

from retention.errors import DomainError, ReasonError


class RejectReason(models.TextChoices):
    # In the order rules are checked: when several fail, the first one listed here is answered.
    NOT_FOUND = "not_found", "This code does not exist."
    CODE_DISABLED = "code_disabled", "This code has been disabled."
    CAMPAIGN_NOT_STARTED = "campaign_not_started", "This offer has not started yet."
    CAMPAIGN_ENDED = "campaign_ended", "This offer has ended."
    CAMPAIGN_PAUSED = "campaign_paused", "This offer is paused."
    CODE_EXPIRED = "code_expired", "This code has expired."
    CUSTOMER_REQUIRED = "customer_required", "This code needs a customer."
    NOT_ASSIGNED_TO_CUSTOMER = "not_assigned_to_customer", "This code belongs to another customer."
    COUNTRY_NOT_ALLOWED = "country_not_allowed", "This offer is not available in the customer's country."
    SEGMENT_MISMATCH = "segment_mismatch", "This offer is not available to this customer."
    FIRST_ORDER_ONLY = "first_order_only", "This offer is for a first order only."
    CURRENCY_MISMATCH = "currency_mismatch", "This offer is for another currency."
    MIN_ORDER_AMOUNT = "min_order_amount", "The order is below the minimum amount."
    NO_ELIGIBLE_ITEMS = "no_eligible_items", "No item in the order is eligible."
    CODE_USED = "code_used", "This code has already been used."
    GIFT_CARD_EMPTY = "gift_card_empty", "This gift card has no balance left."
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached", "The customer has used this offer as often as allowed."
    LIMIT_REACHED = "limit_reached", "This offer has been fully redeemed."
    BUDGET_EXHAUSTED = "budget_exhausted", "This offer's budget is spent."


class CodeRejected(ReasonError):
    """A code cannot be validated or redeemed; `reason` is a RejectReason. The API answers 422."""

    status = 422
    reasons = RejectReason


class CampaignError(DomainError):
    """A campaign write is refused (bad configuration, weak codes not confirmed, space too small)."""

    status = 422
    code = "campaign_invalid"

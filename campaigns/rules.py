"""Whether a code may be used on an order, checked in one fixed order; the first rule that fails is answered.

The order is RejectReason's (campaigns/errors.py); a test holds RULES to it:

 1. not_found                 no code with this text (case-insensitive, campaigns.codes.normalise_code)
 2. code_disabled             the code was disabled
 3. campaign_not_started      a draft, or before `starts_at`
 4. campaign_ended            at or after `ends_at`
 5. campaign_paused           paused ("stop issuing" does not block redemption of codes already given)
 6. code_expired              at or after the code's `expires_at`
 7. customer_required         a rule needs a customer and none was named, or the named one is unknown
                              (an unknown customer on an assigned code is answered by 8 instead)
 8. not_assigned_to_customer  the code is assigned (to a customer, or automatic, or the campaign is
                              assigned-only) and the customer is not its holder
 9. country_not_allowed       the customer's country is not in the campaign's countries
10. segment_mismatch          the customer is in none of the campaign's segments
11. first_order_only          the customer has paid orders already
12. currency_mismatch         the order's currency is not the campaign's
13. min_order_amount          the order's amount (all of it) is below the minimum
14. no_eligible_items         nothing in the order is eligible (campaigns.discounts), or no unit of a
                              free-unit campaign's SKU
15. code_used                 the code's uses reached its `max_uses`
16. gift_card_empty           a gift card with no balance
17. customer_limit_reached    the customer redeemed the campaign `max_redemptions_per_customer` times
18. limit_reached             the campaign's `max_redemptions` are used up
19. budget_exhausted          the discount would take `discount_total` past the `budget`

Rules needing a customer: an assigned or automatic code, `assigned_only`, countries, segments,
first order only, and a per-customer cap.

Validation checks all of them on the rows as read. Redemption checks 1–16 the same way, then lets the
database decide 15–19 again with conditional UPDATEs (campaigns.services.redemptions), in the same order.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from campaigns.discounts import OrderInput, compute_discount, eligible_amount, free_unit_amount
from campaigns.errors import RejectReason
from campaigns.models import Code, CustomerCampaignUsage, DiscountType
from retention.models import Customer
from retention.segments import is_member


@dataclass
class RuleContext:
    code: Code | None
    order: OrderInput
    now: datetime
    customer: Customer | None = None
    customer_source_id: str | None = None  # as the shop sent it; the customer may be unknown

    @property
    def campaign(self):
        return self.code.campaign

    @cached_property
    def discount_amount(self) -> int:
        return compute_discount(self.code, self.order)

    @cached_property
    def segments(self) -> list:
        # Services annotate `has_segments` so a campaign without segments costs no query.
        if getattr(self.campaign, "has_segments", True) is False:
            return []
        return list(self.campaign.segments.all())

    @cached_property
    def customer_redemptions(self) -> int:
        if self.customer is None:
            return 0
        count = (CustomerCampaignUsage.objects.filter(campaign_id=self.code.campaign_id, customer=self.customer)
                 .values_list("redemptions_count", flat=True).first())
        return count or 0


def is_assigned(code: Code) -> bool:
    return code.customer_id is not None or code.is_automatic or code.campaign.assigned_only


def needs_customer(context: RuleContext) -> bool:
    campaign = context.campaign
    return (is_assigned(context.code) or bool(campaign.countries) or bool(context.segments)
            or campaign.first_order_only or campaign.max_redemptions_per_customer is not None)


def _customer_missing(context: RuleContext) -> bool:
    if context.customer is not None or not needs_customer(context):
        return False
    # An unknown customer presenting an assigned code is not its holder: rule 8 answers that.
    return not (context.customer_source_id and is_assigned(context.code))


def _not_assigned(context: RuleContext) -> bool:
    code = context.code
    if not is_assigned(code):
        return False
    return context.customer is None or code.customer_id != context.customer.pk


def _not_in_country(context: RuleContext) -> bool:
    countries = [country.upper() for country in context.campaign.countries]
    return bool(countries) and (context.customer.country or "").upper() not in countries


def _not_in_segments(context: RuleContext) -> bool:
    segments = context.segments
    return bool(segments) and not any(is_member(context.customer, segment, context.now) for segment in segments)


def _not_first_order(context: RuleContext) -> bool:
    return context.campaign.first_order_only and context.customer.orders_count > 0


def _no_eligible_items(context: RuleContext) -> bool:
    code = context.code
    if eligible_amount(code, context.order.items, context.order.amount) <= 0:
        return True
    uses_unit = code.amount_override is None and code.percent_override is None
    return uses_unit and code.campaign.discount_type == DiscountType.UNIT and \
        free_unit_amount(code, context.order.items) is None


def _gift_card_empty(context: RuleContext) -> bool:
    code = context.code
    is_gift_card = code.campaign.discount_type == DiscountType.GIFT_CARD and code.amount_override is None \
        and code.percent_override is None
    return is_gift_card and (code.balance or 0) <= 0


def _customer_limit_reached(context: RuleContext) -> bool:
    cap = context.campaign.max_redemptions_per_customer
    return cap is not None and context.customer_redemptions >= cap


def _budget_exhausted(context: RuleContext) -> bool:
    campaign = context.campaign
    return campaign.budget is not None and context.discount_amount > campaign.budget - campaign.discount_total


RULES: list[tuple[RejectReason, Callable[[RuleContext], bool]]] = [
    # Each predicate answers "does this rule fail?"; the ones after customer_required may rely on a customer
    # being present whenever they need one.
    (RejectReason.NOT_FOUND, lambda c: c.code is None),
    (RejectReason.CODE_DISABLED, lambda c: c.code.is_disabled),
    (RejectReason.CAMPAIGN_NOT_STARTED,
     lambda c: c.campaign.is_draft or (c.campaign.starts_at is not None and c.now < c.campaign.starts_at)),
    (RejectReason.CAMPAIGN_ENDED, lambda c: c.campaign.ends_at is not None and c.now >= c.campaign.ends_at),
    (RejectReason.CAMPAIGN_PAUSED, lambda c: c.campaign.is_paused),
    (RejectReason.CODE_EXPIRED, lambda c: c.code.expires_at is not None and c.now >= c.code.expires_at),
    (RejectReason.CUSTOMER_REQUIRED, _customer_missing),
    (RejectReason.NOT_ASSIGNED_TO_CUSTOMER, _not_assigned),
    (RejectReason.COUNTRY_NOT_ALLOWED, _not_in_country),
    (RejectReason.SEGMENT_MISMATCH, _not_in_segments),
    (RejectReason.FIRST_ORDER_ONLY, _not_first_order),
    (RejectReason.CURRENCY_MISMATCH,
     lambda c: bool(c.campaign.currency) and c.order.currency.upper() != c.campaign.currency.upper()),
    (RejectReason.MIN_ORDER_AMOUNT,
     lambda c: c.campaign.min_order_amount is not None and c.order.amount < c.campaign.min_order_amount),
    (RejectReason.NO_ELIGIBLE_ITEMS, _no_eligible_items),
    (RejectReason.CODE_USED, lambda c: c.code.max_uses is not None and c.code.uses_count >= c.code.max_uses),
    (RejectReason.GIFT_CARD_EMPTY, _gift_card_empty),
    (RejectReason.CUSTOMER_LIMIT_REACHED, _customer_limit_reached),
    (RejectReason.LIMIT_REACHED,
     lambda c: c.campaign.max_redemptions is not None and c.campaign.redemptions_count >= c.campaign.max_redemptions),
    (RejectReason.BUDGET_EXHAUSTED, _budget_exhausted),
]


def first_failing_rule(context: RuleContext, *, last: RejectReason = RejectReason.BUDGET_EXHAUSTED,
                       ) -> RejectReason | None:
    """The first rule, in RULES' order up to and including `last`, that refuses the code; None if all pass."""
    for reason, fails in RULES:
        if fails(context):
            return reason
        if reason == last:
            break
    return None

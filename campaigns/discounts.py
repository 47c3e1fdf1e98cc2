"""What a code takes off an order. One function, `compute_discount`, serves validation and redemption alike,
so the shop is told at validation exactly the amount it will get at redemption.

Rules, all in integer minor units:
- Eligible amount: the sum of `quantity × unit_price` over the order's items that pass the filters, never
  more than the order's amount. Filters: an include list (SKUs or categories; an item in either is
  included) narrows the items; exclude lists (SKUs, categories) always remove. A support code's
  `sku_limit` replaces the campaign's include lists (the agent picked the product); exclusions still apply,
  since they keep low-margin products out. An order sent without items is eligible in full, unless an
  include list or an SKU limit exists: then nothing can be shown to be eligible.
- percent: `percent_of(eligible, percent)` (half up, retention.money), capped at the campaign's `max_amount`.
- amount: the amount, at most the eligible amount.
- free_shipping: the order's `shipping_amount` when the shop sends it, else 0 (the shop knows its shipping
  price; this service does not), at most the order's amount. Item filters still decide eligibility.
- unit: one free unit of the SKU (`unit_quantity` units, default 1): the cheapest eligible line of that
  SKU's `unit_price × min(unit_quantity, quantity of that SKU in the order)`.
- gift_card: `min(balance, eligible)`; what is left stays on the card.
- A code's `amount_override` (then `percent_override`) wins over the campaign's discount: a support agent's
  amount off (or percent off) on whatever type the support campaign has.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from campaigns.models import Campaign, Code, DiscountType
from retention.money import percent_of


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int
    category: str = ""
    name: str = ""

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class OrderInput:
    """The order as the shop describes it when validating or redeeming a code."""

    amount: int
    currency: str
    items: tuple[OrderLine, ...] = field(default_factory=tuple)
    source_id: str = ""
    shipping_amount: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping) -> "OrderInput":
        lines = tuple(
            OrderLine(sku=item["sku"], quantity=item.get("quantity", 1), unit_price=item.get("unit_price", 0),
                      category=item.get("category") or "", name=item.get("name") or "")
            for item in data.get("items") or ()
        )
        return cls(amount=data["amount"], currency=(data.get("currency") or "").upper(), items=lines,
                   source_id=data.get("source_id") or "", shipping_amount=data.get("shipping_amount"))


def _campaign_and_code(campaign_or_code: Campaign | Code) -> tuple[Campaign, Code | None]:
    if isinstance(campaign_or_code, Code):
        return campaign_or_code.campaign, campaign_or_code
    return campaign_or_code, None


def _is_eligible(line: OrderLine, campaign: Campaign, sku_limit: str) -> bool:
    if line.sku in campaign.exclude_skus or (line.category and line.category in campaign.exclude_categories):
        return False
    if sku_limit:
        return line.sku == sku_limit
    if campaign.include_skus or campaign.include_categories:
        return line.sku in campaign.include_skus or bool(line.category and line.category in campaign.include_categories)
    return True


def eligible_lines(campaign_or_code: Campaign | Code, items: Iterable[OrderLine]) -> list[OrderLine]:
    campaign, code = _campaign_and_code(campaign_or_code)
    sku_limit = code.sku_limit if code is not None else ""
    return [line for line in items if _is_eligible(line, campaign, sku_limit)]


def eligible_amount(campaign_or_code: Campaign | Code, items: Iterable[OrderLine], order_amount: int) -> int:
    """The part of the order the discount may apply to (see the module docstring)."""
    campaign, code = _campaign_and_code(campaign_or_code)
    items = list(items)
    if not items:
        narrowed = bool(campaign.include_skus or campaign.include_categories or (code is not None and code.sku_limit))
        return 0 if narrowed else max(order_amount, 0)
    total = sum(line.total for line in eligible_lines(campaign_or_code, items))
    return max(min(total, order_amount), 0)


def free_unit_amount(code: Code, items: Iterable[OrderLine]) -> int | None:
    """The value of the free unit(s), or None when the order holds no eligible line of the SKU."""
    campaign = code.campaign
    lines = [line for line in eligible_lines(code, items) if line.sku == campaign.unit_sku and line.quantity > 0]
    if not lines:
        return None
    quantity_in_order = sum(line.quantity for line in lines)
    free_quantity = min(campaign.unit_quantity or 1, quantity_in_order)
    return min(line.unit_price for line in lines) * free_quantity


def compute_discount(code: Code, order: OrderInput) -> int:
    """The discount `code` gives on `order`, in minor units; never more than the eligible amount."""
    campaign = code.campaign
    eligible = eligible_amount(code, order.items, order.amount)
    if code.amount_override is not None:
        return min(code.amount_override, eligible)
    if code.percent_override is not None:
        discount = percent_of(eligible, code.percent_override)
        if campaign.max_amount is not None:
            discount = min(discount, campaign.max_amount)
        return min(discount, eligible)
    kind = campaign.discount_type
    if kind == DiscountType.PERCENT:
        discount = percent_of(eligible, campaign.percent or 0)
        if campaign.max_amount is not None:
            discount = min(discount, campaign.max_amount)
    elif kind == DiscountType.AMOUNT:
        discount = campaign.amount or 0
    elif kind == DiscountType.FREE_SHIPPING:
        # Shipping is not an item, so only the order's amount bounds it.
        return max(min(order.shipping_amount or 0, order.amount), 0)
    elif kind == DiscountType.UNIT:
        discount = free_unit_amount(code, order.items) or 0
    elif kind == DiscountType.GIFT_CARD:
        discount = max(code.balance or 0, 0)
    else:  # pragma: no cover - a new DiscountType must be handled here
        raise ValueError(f"unknown discount type {kind!r}")
    return max(min(discount, eligible), 0)


def describe_discount(code: Code) -> dict:
    """The discount as API.md's campaign body spells it, with a code's own overrides applied."""
    campaign = code.campaign
    if code.amount_override is not None:
        return {"type": DiscountType.AMOUNT.value, "amount": code.amount_override}
    if code.percent_override is not None:
        return {"type": DiscountType.PERCENT.value, "percent": code.percent_override,
                "max_amount": campaign.max_amount}
    kind = campaign.discount_type
    if kind == DiscountType.PERCENT:
        return {"type": kind, "percent": campaign.percent, "max_amount": campaign.max_amount}
    if kind == DiscountType.AMOUNT:
        return {"type": kind, "amount": campaign.amount}
    if kind == DiscountType.UNIT:
        return {"type": kind, "sku": campaign.unit_sku, "quantity": campaign.unit_quantity or 1}
    if kind == DiscountType.GIFT_CARD:
        return {"type": kind, "balance": code.balance or 0}
    return {"type": kind}

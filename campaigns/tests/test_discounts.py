"""campaigns.discounts: eligible amounts and every discount type, on unsaved rows (no database needed)."""

from campaigns.discounts import OrderInput, OrderLine, compute_discount, describe_discount, eligible_amount
from campaigns.models import Campaign, Code, DiscountType


def make_code(*, code_fields: dict | None = None, **campaign_fields) -> Code:
    campaign = Campaign(name="Test", slug="test", currency="EUR", **campaign_fields)
    return Code(code="TEST", campaign=campaign, **(code_fields or {}))


SHIRT = OrderLine(sku="SHIRT-1", category="shirts", quantity=2, unit_price=2500)  # 5000
SOCK = OrderLine(sku="SOCK-1", category="socks", quantity=3, unit_price=400)  # 1200
SALE = OrderLine(sku="SALE-9", category="sale", quantity=1, unit_price=1800)  # 1800


def order(amount: int, *items: OrderLine, shipping_amount: int | None = None) -> OrderInput:
    return OrderInput(amount=amount, currency="EUR", items=tuple(items), source_id="o-1",
                      shipping_amount=shipping_amount)


def test_without_items_the_whole_order_is_eligible():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10)
    # when / then
    assert eligible_amount(code, [], 8000) == 8000


def test_without_items_nothing_is_eligible_when_an_include_list_exists():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, include_categories=["shirts"])
    # when / then
    assert eligible_amount(code, [], 8000) == 0


def test_exclude_lists_alone_leave_an_order_without_items_eligible():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, exclude_skus=["SALE-9"])
    # when / then
    assert eligible_amount(code, [], 8000) == 8000


def test_include_skus_or_categories_narrow_the_items():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, include_skus=["SOCK-1"],
                     include_categories=["shirts"])
    # when / then
    assert eligible_amount(code, [SHIRT, SOCK, SALE], 8000) == 6200


def test_exclusions_remove_items_by_sku_and_category():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, exclude_skus=["SOCK-1"],
                     exclude_categories=["sale"])
    # when / then
    assert eligible_amount(code, [SHIRT, SOCK, SALE], 8000) == 5000


def test_eligible_amount_never_exceeds_the_order_amount():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10)
    # when / then
    assert eligible_amount(code, [SHIRT, SOCK, SALE], 7000) == 7000


def test_sku_limit_replaces_include_lists_but_exclusions_still_apply():
    # given
    limited = make_code(discount_type=DiscountType.PERCENT, percent=10, include_categories=["shirts"],
                        code_fields={"sku_limit": "SOCK-1"})
    excluded = make_code(discount_type=DiscountType.PERCENT, percent=10, exclude_skus=["SOCK-1"],
                         code_fields={"sku_limit": "SOCK-1"})
    # when / then
    assert eligible_amount(limited, [SHIRT, SOCK], 6200) == 1200
    assert eligible_amount(excluded, [SHIRT, SOCK], 6200) == 0


def test_percent_rounds_half_up_through_money():
    # given: 15% of 333 is 49.95
    code = make_code(discount_type=DiscountType.PERCENT, percent=15)
    # when / then
    assert compute_discount(code, order(333)) == 50


def test_percent_is_capped_at_max_amount():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=15, max_amount=2000)
    # when / then
    assert compute_discount(code, order(20000)) == 2000
    assert compute_discount(code, order(10000)) == 1500


def test_percent_applies_to_eligible_items_only():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, exclude_categories=["sale"])
    # when / then
    assert compute_discount(code, order(8000, SHIRT, SOCK, SALE)) == 620


def test_amount_off_never_exceeds_the_eligible_amount():
    # given
    code = make_code(discount_type=DiscountType.AMOUNT, amount=1500, include_skus=["SOCK-1"])
    # when / then
    assert compute_discount(code, order(8000, SHIRT, SOCK, SALE)) == 1200
    assert compute_discount(code, order(8000, SOCK, OrderLine(sku="SOCK-1", quantity=1, unit_price=900))) == 1500


def test_free_shipping_takes_the_shipping_amount_sent_by_the_shop():
    # given
    code = make_code(discount_type=DiscountType.FREE_SHIPPING)
    # when / then
    assert compute_discount(code, order(8000, shipping_amount=495)) == 495
    assert compute_discount(code, order(8000)) == 0


def test_unit_gives_one_unit_of_the_sku():
    # given
    code = make_code(discount_type=DiscountType.UNIT, unit_sku="SOCK-1", unit_quantity=1)
    # when / then
    assert compute_discount(code, order(6200, SHIRT, SOCK)) == 400


def test_unit_quantity_is_bounded_by_the_quantity_ordered():
    # given
    code = make_code(discount_type=DiscountType.UNIT, unit_sku="SOCK-1", unit_quantity=5)
    # when / then
    assert compute_discount(code, order(6200, SHIRT, SOCK)) == 1200


def test_unit_without_the_sku_gives_nothing():
    # given
    code = make_code(discount_type=DiscountType.UNIT, unit_sku="SOCK-1", unit_quantity=1)
    # when / then
    assert compute_discount(code, order(5000, SHIRT)) == 0


def test_gift_card_spends_at_most_its_balance():
    # given
    code = make_code(discount_type=DiscountType.GIFT_CARD, gift_card_balance=5000, code_fields={"balance": 5000})
    # when / then
    assert compute_discount(code, order(3000)) == 3000
    assert compute_discount(code, order(9000)) == 5000


def test_amount_override_wins_over_the_campaign_discount():
    # given
    code = make_code(discount_type=DiscountType.PERCENT, percent=10, code_fields={"amount_override": 700})
    # when / then
    assert compute_discount(code, order(8000)) == 700
    assert describe_discount(code) == {"type": "amount", "amount": 700}


def test_percent_override_wins_and_keeps_the_campaign_cap():
    # given
    code = make_code(discount_type=DiscountType.AMOUNT, amount=500, max_amount=1000,
                     code_fields={"percent_override": 20})
    # when / then
    assert compute_discount(code, order(4000)) == 800
    assert compute_discount(code, order(8000)) == 1000


def test_describe_discount_spells_the_api_body():
    # given
    percent = make_code(discount_type=DiscountType.PERCENT, percent=15, max_amount=2000)
    unit = make_code(discount_type=DiscountType.UNIT, unit_sku="SOCK-1", unit_quantity=1)
    gift = make_code(discount_type=DiscountType.GIFT_CARD, code_fields={"balance": 1234})
    # when / then
    assert describe_discount(percent) == {"type": "percent", "percent": 15, "max_amount": 2000}
    assert describe_discount(unit) == {"type": "unit", "sku": "SOCK-1", "quantity": 1}
    assert describe_discount(gift) == {"type": "gift_card", "balance": 1234}
    assert describe_discount(make_code(discount_type=DiscountType.FREE_SHIPPING)) == {"type": "free_shipping"}


def test_order_input_from_mapping_reads_the_api_body():
    # given
    body = {"source_id": "o-9", "amount": 6200, "currency": "eur",
            "items": [{"sku": "SOCK-1", "quantity": 3, "unit_price": 400, "category": "socks"}]}
    # when
    parsed = OrderInput.from_mapping(body)
    # then
    assert parsed == OrderInput(amount=6200, currency="EUR", source_id="o-9",
                                items=(OrderLine(sku="SOCK-1", quantity=3, unit_price=400, category="socks"),))

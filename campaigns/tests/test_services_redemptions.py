"""campaigns.services.redemptions: every reason code, the order of rules, redemption, the retried order, rollback."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.discounts import OrderInput, OrderLine
from campaigns.errors import CodeRejected, RejectReason
from campaigns.models import Code, CustomerCampaignUsage, DiscountType, Redemption, RedemptionStatus
from campaigns.queries import redemption_counters
from campaigns.services.redemptions import redeem_code, rollback_redemption, validate_code
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.models import AuditEntry, Customer, Segment

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def an_order(amount: int = 10000, *items: OrderLine, currency: str = "EUR", source_id: str = "order-1",
             shipping_amount: int | None = None) -> OrderInput:
    return OrderInput(amount=amount, currency=currency, items=tuple(items), source_id=source_id,
                      shipping_amount=shipping_amount)


def a_customer(source_id: str = "cust-1", **fields) -> Customer:
    return Customer.objects.create(source_id=source_id, **fields)


def redeem(code: Code | str, customer: str | None = None, order: OrderInput | None = None, **kwargs) -> Redemption:
    text = code.code if isinstance(code, Code) else code
    return redeem_code(code=text, customer_source_id=customer, order=order or an_order(), actor=ACTOR, **kwargs)


def counters(campaign) -> tuple[int, int]:
    """The campaign's redemptions and discount total as pages and API show them (row and shards)."""
    campaign.refresh_from_db()
    counted = redemption_counters(campaign)
    return counted.redemptions, counted.discount_total


def state(code: Code) -> tuple:
    """Everything a refusal must leave untouched."""
    code.refresh_from_db()
    return (Redemption.objects.count(), AuditEntry.objects.count(), code.uses_count, code.balance,
            counters(code.campaign),
            list(CustomerCampaignUsage.objects.values_list("redemptions_count", flat=True)))


def assert_refused(code: Code, expected: RejectReason, *, customer: str | None = None,
                   order: OrderInput | None = None) -> None:
    before = state(code)
    result = validate_code(code=code.code, customer_source_id=customer, order=order or an_order())
    with pytest.raises(CodeRejected) as refusal:
        redeem(code, customer, order)
    assert (result.valid, result.reason) == (False, expected)
    assert refusal.value.reason == expected
    assert state(code) == before


# --- redemption -------------------------------------------------------------------------------------------

def test_redeems_a_code_and_moves_every_counter():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.PERCENT, percent=15, max_amount=2000,
                               max_redemptions=10, budget=100000, max_redemptions_per_customer=2)
    code = CodeFactory(campaign=campaign, code="SPRING15", max_uses=1)
    customer = a_customer()
    # when
    redemption = redeem("spring15", customer="cust-1", order=an_order(10000))
    # then
    code.refresh_from_db()
    campaign.refresh_from_db()
    assert (redemption.code_id, redemption.customer_id, redemption.discount_amount, redemption.status,
            redemption.order_source_id, redemption.order_amount, redemption.currency) == (
        code.pk, customer.pk, 1500, RedemptionStatus.SUCCEEDED, "order-1", 10000, "EUR")
    assert (code.uses_count, campaign.redemptions_count, campaign.discount_total) == (1, 1, 1500)
    assert CustomerCampaignUsage.objects.get(campaign=campaign, customer=customer).redemptions_count == 1
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.after["discount_amount"]) == ("code.redeemed", str(redemption.pk),
                                                                               1500)


def test_validation_and_redemption_give_the_same_discount():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.PERCENT, percent=15, exclude_categories=["sale"])
    code = CodeFactory(campaign=campaign)
    order = an_order(7777, OrderLine(sku="A", quantity=3, unit_price=1999, category="shoes"),
                     OrderLine(sku="B", quantity=1, unit_price=1780, category="sale"))
    # when
    validation = validate_code(code=code.code, order=order)
    redemption = redeem(code, order=order)
    # then
    assert validation.valid is True
    assert validation.discount_amount == redemption.discount_amount == 900  # 15% of 5997 = 899.55
    assert validation.discount == {"type": "percent", "percent": 15, "max_amount": None}
    assert validation.campaign == campaign


def test_gift_card_is_spent_in_part_and_keeps_the_rest():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, gift_card_balance=5000)
    code = CodeFactory(campaign=campaign, balance=5000, max_uses=None)
    # when
    first = redeem(code, order=an_order(3000, source_id="o-1"))
    second = redeem(code, order=an_order(3000, source_id="o-2"))
    # then
    code.refresh_from_db()
    assert (first.discount_amount, second.discount_amount, code.balance, code.uses_count) == (3000, 2000, 0, 2)
    assert_refused(code, RejectReason.GIFT_CARD_EMPTY, order=an_order(3000, source_id="o-3"))


def test_a_retried_order_gets_its_first_redemption_back():
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10), max_uses=1)
    a_customer()
    first = redeem(code, customer="cust-1")
    # when
    again = redeem(code, customer="cust-1")
    # then
    code.refresh_from_db()
    assert again.pk == first.pk
    assert (Redemption.objects.count(), code.uses_count, AuditEntry.objects.count()) == (1, 1, 1)


def test_a_retried_order_on_a_multi_use_code_is_not_counted_twice():
    # given
    campaign = CampaignFactory(percent=10)
    code = CodeFactory(campaign=campaign, max_uses=None)
    first = redeem(code)
    # when
    again = redeem(code)
    # then
    code.refresh_from_db()
    campaign.refresh_from_db()
    assert again.pk == first.pk
    assert (Redemption.objects.count(), code.uses_count, counters(campaign)) == (1, 1, (1, 1000))


def test_the_same_order_for_another_customer_is_code_used():
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10), max_uses=None)
    a_customer("cust-1")
    a_customer("cust-2")
    redeem(code, customer="cust-1")
    # when / then
    with pytest.raises(CodeRejected) as refusal:
        redeem(code, customer="cust-2")
    assert refusal.value.reason == RejectReason.CODE_USED
    assert Redemption.objects.count() == 1


def test_redeemed_signal_is_sent_on_commit(django_capture_on_commit_callbacks):
    # given
    from campaigns.signals import code_redeemed

    code = CodeFactory(campaign=CampaignFactory(percent=10))
    received = []
    code_redeemed.connect(lambda sender, redemption, **kwargs: received.append(redemption.pk), weak=False,
                          dispatch_uid="test-redeemed")
    try:
        # when
        with django_capture_on_commit_callbacks(execute=True):
            redemption = redeem(code)
    finally:
        code_redeemed.disconnect(dispatch_uid="test-redeemed")
    # then
    assert received == [redemption.pk]


def test_stopped_issuing_does_not_block_redemption():
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10, is_issuing_stopped=True))
    # when
    redemption = redeem(code)
    # then
    assert redemption.discount_amount == 1000


def test_an_automatic_discount_is_redeemed_by_its_holder():
    # given
    customer = a_customer()
    code = CodeFactory(campaign=CampaignFactory(discount_type=DiscountType.AMOUNT, percent=None, amount=500),
                       customer=customer, is_automatic=True)
    # when
    redemption = redeem(code, customer="cust-1")
    # then
    assert (redemption.discount_amount, redemption.customer_id) == (500, customer.pk)
    assert_refused(code, RejectReason.NOT_ASSIGNED_TO_CUSTOMER, customer="stranger",
                   order=an_order(source_id="o-2"))


# --- rollback ---------------------------------------------------------------------------------------------

def test_rollback_gives_everything_back_exactly_once():
    # given
    campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, max_redemptions=5, budget=9000)
    code = CodeFactory(campaign=campaign, balance=5000, max_uses=None)
    customer = a_customer()
    redemption = redeem(code, customer="cust-1", order=an_order(3000))
    # when
    first = rollback_redemption(redemption_id=redemption.pk, reason="order cancelled", actor=ACTOR)
    second = rollback_redemption(redemption_id=redemption.pk, reason="again", actor=ACTOR)
    # then
    code.refresh_from_db()
    campaign.refresh_from_db()
    assert (first.status, second.status, second.rollback_reason) == ("rolled_back", "rolled_back", "order cancelled")
    assert (code.uses_count, code.balance, campaign.redemptions_count, campaign.discount_total) == (0, 5000, 0, 0)
    assert CustomerCampaignUsage.objects.get(customer=customer).redemptions_count == 0
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "code.redeemed", "redemption.rolled_back"]


def test_a_rolled_back_one_time_code_can_be_redeemed_again_on_the_same_order():
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10), max_uses=1)
    redemption = redeem(code)
    rollback_redemption(redemption_id=redemption.pk, reason="", actor=ACTOR)
    # when
    again = redeem(code)
    # then
    assert again.pk != redemption.pk
    assert list(Redemption.objects.order_by("id").values_list("status", flat=True)) == ["rolled_back", "succeeded"]


def test_rollback_of_an_unknown_redemption_is_not_found():
    from retention.errors import NotFound

    with pytest.raises(NotFound):
        rollback_redemption(redemption_id=999999, reason="", actor=ACTOR)


# --- one test per reason code -----------------------------------------------------------------------------

def test_reason_not_found():
    before = (Redemption.objects.count(), AuditEntry.objects.count())
    assert validate_code(code="NOPE", order=an_order()).reason == RejectReason.NOT_FOUND
    with pytest.raises(CodeRejected) as refusal:
        redeem("NOPE")
    assert refusal.value.reason == RejectReason.NOT_FOUND
    assert (Redemption.objects.count(), AuditEntry.objects.count()) == before


def test_reason_code_disabled():
    assert_refused(CodeFactory(is_disabled=True), RejectReason.CODE_DISABLED)


def test_reason_campaign_not_started():
    assert_refused(CodeFactory(campaign=CampaignFactory(starts_at=timezone.now() + timedelta(days=1))),
                   RejectReason.CAMPAIGN_NOT_STARTED)


def test_a_draft_campaign_has_not_started():
    assert_refused(CodeFactory(campaign=CampaignFactory(is_draft=True)), RejectReason.CAMPAIGN_NOT_STARTED)


def test_reason_campaign_ended():
    assert_refused(CodeFactory(campaign=CampaignFactory(ends_at=timezone.now() - timedelta(seconds=1))),
                   RejectReason.CAMPAIGN_ENDED)


def test_reason_campaign_paused():
    assert_refused(CodeFactory(campaign=CampaignFactory(is_paused=True)), RejectReason.CAMPAIGN_PAUSED)


def test_reason_code_expired():
    assert_refused(CodeFactory(expires_at=timezone.now() - timedelta(seconds=1)), RejectReason.CODE_EXPIRED)


def test_reason_customer_required():
    code = CodeFactory(campaign=CampaignFactory(max_redemptions_per_customer=1))
    assert_refused(code, RejectReason.CUSTOMER_REQUIRED)
    assert_refused(code, RejectReason.CUSTOMER_REQUIRED, customer="unknown-customer")
    assert not Customer.objects.exists()


def test_an_assigned_code_without_a_customer_is_customer_required():
    assert_refused(CodeFactory(customer=a_customer()), RejectReason.CUSTOMER_REQUIRED)


def test_reason_not_assigned_to_customer():
    code = CodeFactory(customer=a_customer("holder"))
    a_customer("other")
    assert_refused(code, RejectReason.NOT_ASSIGNED_TO_CUSTOMER, customer="other")
    assert_refused(code, RejectReason.NOT_ASSIGNED_TO_CUSTOMER, customer="unknown-customer")


def test_an_assigned_only_campaign_refuses_an_unassigned_code():
    a_customer()
    assert_refused(CodeFactory(campaign=CampaignFactory(assigned_only=True)), RejectReason.NOT_ASSIGNED_TO_CUSTOMER,
                   customer="cust-1")


def test_reason_country_not_allowed():
    a_customer(country="FR")
    assert_refused(CodeFactory(campaign=CampaignFactory(countries=["DE", "AT"])), RejectReason.COUNTRY_NOT_ALLOWED,
                   customer="cust-1")


def test_reason_segment_mismatch(monkeypatch):
    campaign = CampaignFactory()
    campaign.segments.add(Segment.objects.create(name="Dormant", slug="dormant-180"))
    a_customer()
    monkeypatch.setattr("campaigns.rules.is_member", lambda customer, segment, now=None: False)
    assert_refused(CodeFactory(campaign=campaign), RejectReason.SEGMENT_MISMATCH, customer="cust-1")


def test_a_segment_member_is_accepted(monkeypatch):
    campaign = CampaignFactory(percent=10)
    campaign.segments.add(Segment.objects.create(name="Dormant", slug="dormant-180"))
    a_customer()
    monkeypatch.setattr("campaigns.rules.is_member", lambda customer, segment, now=None: segment.slug == "dormant-180")
    assert redeem(CodeFactory(campaign=campaign), customer="cust-1").discount_amount == 1000


def test_reason_first_order_only():
    a_customer(orders_count=1)
    assert_refused(CodeFactory(campaign=CampaignFactory(first_order_only=True)), RejectReason.FIRST_ORDER_ONLY,
                   customer="cust-1")


def test_reason_currency_mismatch():
    assert_refused(CodeFactory(campaign=CampaignFactory(currency="EUR")), RejectReason.CURRENCY_MISMATCH,
                   order=an_order(currency="GBP"))


def test_reason_min_order_amount():
    assert_refused(CodeFactory(campaign=CampaignFactory(min_order_amount=5000)), RejectReason.MIN_ORDER_AMOUNT,
                   order=an_order(4999))


def test_reason_no_eligible_items():
    code = CodeFactory(campaign=CampaignFactory(include_categories=["shoes"]))
    assert_refused(code, RejectReason.NO_ELIGIBLE_ITEMS,
                   order=an_order(1000, OrderLine(sku="S", quantity=1, unit_price=1000, category="socks")))


def test_a_unit_campaign_without_its_sku_has_no_eligible_items():
    code = CodeFactory(campaign=CampaignFactory(discount_type=DiscountType.UNIT, percent=None, unit_sku="SOCK-1"))
    assert_refused(code, RejectReason.NO_ELIGIBLE_ITEMS,
                   order=an_order(1000, OrderLine(sku="SHIRT", quantity=1, unit_price=1000)))


def test_reason_code_used():
    code = CodeFactory(max_uses=1)
    redeem(code, order=an_order(source_id="o-1"))
    assert_refused(code, RejectReason.CODE_USED, order=an_order(source_id="o-2"))


def test_reason_gift_card_empty():
    code = CodeFactory(campaign=CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None),
                       balance=0, max_uses=None)
    assert_refused(code, RejectReason.GIFT_CARD_EMPTY)


def test_reason_customer_limit_reached():
    a_customer()
    campaign = CampaignFactory(max_redemptions_per_customer=1)
    redeem(CodeFactory(campaign=campaign), customer="cust-1", order=an_order(source_id="o-1"))
    assert_refused(CodeFactory(campaign=campaign), RejectReason.CUSTOMER_LIMIT_REACHED, customer="cust-1",
                   order=an_order(source_id="o-2"))


def test_reason_limit_reached():
    campaign = CampaignFactory(max_redemptions=1)
    redeem(CodeFactory(campaign=campaign), order=an_order(source_id="o-1"))
    assert_refused(CodeFactory(campaign=campaign), RejectReason.LIMIT_REACHED, order=an_order(source_id="o-2"))


def test_reason_budget_exhausted():
    # given 1500 of 2000 spent; 10% of 10000 is 1000, over the 500 left
    campaign = CampaignFactory(percent=10, budget=2000)
    redeem(CodeFactory(campaign=campaign), order=an_order(15000, source_id="o-1"))
    # when / then
    assert_refused(CodeFactory(campaign=campaign), RejectReason.BUDGET_EXHAUSTED, order=an_order(source_id="o-2"))
    assert redeem(CodeFactory(campaign=campaign), order=an_order(5000, source_id="o-3")).discount_amount == 500


# --- the fixed order --------------------------------------------------------------------------------------

def test_disabled_is_answered_before_expired_and_ended():
    code = CodeFactory(is_disabled=True, expires_at=timezone.now() - timedelta(days=1),
                       campaign=CampaignFactory(ends_at=timezone.now() - timedelta(days=1)))
    assert_refused(code, RejectReason.CODE_DISABLED)


def test_ended_is_answered_before_paused():
    code = CodeFactory(campaign=CampaignFactory(is_paused=True, ends_at=timezone.now() - timedelta(days=1)))
    assert_refused(code, RejectReason.CAMPAIGN_ENDED)


def test_currency_is_answered_before_min_order_amount_and_code_used():
    code = CodeFactory(campaign=CampaignFactory(currency="EUR", min_order_amount=5000), max_uses=1, uses_count=1)
    assert_refused(code, RejectReason.CURRENCY_MISMATCH, order=an_order(100, currency="USD"))


def test_customer_limit_is_answered_before_limit_reached_and_budget():
    a_customer()
    campaign = CampaignFactory(max_redemptions_per_customer=1, max_redemptions=1, budget=1000)
    redeem(CodeFactory(campaign=campaign), customer="cust-1", order=an_order(source_id="o-1"))
    assert_refused(CodeFactory(campaign=campaign), RejectReason.CUSTOMER_LIMIT_REACHED, customer="cust-1",
                   order=an_order(source_id="o-2"))


def test_a_static_segment_member_is_accepted_and_others_are_not():
    # given: retention.segments decides membership for real
    from retention.models import SegmentKind, StaticSegmentMember

    segment = Segment.objects.create(name="VIP", slug="vip", kind=SegmentKind.STATIC)
    campaign = CampaignFactory(percent=10)
    campaign.segments.add(segment)
    StaticSegmentMember.objects.create(segment=segment, customer=a_customer("vip-1"))
    a_customer("plain-1")
    # when
    redemption = redeem(CodeFactory(campaign=campaign), customer="vip-1", order=an_order(source_id="o-1"))
    # then
    assert redemption.discount_amount == 1000
    assert_refused(CodeFactory(campaign=campaign), RejectReason.SEGMENT_MISMATCH, customer="plain-1",
                   order=an_order(source_id="o-2"))


def test_rolled_back_signal_is_sent_on_commit_once(django_capture_on_commit_callbacks):
    # given
    from campaigns.signals import redemption_rolled_back

    redemption = redeem(CodeFactory(campaign=CampaignFactory(percent=10)))
    received = []
    redemption_rolled_back.connect(lambda sender, redemption, **kwargs: received.append(redemption.status),
                                   weak=False, dispatch_uid="test-rolled-back")
    try:
        # when
        with django_capture_on_commit_callbacks(execute=True):
            rollback_redemption(redemption_id=redemption.pk, reason="", actor=ACTOR)
            rollback_redemption(redemption_id=redemption.pk, reason="", actor=ACTOR)
    finally:
        redemption_rolled_back.disconnect(dispatch_uid="test-rolled-back")
    # then
    assert received == ["rolled_back"]


def test_a_refusal_decided_by_the_database_rolls_back_the_earlier_steps(monkeypatch):
    # given: the rows as read allow it, but the campaign is paused before its row is updated
    from campaigns.models import Campaign
    from campaigns.services import redemptions

    a_customer()
    campaign = CampaignFactory(percent=10)
    code = CodeFactory(campaign=campaign)
    original = redemptions.first_failing_rule

    def paused_meanwhile(context, **kwargs):  # after the rows were read, before any write
        Campaign.objects.filter(pk=context.code.campaign_id).update(is_paused=True)
        return original(context, **kwargs)

    monkeypatch.setattr(redemptions, "first_failing_rule", paused_meanwhile)
    # when
    with pytest.raises(CodeRejected) as refusal:
        redeem(code, customer="cust-1")
    # then: the redemption row, the code's use, the customer's use and the audit entry are gone
    code.refresh_from_db()
    assert refusal.value.reason == RejectReason.CAMPAIGN_PAUSED
    assert (Redemption.objects.count(), AuditEntry.objects.count(), code.uses_count) == (0, 0, 0)
    assert not CustomerCampaignUsage.objects.filter(redemptions_count__gt=0).exists()

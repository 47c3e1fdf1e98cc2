"""POST /validations, /redemptions and /redemptions/{id}/rollback (API.md "Codes"). Thin: parse, call one service.

Guessing is throttled: each `not_found` answer counts against the API key, the customer named and the
client's IP (retention.ratelimit, an atomic fixed-window counter in Django's cache). Once any of them has
RETENTION["RATE_LIMIT_FAILED_LOOKUPS"] failures in the window (RATE_LIMIT_WINDOW_SECONDS), every look-up
of it answers 429 with Retry-After until the window ends, found codes included; otherwise a guesser would
still learn which guesses hit. The check runs before the Idempotency-Key is claimed, so a 429 is never
stored as a key's answer.
"""

import math
import time

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.discounts import OrderInput
from campaigns.errors import CodeRejected, RejectReason
from campaigns.services.redemptions import redeem_code, rollback_redemption, validate_code
from retention.actors import Actor
from retention.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from retention.api.negotiation import JsonOnlyNegotiation
from retention.http import client_ip
from retention.ratelimit import any_limited, hit

SCOPE = "codes.failed_lookup.{kind}"

class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    quantity = serializers.IntegerField(min_value=1, default=1)
    unit_price = serializers.IntegerField(min_value=0)


class OrderSerializer(serializers.Serializer):
    source_id = serializers.CharField(max_length=255, required=False)
    amount = serializers.IntegerField(min_value=0)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3,
                                      error_messages={"invalid": "An ISO 4217 code of three letters."})
    items = OrderItemSerializer(many=True, required=False)
    shipping_amount = serializers.IntegerField(min_value=0, required=False, allow_null=True,
                                               help_text="Shipping price; what a free-shipping code takes off.")


class RedemptionOrderSerializer(OrderSerializer):
    source_id = serializers.CharField(max_length=255)


class ValidationInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=100)
    customer = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    order = OrderSerializer()


class RedemptionInputSerializer(ValidationInputSerializer):
    order = RedemptionOrderSerializer()


class RollbackInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(source="code.code")
    campaign = serializers.CharField(source="campaign.slug")
    customer = serializers.CharField(source="customer.source_id", default=None)
    order = serializers.CharField(source="order_source_id")
    discount_amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


ValidationOutputSerializer = inline_serializer("ValidationOutput", {
    "valid": serializers.BooleanField(),
    "code": serializers.CharField(required=False),
    "campaign": serializers.CharField(required=False),
    "discount": serializers.DictField(required=False),
    "discount_amount": serializers.IntegerField(required=False),
    "reason": serializers.ChoiceField(choices=RejectReason.choices, required=False),
    "message": serializers.CharField(required=False),
})


def _plain_text(value, max_length: int, *, blank: bool = False) -> bool:
    """A str DRF's CharField keeps as it is: no surrounding whitespace to trim, ASCII (no NUL or surrogate to
    refuse), within max_length and, unless `blank`, not empty."""
    return (type(value) is str and value.isascii() and "\x00" not in value and len(value) <= max_length
            and value == value.strip() and (blank or value != ""))


_MAX_INT = 2**63 - 1


def _count(value, minimum: int) -> bool:
    # Not a bool, a float, a numeric string or a huge number: those take DRF's path.
    return type(value) is int and minimum <= value <= _MAX_INT


_ITEM_TEXT = (("sku", 100, False), ("name", 255, True), ("category", 100, True))


def _plain_item(item) -> dict | None:
    if type(item) is not dict or not _count(item.get("unit_price"), 0):
        return None
    clean = {}
    for name, max_length, blank in _ITEM_TEXT:
        if name in item:
            if not _plain_text(item[name], max_length, blank=blank):
                return None
            clean[name] = item[name]
        elif not blank:  # sku is required
            return None
    quantity = item.get("quantity", 1)
    if not _count(quantity, 1):
        return None
    clean["quantity"], clean["unit_price"] = quantity, item["unit_price"]
    return clean


def plain_redemption_input(data) -> dict | None:
    """RedemptionInputSerializer's validated_data for a body it would accept as it is, without building the
    serializer (its field copies cost ~1 ms of CPU per request); None for anything else, which then goes through
    the serializer, so every error answers exactly as before. Checked against the serializer in the tests."""
    if type(data) is not dict or not _plain_text(data.get("code"), 100):
        return None
    customer = data.get("customer")
    if customer is not None and not _plain_text(customer, 255, blank=True):
        return None
    order = data.get("order")
    if type(order) is not dict or not _plain_text(order.get("source_id"), 255) or not _count(order.get("amount"), 0):
        return None
    currency = order.get("currency")
    if type(currency) is not str or len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        return None
    clean_order = {"source_id": order["source_id"], "amount": order["amount"], "currency": currency}
    if "items" in order:
        if type(order["items"]) is not list:
            return None
        items = [_plain_item(item) for item in order["items"]]
        if None in items:
            return None
        clean_order["items"] = items
    if "shipping_amount" in order:
        shipping = order["shipping_amount"]
        if shipping is not None and not _count(shipping, 0):
            return None
        clean_order["shipping_amount"] = shipping
    clean = {"code": data["code"], "order": clean_order}
    if "customer" in data:
        clean["customer"] = customer
    return clean


_CREATED_AT = serializers.DateTimeField()  # formats created_at as RedemptionOutputSerializer does


def redemption_output(redemption) -> dict:
    """RedemptionOutputSerializer(redemption).data, written out (checked against it in the tests)."""
    return {
        "id": int(redemption.pk), "code": str(redemption.code.code), "campaign": str(redemption.campaign.slug),
        "customer": str(redemption.customer.source_id) if redemption.customer is not None else None,
        "order": str(redemption.order_source_id), "discount_amount": int(redemption.discount_amount),
        "currency": str(redemption.currency), "status": str(redemption.status),
        "created_at": _CREATED_AT.to_representation(redemption.created_at),
    }


def _lookup_idents(request, customer) -> list[tuple[str, str]]:
    idents = [("api_key", str(request.auth.pk)), ("ip", client_ip(request) or "unknown")]
    if isinstance(customer, str | int) and not isinstance(customer, bool) and str(customer):
        idents.append(("customer", str(customer)))  # as the serializer will read it: 42 and "42" are one
    return idents


def _limits() -> tuple[int, int]:
    return settings.RETENTION["RATE_LIMIT_FAILED_LOOKUPS"], settings.RETENTION["RATE_LIMIT_WINDOW_SECONDS"]


def refuse_if_limited(request, customer) -> None:
    """Raise Throttled (429) when the key, the customer or the IP has used up its failed look-ups."""
    limit, window = _limits()
    idents = _lookup_idents(request, customer)
    if any_limited([(SCOPE.format(kind=kind), ident) for kind, ident in idents], limit, window):
        # retention.ratelimit's windows start at multiples of `window`: the current one ends at the next.
        raise Throttled(wait=max(1, math.ceil(window - time.time() % window)))


def count_failed_lookup(request, customer) -> None:
    limit, window = _limits()
    for kind, ident in _lookup_idents(request, customer):
        hit(SCOPE.format(kind=kind), ident, limit, window)


def _customer_in(request):
    return request.data.get("customer") if isinstance(request.data, dict) else None


class ValidationView(APIView):
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(request=ValidationInputSerializer, responses={200: ValidationOutputSerializer},
                   summary="Check a code against an order without using it")
    def post(self, request):
        refuse_if_limited(request, _customer_in(request))
        serializer = ValidationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = data.get("customer") or None
        result = validate_code(code=data["code"], customer_source_id=customer,
                               order=OrderInput.from_mapping(data["order"]))
        if result.reason == RejectReason.NOT_FOUND:
            count_failed_lookup(request, customer)
        if not result.valid:
            return Response({"valid": False, "reason": result.reason.value, "message": result.message})
        return Response({"valid": True, "code": result.code.code, "campaign": result.campaign.slug,
                         "discount": result.discount, "discount_amount": result.discount_amount,
                         "currency": data["order"]["currency"].upper()})


class RedemptionView(APIView):
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(request=RedemptionInputSerializer, responses={201: RedemptionOutputSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER],
                   summary="Use a code on an order (422 with a reason code when a rule says no)")
    def post(self, request):
        refuse_if_limited(request, _customer_in(request))
        return self.redeem(request)

    @idempotent
    def redeem(self, request):
        data = plain_redemption_input(request.data)
        if data is None:
            serializer = RedemptionInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        customer = data.get("customer") or None
        try:
            redemption = redeem_code(code=data["code"], customer_source_id=customer,
                                     order=OrderInput.from_mapping(data["order"]),
                                     actor=Actor.for_api_key(request.auth), api_key=request.auth)
        except CodeRejected as rejection:
            if rejection.reason == RejectReason.NOT_FOUND:
                count_failed_lookup(request, customer)
            raise
        return Response(redemption_output(redemption), status=status.HTTP_201_CREATED)


class RollbackView(APIView):
    @extend_schema(request=RollbackInputSerializer,
                   responses={200: inline_serializer("RollbackOutput", {"id": serializers.IntegerField(),
                                                                        "status": serializers.CharField()})},
                   summary="Give a redemption back (once; a second call answers the same)")
    def post(self, request, redemption_id: int):
        serializer = RollbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        redemption = rollback_redemption(redemption_id=redemption_id, reason=serializer.validated_data["reason"],
                                         actor=Actor.for_api_key(request.auth))
        return Response({"id": redemption.pk, "status": redemption.status})

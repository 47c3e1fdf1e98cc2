"""Serializers shared by the core's API views."""

from django.utils import timezone
from rest_framework import serializers

from retention.models import Customer, OrderStatus, Segment, SegmentMatch
from retention.time import is_valid_zone

NAME = {"max_length": 150, "required": False, "allow_blank": True}


class ConsentsSerializer(serializers.Serializer):
    email_marketing = serializers.BooleanField(required=False)
    sms_marketing = serializers.BooleanField(required=False)


class CustomerInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    first_name = serializers.CharField(**NAME)
    last_name = serializers.CharField(**NAME)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True,
                                     error_messages={"invalid": "An ISO 3166-1 alpha-2 code, e.g. DE."})
    locale = serializers.CharField(max_length=20, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    signed_up_at = serializers.DateTimeField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    metadata = serializers.DictField(required=False)
    consents = ConsentsSerializer(required=False)

    def validate_timezone(self, value: str) -> str:
        if value and not is_valid_zone(value):
            raise serializers.ValidationError("An IANA time zone, e.g. Europe/Berlin.")
        return value

    def validate_birthday(self, value):
        if value and value > timezone.localdate():
            raise serializers.ValidationError("A birthday cannot be in the future.")
        return value


class CustomerOutputSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    consents = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["source_id", "email", "first_name", "last_name", "phone", "birthday", "country", "locale",
                  "timezone", "signed_up_at", "tags", "metadata", "consents", "orders_count", "total_spent",
                  "first_order_at", "last_order_at", "created_at", "updated_at", "erased_at"]

    def get_tags(self, customer) -> list[str]:
        return [tag.name for tag in customer.tags.all()]

    def get_consents(self, customer) -> ConsentsSerializer:
        return {"email_marketing": customer.email_marketing_consent,
                "sms_marketing": customer.sms_marketing_consent}


class OrderItemInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, default=1)
    unit_price = serializers.IntegerField(min_value=0, default=0)


class OrderInputSerializer(serializers.Serializer):
    source_id = serializers.CharField(max_length=255)
    customer = serializers.CharField(max_length=255, help_text="The customer's source_id.")
    amount = serializers.IntegerField(min_value=0, help_text="Minor units (cents).")
    currency = serializers.RegexField(r"^[A-Za-z]{3}$",
                                      error_messages={"invalid": "An ISO 4217 code of three letters."})
    status = serializers.ChoiceField(choices=OrderStatus.choices, default=OrderStatus.PAID)
    items = OrderItemInputSerializer(many=True, required=False, default=list)
    created_at = serializers.DateTimeField(required=False)


class OrderItemOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()


class OrderOutputSerializer(serializers.Serializer):
    source_id = serializers.CharField()
    customer = serializers.CharField(source="customer.source_id")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    items = OrderItemOutputSerializer(many=True, source="items.all")
    created_at = serializers.DateTimeField()


class EventInputSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True,
                               help_text="Your id of the event; the same id again records nothing.")
    customer = serializers.CharField(max_length=255)
    type = serializers.RegexField(r"^[A-Za-z0-9_.:\-]{1,100}$", max_length=100,
                                  error_messages={"invalid": "Letters, digits, _ . : - only."})
    occurred_at = serializers.DateTimeField(required=False)
    properties = serializers.DictField(required=False, default=dict)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="event_id", allow_null=True)
    customer = serializers.CharField(source="customer.source_id")
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    properties = serializers.DictField()
    recorded_at = serializers.DateTimeField()


class RuleSerializer(serializers.Serializer):
    field = serializers.CharField()
    op = serializers.CharField()
    value = serializers.JSONField()


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    match = serializers.ChoiceField(choices=SegmentMatch.choices, default=SegmentMatch.ALL)
    rules = serializers.ListField(child=serializers.DictField(), required=False, default=list,
                                  help_text="[{field, op, value}]; checked by the rule engine.")
    members = serializers.ListField(child=serializers.CharField(max_length=255), required=False,
                                    help_text="A static segment: customers' source_ids or emails.")


class SegmentPatchSerializer(SegmentInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    match = serializers.ChoiceField(choices=SegmentMatch.choices, required=False)
    rules = serializers.ListField(child=serializers.DictField(), required=False)


class SegmentOutputSerializer(serializers.ModelSerializer):
    count = serializers.IntegerField(help_text="Members now.")
    unknown_members = serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="Given members that matched no customer (static).")
    rules = serializers.ListField(child=RuleSerializer())

    class Meta:
        model = Segment
        fields = ["name", "slug", "kind", "match", "rules", "description", "count", "unknown_members",
                  "created_at", "updated_at"]

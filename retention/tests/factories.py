"""factory-boy factories of the core. Aggregates start at zero; retention.services.orders moves them."""

from datetime import timedelta

import factory
from django.utils import timezone

from retention.models import (
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Customer,
    EmailSuppression,
    Event,
    Order,
    OrderItem,
    OrderStatus,
    Segment,
    SegmentKind,
    SegmentMatch,
    StaticSegmentMember,
    Tag,
)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer. Pass `birthday=` and the stored month/day follow, as upsert_customer does."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    source_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Ana"
    last_name = "Lopez"
    country = "DE"
    locale = "de-DE"
    timezone = "Europe/Berlin"
    signed_up_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    birthday = None
    birthday_month = factory.LazyAttribute(lambda customer: customer.birthday.month if customer.birthday else None)
    birthday_day = factory.LazyAttribute(lambda customer: customer.birthday.day if customer.birthday else None)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set([TagFactory(name=name) if isinstance(name, str) else name for name in extracted])


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    customer = factory.SubFactory(CustomerFactory)
    channel = ConsentChannel.EMAIL_MARKETING
    granted = True
    source = ConsentSource.API
    recorded_at = factory.LazyFunction(timezone.now)


class OrderFactory(factory.django.DjangoModelFactory):
    """An order row only: use retention.services.orders.record_order when the customer's aggregates matter."""

    class Meta:
        model = Order

    source_id = factory.Sequence(lambda n: f"order-{n}")
    customer = factory.SubFactory(CustomerFactory)
    amount = 10000
    currency = "EUR"
    status = OrderStatus.PAID
    created_at = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = "Sock"
    category = "socks"
    quantity = 1
    unit_price = 10000


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    customer = factory.SubFactory(CustomerFactory)
    type = "review_submitted"
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(dict)


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    kind = SegmentKind.DYNAMIC
    match = SegmentMatch.ALL
    rules = factory.LazyFunction(list)


class StaticSegmentFactory(SegmentFactory):
    class Meta:
        skip_postgeneration_save = True

    kind = SegmentKind.STATIC

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            StaticSegmentMember.objects.bulk_create(
                [StaticSegmentMember(segment=self, customer=customer) for customer in extracted]
            )


class EmailSuppressionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailSuppression

    email_hash = factory.Sequence(lambda n: f"{n:064x}")
    reason = "bounced"

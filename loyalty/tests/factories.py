"""factory-boy factories of loyalty. Balances move only through loyalty.services (never set them here)."""

import factory

from loyalty.models import LoyaltyProgram, Reward, RewardType, Tier


class LoyaltyProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyProgram

    name = factory.Sequence(lambda n: f"Program {n}")
    currency = "EUR"
    points_per_unit = 1


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    program = factory.SubFactory(LoyaltyProgramFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = 100
    multiplier_percent = 100


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    program = factory.SubFactory(LoyaltyProgramFactory)
    name = factory.Sequence(lambda n: f"Reward {n}")
    type = RewardType.DONATION
    cost = 100


def paid_order(customer, amount: int, items=(), *, source_id: str | None = None, created_at=None, currency="EUR"):
    """A paid order row with items [(category, quantity, unit_price)], as record_order leaves it."""
    from django.utils import timezone

    from retention.models import Order, OrderItem, OrderStatus

    order = Order.objects.create(source_id=source_id or f"o-{Order.objects.count() + 1}", customer=customer,
                                 amount=amount, currency=currency, status=OrderStatus.PAID,
                                 created_at=created_at or timezone.now())
    OrderItem.objects.bulk_create(
        OrderItem(order=order, sku=f"SKU-{index}", category=category, quantity=quantity, unit_price=unit_price)
        for index, (category, quantity, unit_price) in enumerate(items)
    )
    return order


def refund(order, status: str = "refunded"):
    """The order's status as record_order leaves it after a refund (the service's signal is not needed)."""
    from retention.models import Order

    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order

"""Orders sent by the shop. The customer's order aggregates always equal its paid orders."""

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.errors import DomainError, InvalidInput, NotFound
from retention.models import Customer, Order, OrderItem, OrderStatus
from retention.signals import order_recorded

# A refund or cancellation is final: a later "paid" for the same order is refused, not applied.
FINAL_STATUSES = {OrderStatus.REFUNDED, OrderStatus.CANCELLED}


def record_order(*, data: dict, actor: Actor) -> tuple[Order, bool]:
    """Record an order or a change of its status; return (order, created).

    `data`: source_id, customer (the customer's source_id), amount, currency, status, items, created_at.
    The same source_id again changes only the status (paid -> refunded/cancelled, applied once); other
    fields and items are kept from the first call. Unknown customer: NotFound. Leaving a final status:
    DomainError `invalid_status_change`. Signals `order_recorded` after commit when something changed.
    """
    try:
        return _record_order(data=data, actor=actor)
    except IntegrityError:
        # Another request created this order between our look-up and insert: now it is a re-send.
        if not Order.objects.filter(source_id=data["source_id"]).exists():
            raise
        return _record_order(data=data, actor=actor)


@transaction.atomic(durable=True)
def _record_order(*, data: dict, actor: Actor) -> tuple[Order, bool]:
    # The customer's row lock serialises every order write of one customer, so the aggregates
    # recomputed below cannot miss a concurrent order.
    customer = Customer.objects.select_for_update().filter(source_id=data["customer"]).first()
    if customer is None:
        raise NotFound(f"No customer with source_id {data['customer']!r}.", fields={"customer": ["unknown customer"]})
    status = data.get("status") or OrderStatus.PAID
    order = Order.objects.select_for_update().filter(source_id=data["source_id"]).first()

    if order is None:
        order = Order.objects.create(
            source_id=data["source_id"], customer=customer, amount=data["amount"], currency=data["currency"].upper(),
            status=status, created_at=data.get("created_at") or timezone.now(),
        )
        OrderItem.objects.bulk_create([
            OrderItem(order=order, sku=item["sku"], name=item.get("name", ""), category=item.get("category", ""),
                      quantity=item.get("quantity", 1), unit_price=item.get("unit_price", 0))
            for item in data.get("items") or []
        ])
        previous_status, created = None, True
    else:
        if order.customer_id != customer.pk:
            raise InvalidInput("This order belongs to another customer.",
                               fields={"customer": ["differs from the customer of the recorded order"]})
        if order.status == status:
            return order, False
        if order.status in FINAL_STATUSES:
            raise DomainError(f"The order is {order.status}; it cannot become {status}.", code="invalid_status_change")
        previous_status, created = order.status, False
        order.status = status
        order.save(update_fields=["status", "updated_at"])

    _recompute_aggregates(customer)
    record_audit(actor=actor, action="order.recorded" if created else "order.status_changed", target=order,
                 before=None if created else {"status": previous_status},
                 after={"status": order.status, "amount": order.amount, "currency": order.currency,
                        "customer": customer.source_id})
    transaction.on_commit(lambda: order_recorded.send(sender=Order, order=order, previous_status=previous_status))
    return order, created


def _recompute_aggregates(customer: Customer) -> None:
    """Recount from the paid orders (never an increment), so a replayed or reordered call stays exact."""
    totals = Order.objects.filter(customer=customer, status=OrderStatus.PAID).aggregate(
        count=Count("id"), spent=Sum("amount"), first=Min("created_at"), last=Max("created_at"),
    )
    customer.orders_count = totals["count"]
    customer.total_spent = totals["spent"] or 0
    customer.first_order_at = totals["first"]
    customer.last_order_at = totals["last"]
    customer.save(update_fields=["orders_count", "total_spent", "first_order_at", "last_order_at", "updated_at"])

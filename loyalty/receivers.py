"""Listens to retention's signals (sent after commit) and enqueues one task each, after commit too."""

from functools import partial

from django.db import transaction

from retention.models import OrderStatus

REFUNDED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


def on_order_recorded(sender, order, previous_status=None, **kwargs) -> None:
    from loyalty.tasks import earn_for_order_task, reverse_order_points_task

    if order.status == OrderStatus.PAID and previous_status is None:
        transaction.on_commit(partial(earn_for_order_task.delay, order.pk))
    elif order.status in REFUNDED and previous_status == OrderStatus.PAID:
        transaction.on_commit(partial(reverse_order_points_task.delay, order.pk))


def on_event_recorded(sender, event, **kwargs) -> None:
    from loyalty.tasks import earn_for_event_task

    transaction.on_commit(partial(earn_for_event_task.delay, event.pk))


def on_customer_created(sender, customer, **kwargs) -> None:
    from loyalty.tasks import earn_signup_bonus_task

    transaction.on_commit(partial(earn_signup_bonus_task.delay, customer.pk))

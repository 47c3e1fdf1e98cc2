"""Listens to retention's signals (sent after commit) and enqueues one task each, after commit too (a paid
order is queued and earned in batches: loyalty.services.earning.queue_order_earning)."""

from functools import partial

from django.db import transaction

from retention.models import OrderStatus

REFUNDED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


def on_order_recorded(sender, order, previous_status=None, **kwargs) -> None:
    from loyalty.services.earning import queue_order_earning
    from loyalty.tasks import reverse_order_points_task

    if order.status == OrderStatus.PAID and previous_status is None:
        # Queued, then earned in batches by one collecting task (many orders per transaction).
        queue_order_earning(order_id=order.pk)
    elif order.status in REFUNDED and previous_status == OrderStatus.PAID:
        transaction.on_commit(partial(reverse_order_points_task.delay, order.pk))


def on_event_recorded(sender, event, **kwargs) -> None:
    from loyalty.tasks import earn_for_event_task

    transaction.on_commit(partial(earn_for_event_task.delay, event.pk))


def on_customer_created(sender, customer, **kwargs) -> None:
    from loyalty.tasks import earn_signup_bonus_task

    transaction.on_commit(partial(earn_signup_bonus_task.delay, customer.pk))


def on_program_rule_changed(sender, **kwargs) -> None:
    """A program or one of its rules was saved or deleted in this process: earning reads the rules again.
    (Other processes notice through the program's updated_at, which every edit through the services bumps.)"""
    from loyalty.services.earning import forget_program_rules

    forget_program_rules()

"""Listens to retention's signals (sent after commit) and enqueues one task each, after commit too (a paid
order is queued and converted in batches: referrals.services.conversions.queue_conversion)."""

from functools import partial

from django.db import transaction

from retention.models import OrderStatus

REFUNDED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


def on_order_recorded(sender, order, previous_status=None, **kwargs) -> None:
    from referrals.services.conversions import queue_conversion
    from referrals.tasks import cancel_for_refund_task

    if order.status == OrderStatus.PAID and previous_status != OrderStatus.PAID:
        # Queued, then converted in batches by one collecting task (many orders per transaction).
        queue_conversion(order_id=order.pk)
    elif order.status in REFUNDED and previous_status == OrderStatus.PAID:
        transaction.on_commit(partial(cancel_for_refund_task.delay, order.pk))


def on_event_recorded(sender, event, **kwargs) -> None:
    from referrals.tasks import convert_for_event_task

    transaction.on_commit(partial(convert_for_event_task.delay, event.pk))


def on_customer_erased(sender, customer, **kwargs) -> None:
    from referrals.services.codes import erase_referral_data
    from retention.actors import Actor

    erase_referral_data(customer_id=customer.pk, actor=Actor.system("gdpr"))

"""Thin Celery tasks of referrals: each calls one service and is safe to run twice."""

from celery import shared_task


@shared_task(name="referrals.convert_for_order", acks_late=True)
def convert_for_order_task(order_id: int) -> None:
    """Kept for messages already queued and callers converting one order now; new orders are queued
    (convert_queued_orders_task)."""
    from referrals.services.conversions import convert_for_order

    convert_for_order(order_id=order_id)


@shared_task(name="referrals.convert_queued_orders", acks_late=True)
def convert_queued_orders_task() -> int:
    """The conversion queue's collector (scheduled by each paid order, and every minute by beat)."""
    from referrals.services.conversions import convert_queued_orders

    return convert_queued_orders()


@shared_task(name="referrals.convert_for_event", acks_late=True)
def convert_for_event_task(event_id: int) -> None:
    from referrals.services.conversions import convert_for_event

    convert_for_event(event_id=event_id)


@shared_task(name="referrals.cancel_for_refund", acks_late=True)
def cancel_for_refund_task(order_id: int) -> None:
    from referrals.services.conversions import cancel_for_refund

    cancel_for_refund(order_id=order_id)


@shared_task(name="referrals.release_held", acks_late=True)
def release_held_referrals_task() -> None:
    """Hourly (beat): reward held referrals whose hold has passed."""
    from referrals.services.conversions import release_held_referrals

    release_held_referrals()


@shared_task(name="referrals.run_code_job", acks_late=True)
def run_code_job_task(job_id: int) -> None:
    from referrals.services.codes import run_code_job

    run_code_job(job_id=job_id)

"""Thin Celery tasks of loyalty: each calls one idempotent service. Stable names: beat rows store them."""

from celery import shared_task

# Celery's autodiscovery imports `loyalty.tasks` only: without this import a worker would refuse the
# portal's sign-in mail as an unregistered task.
from loyalty.portal.tasks import send_sign_in_link_task  # noqa: F401


@shared_task(name="loyalty.earn_for_order", acks_late=True)
def earn_for_order_task(order_id: int) -> None:
    """Kept for messages already queued and for callers earning one order now; new orders go through
    earn_queued_orders_task."""
    from loyalty.services.earning import earn_for_order

    earn_for_order(order_id=order_id)


@shared_task(name="loyalty.earn_queued_orders", acks_late=True)
def earn_queued_orders_task() -> int:
    """The order queue's collector: earns every queued order in batches; a second run finds nothing."""
    from loyalty.services.earning import earn_queued_orders

    return earn_queued_orders()


@shared_task(name="loyalty.reverse_order_points", acks_late=True)
def reverse_order_points_task(order_id: int) -> None:
    from loyalty.services.earning import reverse_order_points

    reverse_order_points(order_id=order_id)


@shared_task(name="loyalty.earn_for_event", acks_late=True)
def earn_for_event_task(event_id: int) -> None:
    from loyalty.services.earning import earn_for_event

    earn_for_event(event_id=event_id)


@shared_task(name="loyalty.earn_signup_bonus", acks_late=True)
def earn_signup_bonus_task(customer_id: int) -> None:
    from loyalty.services.earning import earn_signup_bonus

    earn_signup_bonus(customer_id=customer_id)


@shared_task(name="loyalty.release_pending_points", acks_late=True)
def release_pending_points_task() -> int:
    from loyalty.services.expiry import release_pending_points

    return release_pending_points()


@shared_task(name="loyalty.expire_points", acks_late=True)
def expire_points_task() -> int:
    from loyalty.services.expiry import expire_points

    return expire_points()


@shared_task(name="loyalty.send_expiry_reminders", acks_late=True)
def send_expiry_reminders_task() -> int:
    from loyalty.services.expiry import send_expiry_reminders

    return send_expiry_reminders()


@shared_task(name="loyalty.reevaluate_tiers", acks_late=True)
def reevaluate_tiers_task() -> int:
    from loyalty.services.tiers import reevaluate_tiers

    return reevaluate_tiers()

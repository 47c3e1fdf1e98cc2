"""Thin, idempotent Celery tasks: each claims its row first, so a second run finds nothing to do.

Retries are not Celery's: a failed send is stored as "failed" with its next_attempt_at, and the
sweep re-enqueues it when due, so back-off survives worker restarts and broker loss.
"""

from celery import shared_task


@shared_task(name="messaging.send_delivery", acks_late=True)
def send_delivery_task(delivery_id: int) -> None:
    from retention.messaging.services.deliveries import send_delivery

    send_delivery(delivery_id=delivery_id)


@shared_task(name="messaging.send_deliveries", acks_late=True)
def send_deliveries_task(delivery_ids: list[int]) -> None:
    """A batch of deliveries, one after the other (one broker message for many: a campaign run queues
    thousands). Each is claimed on its own, so a redelivered batch skips those already sent."""
    from retention.messaging.services.deliveries import send_delivery

    for delivery_id in delivery_ids:
        send_delivery(delivery_id=delivery_id)


@shared_task(name="messaging.sweep_deliveries", acks_late=True)
def sweep_deliveries_task() -> int:
    from retention.messaging.services.deliveries import sweep_deliveries

    return sweep_deliveries()


@shared_task(name="messaging.send_webhook_delivery", acks_late=True)
def send_webhook_delivery_task(delivery_id: int) -> None:
    from retention.messaging.services.webhooks import send_webhook_delivery

    send_webhook_delivery(delivery_id=delivery_id)


@shared_task(name="messaging.send_webhook_deliveries", acks_late=True)
def send_webhook_deliveries_task(delivery_ids: list[int]) -> None:
    """A batch of webhook deliveries (a calendar run announces thousands of codes); each is claimed alone."""
    from retention.messaging.services.webhooks import send_webhook_delivery

    for delivery_id in delivery_ids:
        send_webhook_delivery(delivery_id=delivery_id)


@shared_task(name="messaging.sweep_webhook_deliveries", acks_late=True)
def sweep_webhook_deliveries_task() -> int:
    from retention.messaging.services.webhooks import sweep_webhook_deliveries

    return sweep_webhook_deliveries()

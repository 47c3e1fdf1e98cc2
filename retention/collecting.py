"""Work queued one row at a time and done in batches by a collecting Celery task.

Loyalty's earning and referrals' conversions of paid orders use it (docs/architecture.md, "Order queues"): the
`order_recorded` receiver inserts the order id into the app's queue table and calls `schedule_collector` after
commit; the collecting task calls `collect`, which runs the app's set-based service on batches of the queue.
"""

from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

COLLECT_DELAY = 1  # seconds a collecting task waits, so that a burst of orders lands in few batches


def schedule_collector(flag_key: str, task) -> None:
    """Make sure a collecting `task` runs soon: one per COLLECT_DELAY window, not one per queued row.

    The flag lives shorter than the task's countdown and `collect` clears it before it reads the queue, so a
    row that found the flag set is always read by that task (a minutely beat job is the backstop for a lost
    broker message)."""
    if cache.add(flag_key, 1, timeout=COLLECT_DELAY):
        task.apply_async(countdown=COLLECT_DELAY * 2)


def collect(flag_key: str, queue_model, process: Callable[[list[int]], object], *, batch_size: int) -> int:
    """Take every order id queued in `queue_model` (a table keyed by order_id), `batch_size` per durable
    transaction that runs process(order_ids) and deletes them from the queue; returns how many were taken.

    Concurrent collectors take disjoint batches (SKIP LOCKED on PostgreSQL); a crash leaves its batch queued."""
    cache.delete(flag_key)  # rows queued from now on schedule the next collector
    taken = 0
    while True:
        batch = _collect_batch(queue_model, process, batch_size)
        taken += batch
        if batch < batch_size:
            return taken


@transaction.atomic(durable=True)
def _collect_batch(queue_model, process, batch_size: int) -> int:
    order_ids = list(queue_model.objects.select_for_update(skip_locked=True).order_by("order_id")
                     .values_list("order_id", flat=True)[:batch_size])
    if order_ids:
        process(order_ids)
        queue_model.objects.filter(order_id__in=order_ids).delete()
    return len(order_ids)

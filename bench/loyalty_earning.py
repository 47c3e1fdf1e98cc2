"""Earning from paid orders through the service layer (loyalty.services.earning).

Target (issue 5): earning from 1,000 orders/s. Three paths, each on its own fresh orders and customers:

- queue (what every order recorded through retention does since the order queue): the order_recorded
  receiver's `queue_order_earning` per order (one INSERT after the order's commit), then the collecting task's
  `earn_queued_orders` in W processes at once (each takes 500 queued orders per transaction, SKIP LOCKED, and
  earns them through `earn_for_orders`). The figure that counts: orders earned per second by the collectors.
- batch: `earn_for_orders` (what the queue, the bulk task and the demo data call) in W processes on disjoint
  customers, `batch` orders per transaction.
- per order: `earn_for_order` (one transaction per order: the old receiver's task, still used by queued
  messages), 1 process then W processes, on a quarter of the orders (it is ~50x slower).

Each line shows the Python CPU per order of the benchmark's processes (load-insensitive; the database's own
CPU is not in it) and SQL statements per order.

    .venv/bin/python bench/loyalty_earning.py [orders] [workers] [batch]
"""

import os
import sys
import time
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(__file__))
from _setup import setup_django  # noqa: E402

TARGET = 1000.0  # orders per second


PAUSED_PROGRAMS: list[int] = []  # other benchmarks' programs, active again when this one ends


def prepare(count: int, prefix: str) -> list[int]:
    from django.utils import timezone

    from loyalty.models import CategoryMultiplier, LoyaltyProgram, Tier
    from retention.models import Customer, Order, OrderItem

    program, created = LoyaltyProgram.objects.get_or_create(name="Bench loyalty", defaults={"points_per_unit": 1})
    if created:
        Tier.objects.create(program=program, name="Silver", threshold=0)
        Tier.objects.create(program=program, name="Gold", threshold=500, multiplier_percent=150)
        CategoryMultiplier.objects.create(program=program, category="shoes", multiplier_percent=200)
    # One program, as the target means it: an order earns in every active program, and other benchmarks
    # (referrals, the summary) leave programs of their own in the shared database, which doubled the cost.
    others = list(LoyaltyProgram.objects.filter(is_active=True).exclude(pk=program.pk).values_list("pk", flat=True))
    if others:
        LoyaltyProgram.objects.filter(pk__in=others).update(is_active=False)
        PAUSED_PROGRAMS.extend(others)
        print(f"(paused {len(others)} other active loyalty program(s) for the run; active again at the end)")
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(source_id=f"{prefix}-c{index}", email=f"{prefix}-{index}@bench.example") for index in range(count // 2)
    )
    orders = Order.objects.bulk_create(
        Order(source_id=f"{prefix}-o{index}", customer=customers[index % len(customers)], amount=4999 + index % 100,
              currency="EUR", status="paid", created_at=now)
        for index in range(count)
    )
    OrderItem.objects.bulk_create(
        item for order in orders for item in (
            OrderItem(order=order, sku="SHOE", category="shoes", quantity=1, unit_price=3000),
            OrderItem(order=order, sku="SOCK", category="socks", quantity=2, unit_price=1000),
        )
    )
    return [order.pk for order in orders]


class Counter:
    """Statements run by this process (a wrapper: DEBUG is off, so Django keeps no query log)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _in_worker(function, *args) -> tuple[int, float, int]:
    """Run `function(*args)` on a fresh connection; (its result, CPU seconds, statements)."""
    from django.db import connection

    connection.close()  # a forked worker opens its own connection
    counter, cpu = Counter(), time.process_time()
    with connection.execute_wrapper(counter):
        result = function(*args)
    cpu = time.process_time() - cpu
    connection.close()
    return result, cpu, counter.count


def earn_one_by_one(order_ids: list[int]) -> tuple[int, float, int]:
    from loyalty.services.earning import earn_for_order

    return _in_worker(lambda: sum(len(earn_for_order(order_id=order_id)) for order_id in order_ids))


def earn_in_batches(order_ids: list[int], batch: int) -> tuple[int, float, int]:
    from loyalty.services.earning import earn_for_orders

    return _in_worker(lambda: sum(len(earn_for_orders(order_ids=order_ids[offset:offset + batch]))
                                  for offset in range(0, len(order_ids), batch)))


def collect(_worker: int) -> tuple[int, float, int]:
    from loyalty.services.earning import earn_queued_orders

    return _in_worker(earn_queued_orders)


def queue(order_ids: list[int]) -> tuple[int, float, int]:
    from loyalty.services.earning import queue_order_earning

    def run():
        for order_id in order_ids:
            queue_order_earning(order_id=order_id)  # what the order_recorded receiver does after commit
        return len(order_ids)

    return _in_worker(run)


def run_parallel(workers: int, function, chunks) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds of all workers, statements, result sum)."""
    started = time.perf_counter()
    with Pool(workers) as pool:
        results = pool.starmap(function, chunks)
    seconds = time.perf_counter() - started
    return seconds, sum(r[1] for r in results), sum(r[2] for r in results), sum(r[0] for r in results)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    setup_django()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from loyalty.models import QueuedOrder
    from loyalty.services import earning

    settings.DEBUG = False  # no query log in the loop
    earning._schedule_collector = lambda: None  # the benchmark runs the collectors itself
    cache.delete(earning.SCHEDULED_KEY)
    prefix = f"le{int(time.time())}"
    slow = max(count // 4, workers)
    queued, batched, batched_alone = (prepare(count, prefix + part) for part in "qbc")
    single, parallel = prepare(slow, prefix + "s"), prepare(slow, prefix + "p")
    QueuedOrder.objects.all().delete()  # left over from an interrupted run
    connection.close()
    lines = []

    def line(label, orders, seconds, cpu, statements, extra="", earning=True):
        rate = orders / seconds
        verdict = ("OK" if rate >= TARGET else "MISSED") if earning else "-"
        lines.append(f"{label:<40} {rate:7.0f} orders/s  target {TARGET:.0f} {verdict:<6}  "
                     f"CPU {cpu / orders * 1000:5.2f} ms/order  {statements / orders:5.2f} statements/order{extra}")

    # The queue: the receiver's part (one process), then the collectors (W processes at once).
    seconds, cpu, statements, _ = run_parallel(1, queue, [(queued,)])
    line("queue: receiver queue_order_earning", count, seconds, cpu, statements, "  (not earning: one INSERT)",
         earning=False)
    seconds, cpu, statements, taken = run_parallel(workers, collect, [(index,) for index in range(workers)])
    assert taken == count, (taken, count)
    line(f"queue: collectors, {workers} processes", count, seconds, cpu, statements, "  <- what real orders use")

    # The batch service on disjoint customers (order index modulo W: the customers are index modulo count/2).
    chunks = [(batched[offset::workers], batch) for offset in range(workers)]
    seconds, cpu, statements, _ = run_parallel(workers, earn_in_batches, chunks)
    line(f"batch of {batch}: {workers} processes", count, seconds, cpu, statements)
    seconds, cpu, statements, _ = run_parallel(1, earn_in_batches, [(batched_alone, batch)])
    line(f"batch of {batch}: 1 process", count, seconds, cpu, statements)

    seconds, cpu, statements, _ = run_parallel(1, earn_one_by_one, [(single,)])
    line("per order (earn_for_order): 1 process", slow, seconds, cpu, statements)
    seconds, cpu, statements, _ = run_parallel(workers, earn_one_by_one,
                                               [(parallel[offset::workers],) for offset in range(workers)])
    line(f"per order: {workers} processes", slow, seconds, cpu, statements)

    load = os.getloadavg()
    print(f"orders: {count} (per-order paths: {slow}), workers: {workers}, batch: {batch}")
    print("\n".join(lines))
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cpus: {os.cpu_count()}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if PAUSED_PROGRAMS:
            from loyalty.models import LoyaltyProgram

            LoyaltyProgram.objects.filter(pk__in=PAUSED_PROGRAMS).update(is_active=True)

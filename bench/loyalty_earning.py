"""Earning from paid orders through the service layer (loyalty.services.earning.earn_for_order).

Target (issue 5): 1,000 orders/s. Each order is one durable transaction: order and items, the
programs' rules, the account (created on first earning), its row lock, the entry, the lot, the tier
and the `loyalty.points_earned` webhook. Runs one process, then N worker processes on disjoint orders
(the per-order path, earn_for_order: what a Celery task does per order), then the batch path
(earn_for_orders: BATCH orders per set-based transaction, what bulk arrivals and imports use), in one process.
Each line also shows the CPU time of this process per order (the database's own CPU is not in it).

    .venv/bin/python bench/loyalty_earning.py [orders] [workers] [batch]
"""

import os
import sys
import time
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(__file__))
from _setup import setup_django  # noqa: E402

TARGET = 1000.0  # orders per second


def prepare(count: int, prefix: str) -> list[int]:
    from django.utils import timezone

    from loyalty.models import CategoryMultiplier, LoyaltyProgram, Tier
    from retention.models import Customer, Order, OrderItem

    program, created = LoyaltyProgram.objects.get_or_create(name="Bench loyalty", defaults={"points_per_unit": 1})
    if created:
        Tier.objects.create(program=program, name="Silver", threshold=0)
        Tier.objects.create(program=program, name="Gold", threshold=500, multiplier_percent=150)
        CategoryMultiplier.objects.create(program=program, category="shoes", multiplier_percent=200)
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


def earn_all(order_ids: list[int]) -> int:
    from django.db import connection

    from loyalty.services.earning import earn_for_order

    connection.close()  # a forked worker opens its own connection
    earned = 0
    for order_id in order_ids:
        earned += len(earn_for_order(order_id=order_id))
    connection.close()
    return earned


def earn_in_batches(order_ids: list[int], batch: int) -> int:
    from loyalty.services.earning import earn_for_orders

    earned = 0
    for offset in range(0, len(order_ids), batch):
        earned += len(earn_for_orders(order_ids=order_ids[offset:offset + batch]))
    return earned


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    setup_django()
    from django.conf import settings
    from django.db import connection

    settings.DEBUG = False  # no query log in the loop
    prefix = f"le{int(time.time())}"
    single = prepare(count, prefix + "a")
    parallel = prepare(count, prefix + "b")
    batched = prepare(count, prefix + "c")
    connection.close()

    started, cpu = time.perf_counter(), time.process_time()
    earned = earn_all(single)
    single_rate = count / (time.perf_counter() - started)
    single_cpu = (time.process_time() - cpu) / count * 1000

    # Customers are split by worker (order index modulo), so workers never wait on each other's rows.
    chunks = [parallel[offset::workers] for offset in range(workers)]
    started = time.perf_counter()
    with Pool(workers) as pool:
        earned_parallel = sum(pool.map(earn_all, chunks))
    parallel_rate = count / (time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    earned_batched = earn_in_batches(batched, batch)
    batch_rate = count / (time.perf_counter() - started)
    batch_cpu = (time.process_time() - cpu) / count * 1000

    load = os.getloadavg()
    print(f"orders: {count} per run, entries written: {earned} + {earned_parallel} + {earned_batched}")

    def verdict(rate):
        return "OK" if rate >= TARGET else "MISSED"

    print(f"per order, 1 process   : {single_rate:8.0f} orders/s   target {TARGET:.0f}  {verdict(single_rate)}"
          f"   (client CPU {single_cpu:.2f} ms/order)")
    print(f"per order, {workers} processes : {parallel_rate:8.0f} orders/s   target {TARGET:.0f}  "
          f"{verdict(parallel_rate)}")
    print(f"batch of {batch}, 1 process: {batch_rate:8.0f} orders/s   target {TARGET:.0f}  {verdict(batch_rate)}"
          f"   (client CPU {batch_cpu:.2f} ms/order)")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()

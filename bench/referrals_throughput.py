"""Referrals: registering referrals and converting them through the service layer.

Target (issue 6): 500 referrals/s registered and 500/s converted. Two paths each:
- one at a time: register_referral (the API's POST /api/v1/referrals) and convert_for_order (one order's task);
- in batches: register_referrals (POST /api/v1/referrals/bulk) and convert_for_orders, measured on one batch
  and then through the real entry point of orders: order_recorded's receiver queues each paid order
  (queue_conversion) and the collecting task converts the queue in batches (convert_queued_orders).
Each registration checks the code, the refusals and the fraud signals, writes the row, the friend's welcome
code (campaigns' issue_code / issue_codes) and the audit entry; each conversion claims the referral, takes the
referrer's tier under a row lock, credits 500 loyalty points (a batch: loyalty's credit_many, three
statements for all its referrers), writes the audit entry and the referral.converted
webhook. Friends, referrers and orders are set up beforehand with bulk_create. Every run uses fresh source ids.

    .venv/bin/python bench/referrals_throughput.py [--count N] [--clients N] [--profile N] [--single N] [--batch N]

First --profile referrals run one at a time in this thread, then one batch of --batch, to print statements and
Python CPU per referral (time.process_time: insensitive to other load; PostgreSQL's own CPU is not in it) and
the ceiling that CPU puts on the rate with every core busy; then --single referrals one at a time and the
rest in batches run on --clients threads for the wall-clock rates (noisy on a shared machine).
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import setup_django  # noqa: E402

TARGET_PER_SECOND = 500.0
FRIENDS_PER_REFERRER = 4  # under the burst threshold: no referral waits for review


def run_clients(clients: int, items: list, work) -> float:
    """Split `items` over `clients` threads (one connection each); return the wall-clock seconds."""
    from django.db import connections

    errors = []

    def client(part: list) -> None:
        try:
            for item in part:
                work(item)
        except Exception as error:  # reported after the run
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(items[number::clients],)) for number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def profile(items: list, work) -> tuple[float, float]:
    """Run `work` over `items` in this thread: (queries per call, CPU milliseconds per call). CPU time of the
    process, so a shared machine's other load does not count; the database server's own CPU is not in it."""
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.process_time()
    with connection.execute_wrapper(count):
        for item in items:
            work(item)
    cpu = time.process_time() - started
    return queries / len(items), cpu * 1000 / len(items)


def cpu_line(label: str, queries: float, cpu_ms: float) -> str:
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / cpu_ms if cpu_ms else float("inf")
    verdict = "OK" if ceiling >= TARGET_PER_SECOND else "MISSED"
    return (f"{label:<26} {queries:5.2f} queries/call, {cpu_ms:5.2f} ms CPU/call -> at most {ceiling:7.0f}/s"
            f" on {cores} cores   target >= {TARGET_PER_SECOND:.0f}/s  {verdict}")


def line(label: str, count: int, seconds: float) -> str:
    rate = count / seconds if seconds else float("inf")
    verdict = "OK" if rate >= TARGET_PER_SECOND else "MISSED"
    return (f"{label:<26} {count:>7} in {seconds:7.2f} s = {rate:8.1f}/s"
            f"   target >= {TARGET_PER_SECOND:.0f}/s  {verdict}")


def chunks(items: list, size: int) -> list:
    return [items[start:start + size] for start in range(0, len(items), size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="referrals to register and convert")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (threads, one connection each)")
    parser.add_argument("--profile", type=int, default=50,
                        help="of --count, how many run first one at a time in one thread (queries and CPU per call)")
    parser.add_argument("--single", type=int, default=400,
                        help="of --count, how many then run one at a time on --clients threads (wall clock)")
    parser.add_argument("--batch", type=int, default=500, help="referrals or orders per batch service call")
    arguments = parser.parse_args()
    setup_django()

    from django.db.models import Sum
    from django.utils import timezone

    from campaigns.models import Campaign
    from loyalty.models import LoyaltyAccount, LoyaltyProgram
    from referrals import tasks
    from referrals.models import (
        QueuedConversion,
        Referral,
        ReferralCode,
        ReferralProgram,
        ReferralStatus,
        ReferralTier,
    )
    from referrals.services.conversions import (
        convert_for_order,
        convert_for_orders,
        convert_queued_orders,
        queue_conversion,
    )
    from referrals.services.referrals import register_referral, register_referrals
    from retention.actors import Actor
    from retention.models import Customer, Order, OrderStatus

    run = timezone.now().strftime("%Y%m%d%H%M%S")
    actor = Actor.system("bench")
    loyalty_program, _ = LoyaltyProgram.objects.get_or_create(name="Benchmark: referrals", defaults={"currency": "EUR"})
    welcome, _ = Campaign.objects.get_or_create(slug="bench-referral-welcome", defaults={
        "name": "Benchmark: referral welcome", "discount_type": "amount", "amount": 1000, "currency": "EUR",
        "max_uses_per_code": 1, "code_valid_days": 30})
    program = ReferralProgram.objects.create(name=f"Benchmark {run}", friend_campaign=welcome,
                                             loyalty_program=loyalty_program, within_days=30)
    ReferralTier.objects.create(program=program, referrals=1, reward_type="points", points=500)

    now = timezone.now()
    referrer_count = max(1, arguments.count // FRIENDS_PER_REFERRER)
    referrers = Customer.objects.bulk_create(
        Customer(source_id=f"bench-ref-{run}-r{index}", email=f"r{index}.{run}@example.com", first_name="Anna")
        for index in range(referrer_count))
    codes = ReferralCode.objects.bulk_create(
        ReferralCode(program=program, customer=referrer, code=f"B{run[-8:]}-{index}", created_at=now)
        for index, referrer in enumerate(referrers))
    friends = Customer.objects.bulk_create(
        Customer(source_id=f"bench-ref-{run}-f{index}", email=f"f{index}.{run}@example.com", first_name="Ben")
        for index in range(arguments.count))
    pairs = [(codes[index % referrer_count].code, friend) for index, friend in enumerate(friends)]
    print(f"Set up {referrer_count} referrers, {len(friends)} friends ({arguments.clients} clients, "
          f"batches of {arguments.batch}).")

    profiled = max(1, min(arguments.profile, arguments.count // 4))
    single = min(arguments.single, (arguments.count - profiled) // 2)
    batched = min(arguments.batch, arguments.count - profiled - single)
    one_by_one, rest = pairs[:profiled + single], pairs[profiled + single:]

    def register(pair) -> None:
        register_referral(code=pair[0], friend=pair[1], actor=actor)

    def register_many(batch) -> None:
        results = register_referrals(entries=[{"code": code, "friend": friend} for code, friend in batch], actor=actor)
        assert all(isinstance(result, Referral) for result in results), results[0]

    def convert(order_id: int) -> None:
        convert_for_order(order_id=order_id)

    def convert_many(batch) -> None:
        convert_for_orders(order_ids=batch)

    register_cost = profile(one_by_one[:profiled], register)
    registering = run_clients(arguments.clients, one_by_one[profiled:], register)
    register_batch_cost = profile([rest[:batched]], register_many)
    registering_batches = run_clients(arguments.clients, chunks(rest[batched:], arguments.batch), register_many)

    orders = Order.objects.bulk_create(
        Order(source_id=f"bench-ref-{run}-o{index}", customer=friend, amount=5000, currency="EUR",
              status=OrderStatus.PAID, created_at=timezone.now())
        for index, friend in enumerate(friends))
    order_ids = [order.pk for order in orders]
    single_orders, batch_orders = order_ids[:profiled + single], order_ids[profiled + single:]
    convert_cost = profile(single_orders[:profiled], convert)
    converting = run_clients(arguments.clients, single_orders[profiled:], convert)
    convert_batch_cost = profile([batch_orders[:batched]], convert_many)
    # The real entry point for the rest: order_recorded's receiver queues each order (queue_conversion), the
    # collecting task converts the queue (convert_queued_orders); here --clients collectors run at once (SKIP
    # LOCKED batches) instead of Celery, so the scheduled task is not sent.
    tasks.convert_queued_orders_task.apply_async = lambda **kwargs: None
    queue_cost = profile(batch_orders[batched:], lambda order_id: queue_conversion(order_id=order_id))
    converting_batches = run_clients(arguments.clients, list(range(arguments.clients)),
                                     lambda _number: convert_queued_orders())
    assert not QueuedConversion.objects.exists()

    registered = Referral.objects.filter(program=program).count()
    rewarded = Referral.objects.filter(program=program, status=ReferralStatus.REWARDED).count()
    assert registered == arguments.count, registered
    assert rewarded == arguments.count, rewarded
    # Every referrer got its 500 points per friend through loyalty's ledger (credit or credit_many).
    credited = LoyaltyAccount.objects.filter(program=loyalty_program, customer__in=referrers).aggregate(
        total=Sum("points"))["total"]
    assert credited == 500 * arguments.count, credited
    per_item = batched or 1
    print(cpu_line("Registering (per call)", *register_cost))
    print(cpu_line("register_referrals", register_batch_cost[0] / per_item, register_batch_cost[1] / per_item)
          + f"  ({register_batch_cost[0]:.0f} queries per batch of {batched})")
    print(cpu_line("Converting (per call)", *convert_cost))
    print(cpu_line("convert_for_orders", convert_batch_cost[0] / per_item, convert_batch_cost[1] / per_item)
          + f"  ({convert_batch_cost[0]:.0f} queries per batch of {batched})")
    print(cpu_line("queue_conversion", *queue_cost) + "  (the receiver's part of each order)")
    print(line("Registering one by one", single, registering))
    print(line("register_referrals", len(rest) - batched, registering_batches))
    print(line("Converting one by one", single, converting))
    print(line("Queued, collected", len(batch_orders) - batched, converting_batches)
          + f"  ({arguments.clients} collectors, queueing not included)")


if __name__ == "__main__":
    main()

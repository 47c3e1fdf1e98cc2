"""Referrals: registering referrals and converting them through the service layer.

Target (issue 6): 500 referrals/s registered and 500/s converted. Each registration is
register_referral (its own durable transaction: code lookup, the refusal checks, the fraud checks, the
row, a welcome code from the friend's campaign, the audit entry); each conversion is convert_for_order (the
conditional UPDATE, the referrer's tier under a row lock, the budget, 500 loyalty points, the audit entry
and the referral.converted webhook). Friends, referrers and orders are set up beforehand with bulk_create.
Every run uses fresh source ids (the points ledger is append-only, so earlier runs' rows stay).

    .venv/bin/python bench/referrals_throughput.py [--count N] [--clients N] [--profile N]

The first --profile referrals run in one thread to print queries and CPU per call (the ceiling they put on
the rate with every core busy); the rest run on --clients threads for the wall-clock rates.
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
    return (f"{label:<26} {queries:5.1f} queries/call, {cpu_ms:5.2f} ms CPU/call -> at most {ceiling:7.0f}/s"
            f" on {cores} cores   target >= {TARGET_PER_SECOND:.0f}/s  {verdict}")


def line(label: str, count: int, seconds: float) -> str:
    rate = count / seconds if seconds else float("inf")
    verdict = "OK" if rate >= TARGET_PER_SECOND else "MISSED"
    return (f"{label:<26} {count:>7} in {seconds:7.2f} s = {rate:8.1f}/s"
            f"   target >= {TARGET_PER_SECOND:.0f}/s  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="referrals to register and convert")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (threads, one connection each)")
    parser.add_argument("--profile", type=int, default=50,
                        help="of --count, how many run first in one thread to measure queries and CPU per call")
    arguments = parser.parse_args()
    setup_django()

    from django.utils import timezone

    from campaigns.models import Campaign
    from loyalty.models import LoyaltyProgram
    from referrals.models import Referral, ReferralCode, ReferralProgram, ReferralStatus, ReferralTier
    from referrals.services.conversions import convert_for_order
    from referrals.services.referrals import register_referral
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
    print(f"Set up {referrer_count} referrers, {len(friends)} friends ({arguments.clients} clients).")

    profiled = max(1, min(arguments.profile, arguments.count // 2))

    def register(pair) -> None:
        register_referral(code=pair[0], friend=pair[1], actor=actor)

    def convert(order_id: int) -> None:
        convert_for_order(order_id=order_id)

    register_cost = profile(pairs[:profiled], register)
    registering = run_clients(arguments.clients, pairs[profiled:], register)
    orders = Order.objects.bulk_create(
        Order(source_id=f"bench-ref-{run}-o{index}", customer=friend, amount=5000, currency="EUR",
              status=OrderStatus.PAID, created_at=timezone.now())
        for index, friend in enumerate(friends))
    order_ids = [order.pk for order in orders]
    convert_cost = profile(order_ids[:profiled], convert)
    converting = run_clients(arguments.clients, order_ids[profiled:], convert)

    registered = Referral.objects.filter(program=program).count()
    rewarded = Referral.objects.filter(program=program, status=ReferralStatus.REWARDED).count()
    assert registered == arguments.count, registered
    assert rewarded == arguments.count, rewarded
    print(cpu_line("Registering (per call)", *register_cost))
    print(cpu_line("Converting (per call)", *convert_cost))
    print(line("Registering referrals", registered - profiled, registering))
    print(line("Converting (first order)", rewarded - profiled, converting))


if __name__ == "__main__":
    main()

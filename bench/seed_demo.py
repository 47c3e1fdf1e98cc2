"""Benchmark: `manage.py seed_demo --customers N` into an empty PostgreSQL database.

Target (issue 2, docs/benchmarks.md): 1,000,000 customers "in a few minutes" on PostgreSQL; here: under
180 s. A smaller N is compared with the target scaled down linearly (the real run slows as indexes grow,
so only the 1 M figure counts). Then a second run, which must add nothing and take seconds.
Run: .venv/bin/python bench/seed_demo.py [--customers N]
Uses its own database `bench_seed` (dropped and created again), not `bench`.
"""

import argparse
import io
import os
import resource
import time

from _setup import DATABASE_URL, setup_django, verdict

TARGET_SECONDS_PER_MILLION = 180.0


def _fresh_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core; 1: no processes)")
    arguments = parser.parse_args()
    wanted = arguments.customers
    url = os.environ.get("BENCH_SEED_DATABASE_URL", DATABASE_URL.rsplit("/", 1)[0] + "/bench_seed")
    _fresh_database(url)
    os.environ["BENCH_DATABASE_URL"] = url
    setup_django()
    from retention.celery import ensure_broker_folders

    ensure_broker_folders()  # the apps' demo content enqueues tasks on the second run

    from django.core.management import call_command
    from django.db import connection

    from retention.management.commands.seed_demo import seed_customers
    from retention.models import ConsentRecord, Customer, Order, OrderItem

    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    seed_customers(count=wanted, workers=arguments.workers)
    elapsed = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    python_cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu + children
    target = TARGET_SECONDS_PER_MILLION * wanted / 1_000_000
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        role = cursor.fetchone()[0]
    print(f"{Customer.objects.count():,} customers, {Order.objects.count():,} orders, "
          f"{OrderItem.objects.count():,} items, {ConsentRecord.objects.count():,} consent records")
    print(f"seed_demo --customers {wanted:,}: {elapsed:.1f} s wall, {python_cpu:.1f} s Python CPU "
          f"(target {target:.0f} s): {verdict(elapsed, target)}   [load {os.getloadavg()[0]:.1f}; session {role}]")
    started = time.monotonic()
    call_command("seed_demo", customers=wanted, stdout=io.StringIO())
    seconds = time.monotonic() - started
    added = Customer.objects.filter(source_id__regex=r"^demo-[0-9]{8}$").count() - wanted
    print(f"second run (seed_demo --customers {wanted:,}, with the apps' demo content): "
          f"{added} demo customers added in {seconds:.2f} s")


if __name__ == "__main__":
    main()

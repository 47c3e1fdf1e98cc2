"""Reading a customer's loyalty summary: GET /api/v1/customers/{source_id}/loyalty, in-process.

Target (issue 5): p95 under 10 ms, with the same fixed number of queries for a new member and for a
member with a long history (100,000 ledger entries by default). The request goes through Django's
test client: URL routing, API-key authentication, the view, `loyalty.queries.summary_for` and
JSON rendering, without the network and the web server. The Python CPU per request is printed too
(the machine's load moves it less than the wall-clock figures).

    .venv/bin/python bench/loyalty_summary.py [entries] [requests]

The long history is written straight into the tables (entries, and lots for the earnings, the last
few still live) with balances that match the ledger, so check_loyalty_ledger still passes on it.
"""

import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(__file__))
from _setup import setup_django  # noqa: E402

TARGET_P95_MS = 10.0
LIVE_LOTS = 200  # earnings of the long history still holding points (the rest was spent)


def prepare(entries: int, run: str):
    """A program with tiers and rewards, a fresh member and a member with `entries` ledger entries."""
    from django.utils import timezone

    from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, LoyaltyProgram, PointLot, Reward, Tier
    from retention.actors import Actor
    from retention.models import Customer
    from retention.services.api_keys import create_api_key

    # Inactive: the summary answers for it all the same (?program=), and the earning benchmark in the same
    # database must not earn in it too.
    program = LoyaltyProgram.objects.create(name=f"Bench summary {run}", points_per_unit=1,
                                            points_expire_after_days=365, is_active=False)
    tiers = [Tier.objects.create(program=program, name=name, threshold=threshold, multiplier_percent=percent)
             for name, threshold, percent in (("Silver", 0, 100), ("Gold", 5000, 125), ("Platinum", 50000, 150))]
    for cost in (100, 500, 2000, 10000):
        Reward.objects.create(program=program, name=f"{cost} points reward", cost=cost, type="donation")
    Reward.objects.create(program=program, name="Gold lounge", cost=1000, type="experience", min_tier=tiers[1])
    fresh = Customer.objects.create(source_id=f"bench-sum-{run}-new", email=f"new-{run}@bench.example")
    old = Customer.objects.create(source_id=f"bench-sum-{run}-old", email=f"old-{run}@bench.example")
    LoyaltyAccount.objects.create(program=program, customer=fresh)
    account = LoyaltyAccount.objects.create(program=program, customer=old)

    # Pairs of (earn 10, spend 10), then LIVE_LOTS earnings left unspent, spread over the last 300 days.
    now = timezone.now()
    earns = max(entries // 2, LIVE_LOTS)
    spends = max(entries - earns, 0)
    step = timedelta(days=300) / max(earns + spends, 1)
    rows, balance, moment = [], 0, now - timedelta(days=300)
    kinds = [EntryKind.EARN, EntryKind.SPEND] * spends + [EntryKind.EARN] * (earns - spends)
    for index, kind in enumerate(kinds):
        points = 10 if kind == EntryKind.EARN else -10
        balance += points
        moment += step
        rows.append(LedgerEntry(account=account, kind=kind, points=points, balance_after=balance,
                                source_type="bench", source_id=str(index), created_at=moment))
    created = LedgerEntry.objects.bulk_create(rows, batch_size=5000)
    earned = [entry for entry in created if entry.kind == EntryKind.EARN]
    live_from = len(earned) - balance // 10
    PointLot.objects.bulk_create(
        (PointLot(account=account, entry=entry, points=10, remaining=10 if position >= live_from else 0,
                  earned_at=entry.created_at, available_at=entry.created_at,
                  expires_at=entry.created_at + timedelta(days=365))
         for position, entry in enumerate(earned)),
        batch_size=5000,
    )
    lifetime = 10 * len(earned)
    LoyaltyAccount.objects.filter(pk=account.pk).update(points=balance, lifetime_points=lifetime,
                                                        tier_points=lifetime, tier=tiers[1])
    _api_key, secret = create_api_key(name=f"bench-summary-{run}", actor=Actor.system("bench"))
    return program, secret, {"new member": fresh.source_id, f"{len(created):,} entries": old.source_id}


def measure(client, path: str, requests: int) -> tuple[list[float], int, float]:
    from django.db import connection

    for _ in range(20):  # warm-up: connection, caches, the query plans
        assert client.get(path).status_code == 200
    queries = []  # counted by a wrapper: each request resets Django's own query log

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(path).status_code == 200
    timings, cpu = [], time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings, len(queries), (time.process_time() - cpu) / requests * 1000


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    setup_django()
    from django.conf import settings
    from django.test import Client

    settings.DEBUG = False  # no query log while timing
    run = str(int(time.time()))
    started = time.perf_counter()
    program, secret, members = prepare(entries, run)
    print(f"seeded in {time.perf_counter() - started:.1f} s (program {program.pk})")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="localhost")
    query_counts = set()
    for label, source_id in members.items():
        path = f"/api/v1/customers/{source_id}/loyalty?program={program.pk}"
        timings, queries, cpu_ms = measure(client, path, requests)
        query_counts.add(queries)
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        verdict = "OK" if p95 < TARGET_P95_MS else "MISSED"
        print(f"{label:>16}: p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  target p95 < {TARGET_P95_MS:.0f} ms  {verdict}"
              f"   queries {queries}   CPU {cpu_ms:.2f} ms/request (this process, load-insensitive)")
    print(f"fixed number of queries: {'OK' if len(query_counts) == 1 else 'MISSED'} ({sorted(query_counts)})")
    load = os.getloadavg()
    print(f"requests: {requests} per member; load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()

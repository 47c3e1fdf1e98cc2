"""Benchmark: count typical segments over 1,000,000 customers through the segment engine.

Target (docs/benchmarks.md): each count under 2 s on PostgreSQL.
Run: .venv/bin/python bench/segment_count.py [--customers N]
Seeds the `bench` database with seed_demo first when it holds fewer customers (a few minutes, once).
"""

import argparse
import time

from _setup import setup_django, verdict

TARGET_SECONDS = 2.0
SEGMENTS = {
    "country in [DE, AT]": [{"field": "country", "op": "in", "value": ["DE", "AT"]}],
    "orders_count >= 2 and days_since_last_order > 180": [
        {"field": "orders_count", "op": "gte", "value": 2},
        {"field": "days_since_last_order", "op": "gt", "value": 180},
    ],
    "birthday_within_days <= 7": [{"field": "birthday_within_days", "op": "lte", "value": 7}],
    "tags contains vip": [{"field": "tags", "op": "contains", "value": "vip"}],
    "email_marketing_consent = true": [{"field": "email_marketing_consent", "op": "eq", "value": True}],
    "bought_category shoes and country = FR": [
        {"field": "bought_category", "op": "eq", "value": "shoes"},
        {"field": "country", "op": "eq", "value": "FR"},
    ],
}
RUNS = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    wanted = parser.parse_args().customers
    setup_django()

    from django.core.management import call_command
    from django.db import connection

    from retention.models import Customer, Segment, SegmentKind, SegmentMatch
    from retention.segments import segment_count, validate_rules

    present = Customer.objects.count()
    if present < wanted:
        print(f"Seeding {wanted - present:,} customers (the bench database has {present:,}) …")
        call_command("seed_demo", customers=wanted)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # fresh statistics, as autovacuum would give a real database
        present = Customer.objects.count()

    print(f"Segment counts over {present:,} customers (best and first of {RUNS} runs), target < {TARGET_SECONDS} s")
    for name, rules in SEGMENTS.items():
        assert not validate_rules(rules), validate_rules(rules)
        segment = Segment(name=name, slug="bench", kind=SegmentKind.DYNAMIC, match=SegmentMatch.ALL, rules=rules)
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            count = segment_count(segment)
            timings.append(time.perf_counter() - started)
        best = min(timings)
        print(f"  {name:<52} {count:>9,}  best {best:6.3f} s  first {timings[0]:6.3f} s  "
              f"{verdict(max(timings), TARGET_SECONDS)}")


if __name__ == "__main__":
    main()

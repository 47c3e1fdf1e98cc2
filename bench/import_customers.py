"""Benchmark: import a 100,000-row customer CSV end-to-end (create the job, run it in-process).

Target (docs/benchmarks.md): 100,000 rows in under 60 s on PostgreSQL.
Run: .venv/bin/python bench/import_customers.py [--rows N]
The first run creates the customers, later runs update them (same source ids).
"""

import argparse
import random
import resource
import time
from unittest import mock

from _setup import setup_django, verdict

TARGET_SECONDS = 60.0
COUNTRIES = [("DE", "Europe/Berlin", "de-DE"), ("FR", "Europe/Paris", "fr-FR"), ("GB", "Europe/London", "en-GB"),
             ("AT", "Europe/Vienna", "de-AT"), ("US", "America/New_York", "en-US")]
TAGS = ["", "", "", "vip", "newsletter", "newsletter|vip", "student"]


def make_csv(rows: int, seed: int = 1) -> str:
    """A realistic file: every column filled for most rows, and one row in 200 broken on purpose."""
    rng = random.Random(seed)
    lines = ["source_id,email,first_name,last_name,phone,birthday,country,locale,timezone,signed_up_at,tags,"
             "email_marketing,sms_marketing"]
    for n in range(1, rows + 1):
        country, zone, locale = rng.choice(COUNTRIES)
        birthday = f"{rng.randrange(1950, 2006)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        email = f"bench.customer.{n}@example.com" if n % 200 else "not-an-address"
        lines.append(
            f"bench-{n:07d},{email},First{n},Last{n},+49 151 {rng.randrange(1000000, 9999999)},{birthday},"
            f"{country},{locale},{zone},2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T10:00:00Z,"
            f"{rng.choice(TAGS)},{rng.choice(['yes', 'no', ''])},{rng.choice(['1', '0', '', ''])}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    setup_django()

    from django.conf import settings

    from retention.actors import Actor
    from retention.models import CustomerImport
    from retention.services import imports
    from retention.tasks import run_customer_import_task

    content = make_csv(rows)
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # In-process: the job is stored as the upload stores it, then run here instead of by a worker.
    started = time.perf_counter()
    with mock.patch.object(run_customer_import_task, "delay"):
        job = imports.create_customer_import(file_name="bench.csv", content=content, actor=Actor.system("bench"))
    created_at = time.perf_counter()
    imports.run_customer_import(import_id=job.pk)
    finished = time.perf_counter()
    job = CustomerImport.objects.get(pk=job.pk)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    total = finished - started
    print(f"Customer import of {rows:,} rows, batch size {settings.RETENTION['IMPORT_BATCH_SIZE']:,}")
    print(f"  status {job.status}: created {job.created_count:,}, updated {job.updated_count:,}, "
          f"problems {imports._problem_count(job.errors):,}")
    print(f"  upload (header check, count, store): {created_at - started:.2f} s")
    print(f"  import run:                           {finished - created_at:.2f} s")
    print(f"  total {total:.1f} s, {rows / total:,.0f} rows/s   target < {TARGET_SECONDS:.0f} s   "
          f"{verdict(total, TARGET_SECONDS)}")
    print(f"  peak memory {peak_mb:.0f} MB (was {memory_before / 1024:.0f} MB with the CSV built)")


if __name__ == "__main__":
    main()

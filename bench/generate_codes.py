"""Bulk generation: 1,000,000 codes through run_generation, next to a raw COPY of as many rows.

Targets: under 20 s, peak memory under 300 MB, within 2x the raw COPY measured in the same run.
The raw COPY writes the same columns into a scratch copy of the code table (same indexes and checks,
`CREATE TABLE ... (LIKE campaigns_code INCLUDING ALL)`, which leaves out only the foreign keys) with codes
drawn beforehand, so it is the floor that generation cannot beat.

    .venv/bin/python bench/generate_codes.py [--count N] [--batch-size N]
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _setup import setup_django, verdict  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_MEGABYTES = 300.0
TARGET_RATIO = 2.0
SLUG = "bench-generation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None)
    arguments = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.utils import timezone

    from campaigns.codes import CodeConfig, draw_codes
    from campaigns.models import Campaign, GenerationJob
    from campaigns.services import generation

    campaign, _created = Campaign.objects.get_or_create(
        slug=SLUG, defaults={"name": "Benchmark: bulk generation", "percent": 10, "currency": "EUR",
                             "code_valid_days": 30})
    with connection.cursor() as cursor:  # earlier runs' codes: raw SQL, the ORM would fetch 1M rows to cascade
        cursor.execute("DELETE FROM campaigns_code WHERE campaign_id = %s", [campaign.pk])
        cursor.execute("DELETE FROM campaigns_generationjob WHERE campaign_id = %s", [campaign.pk])
        cursor.execute("VACUUM ANALYZE campaigns_code")
    Campaign.objects.filter(pk=campaign.pk).update(codes_issued=0)
    load_before = os.getloadavg()

    job = GenerationJob.objects.create(campaign=campaign, count=arguments.count)
    options = {"batch_size": arguments.batch_size} if arguments.batch_size else {}
    started = time.perf_counter()
    result = generation.run_generation(job_id=job.pk, **options)
    generation_seconds = time.perf_counter() - started
    peak_megabytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.generated == arguments.count, result.generated
    stored = campaign.codes.count()

    copy_seconds = _raw_copy(connection, draw_codes(CodeConfig.for_campaign(campaign), arguments.count),
                             campaign.pk, timezone.now())
    load_after = os.getloadavg()

    ratio = generation_seconds / copy_seconds
    print(f"codes generated:   {arguments.count:,} (stored: {stored:,}, status {result.status})")
    print(f"generation:        {generation_seconds:6.2f} s   {arguments.count / generation_seconds:,.0f} codes/s"
          f"   target < {TARGET_SECONDS:.0f} s   {verdict(generation_seconds, TARGET_SECONDS)}")
    print(f"peak memory:       {peak_megabytes:6.0f} MB  target < {TARGET_MEGABYTES:.0f} MB   "
          f"{verdict(peak_megabytes, TARGET_MEGABYTES)}")
    print(f"raw COPY:          {copy_seconds:6.2f} s   {arguments.count / copy_seconds:,.0f} rows/s")
    print(f"ratio to COPY:     {ratio:6.2f} x   target < {TARGET_RATIO:.0f} x   {verdict(ratio, TARGET_RATIO)}")
    print(f"load average:      {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores, shared)")


def _raw_copy(connection, texts: list[str], campaign_id: int, now) -> float:
    """Seconds to COPY `texts` as code rows into a scratch table shaped like the code table."""
    from campaigns.services.generation import COPY_COLUMNS

    # campaign, customer \N, source, generation \N, issued_at, expires_at \N, max_uses, uses_count, balance \N,
    # is_disabled, amount_override \N, percent_override \N, sku_limit "", is_automatic, note "".
    row_suffix = f"\t{campaign_id}\t\\N\tbulk\t\\N\t{now.isoformat()}\t\\N\t1\t0\t\\N\tf\t\\N\t\\N\t\tf\t\n"
    data = row_suffix.join(texts) + row_suffix
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_code_copy")
        cursor.execute("CREATE TABLE bench_code_copy (LIKE campaigns_code INCLUDING ALL)")
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(
            f"COPY bench_code_copy ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
        copy.write(data)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_code_copy")
    return seconds


if __name__ == "__main__":
    main()

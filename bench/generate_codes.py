"""Bulk generation: 1,000,000 codes through run_generation, next to a raw COPY of as many rows.

Targets: under 20 s, peak memory under 300 MB, within 2x the raw COPY measured in the same run.

The raw COPY is the reference: one COPY on one connection of rows of the same shape (codes drawn beforehand,
in batches of the same size, each sorted as generation sorts its own) into the real `campaigns_code`, with its
indexes and its foreign-key checks (forced before the end of the timing), inside a transaction that is then
rolled back, after generation and the deletion of its codes: `VACUUM FULL` before each of the two leaves
the table in the same state for both. Generation COPYs on `--workers` connections at once (default
generation.WORKERS), so on free cores it can finish before the one-connection reference; the CPU ratio
(generation's Python + PostgreSQL CPU over the reference's PostgreSQL CPU) compares the work done.
A second raw COPY, into a scratch table with the same indexes but no foreign keys, shows what the per-row
foreign-key checks cost.

Besides wall-clock time (noisy on a shared VM) it prints CPU figures that other load does not move much:
Python CPU of this process (all threads) and the CPU of the PostgreSQL server processes serving it, read
from /proc (the server runs on this host).

    .venv/bin/python bench/generate_codes.py [--count N] [--batch-size N] [--workers N]
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


class ServerCpu:
    """CPU seconds of the PostgreSQL backends of this process's connections, read before each one closes."""

    def __init__(self):
        self.pids: dict[int, float] = {}  # backend pid -> CPU seconds when first seen
        self.spent = 0.0  # of backends already closed
        self.statements = 0

    def start(self, connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        self.pids[pid] = _process_cpu(pid)
        connection.execute_wrappers.append(self._count)

    def _count(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)

    def closing(self, connection) -> None:
        if connection.connection is None:
            return
        pid = connection.connection.info.backend_pid
        if pid in self.pids:
            self.spent += _process_cpu(pid) - self.pids.pop(pid)

    def total(self) -> float:
        return self.spent + sum(_process_cpu(pid) - started for pid, started in self.pids.items())


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    arguments = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.db.backends.postgresql.base import DatabaseWrapper
    from django.db.backends.signals import connection_created

    from campaigns.models import Campaign, GenerationJob
    from campaigns.services import generation

    campaign, _created = Campaign.objects.get_or_create(
        slug=SLUG, defaults={"name": "Benchmark: bulk generation", "percent": 10, "currency": "EUR",
                             "code_valid_days": 30})
    with connection.cursor() as cursor:  # earlier runs' codes: raw SQL, the ORM would fetch 1M rows to cascade
        cursor.execute("DELETE FROM campaigns_code WHERE campaign_id = %s", [campaign.pk])
        cursor.execute("DELETE FROM campaigns_generationjob WHERE campaign_id = %s", [campaign.pk])
    Campaign.objects.filter(pk=campaign.pk).update(codes_issued=0)
    batch_size = arguments.batch_size or generation.BATCH_SIZE
    workers = arguments.workers or generation.WORKERS

    _vacuum_full(connection)

    cpu = ServerCpu()
    cpu.start(connection)
    connection_created.connect(lambda sender, connection, **kwargs: cpu.start(connection), weak=False)
    original_close = DatabaseWrapper.close

    def close(self):
        cpu.closing(self)
        return original_close(self)

    DatabaseWrapper.close = close
    load_before = os.getloadavg()
    job = GenerationJob.objects.create(campaign=campaign, count=arguments.count)
    cpu.statements = 0
    started, python_started = time.perf_counter(), time.process_time()
    result = generation.run_generation(job_id=job.pk, batch_size=batch_size, workers=workers)
    generation_seconds = time.perf_counter() - started
    python_cpu = time.process_time() - python_started
    server_cpu = cpu.total()
    statements = cpu.statements
    peak_megabytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_after = os.getloadavg()
    assert result.generated == arguments.count, result.generated
    stored = campaign.codes.count()
    DatabaseWrapper.close = original_close

    # The raw COPY after generation (its rows drawn beforehand would weigh on the peak memory above), into
    # the table as generation found it.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_code WHERE campaign_id = %s", [campaign.pk])
    _vacuum_full(connection)
    copy_seconds, copy_cpu = _raw_copy(connection, campaign, arguments.count, batch_size)
    _vacuum_full(connection)
    # For information: the same without the foreign keys, the share of their per-row checks.
    bare_seconds, bare_cpu = _raw_copy(connection, campaign, arguments.count, batch_size, table="bench_code_copy")

    count = arguments.count
    ratio = generation_seconds / copy_seconds
    cpu_ratio = (python_cpu + server_cpu) / copy_cpu
    batches = -(-count // batch_size)
    print(f"codes generated:   {count:,} (stored: {stored:,}, status {result.status}); batches of "
          f"{batch_size:,} on {workers} connection(s)")
    print(f"generation:        {generation_seconds:6.2f} s   {count / generation_seconds:,.0f} codes/s"
          f"   target < {TARGET_SECONDS:.0f} s   {verdict(generation_seconds, TARGET_SECONDS)}")
    print(f"  CPU:             Python {python_cpu:6.2f} s ({python_cpu / count * 1e6:.2f} us per code), "
          f"PostgreSQL {server_cpu:6.2f} s ({server_cpu / count * 1e6:.2f} us per code)")
    print(f"  statements:      {statements} besides {batches} COPYs ({statements / batches:.1f} per batch)")
    print(f"peak memory:       {peak_megabytes:6.0f} MB  target < {TARGET_MEGABYTES:.0f} MB   "
          f"{verdict(peak_megabytes, TARGET_MEGABYTES)}")
    print(f"raw COPY:          {copy_seconds:6.2f} s   {count / copy_seconds:,.0f} rows/s   PostgreSQL CPU "
          f"{copy_cpu:6.2f} s ({copy_cpu / count * 1e6:.2f} us per row); one connection, campaigns_code itself")
    print(f"  without FKs:     {bare_seconds:6.2f} s   PostgreSQL CPU {bare_cpu:6.2f} s "
          f"({bare_cpu / count * 1e6:.2f} us per row); a scratch table with the same indexes, no foreign keys")
    print(f"ratio to COPY:     {ratio:6.2f} x   target < {TARGET_RATIO:.0f} x   {verdict(ratio, TARGET_RATIO)}"
          f"   (CPU, Python + PostgreSQL: {cpu_ratio:.2f} x)")
    print(f"load average:      {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores, shared)")


def _vacuum_full(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL ANALYZE campaigns_code")


class _RollBack(Exception):
    pass


def _raw_copy(connection, campaign, count: int, batch_size: int, table: str = "campaigns_code") -> tuple[float, float]:
    """Seconds and server CPU seconds to COPY `count` code rows into campaigns_code, then rolled back.

    With another `table`: into a scratch table created like campaigns_code with its indexes and checks but
    no foreign keys (`LIKE ... INCLUDING ALL`), in the same transaction.
    """
    from django.db import transaction
    from django.utils import timezone

    from campaigns.codes import CodeConfig, draw_codes
    from campaigns.models import GenerationJob
    from campaigns.services.generation import COPY_COLUMNS

    config = CodeConfig.for_campaign(campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    measured = []
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(campaign=campaign, count=count)  # the rows' generation_id
            if table != "campaigns_code":
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE TABLE {table} (LIKE campaigns_code INCLUDING ALL)")
            now = timezone.now().isoformat()
            # campaign, customer \N, source, generation, issued_at, expires_at \N, max_uses, uses_count,
            # balance \N, is_disabled, amount_override \N, percent_override \N, sku_limit "", is_automatic, note "".
            suffix = f"\t{campaign.pk}\t\\N\tbulk\t{job.pk}\t{now}\t\\N\t1\t0\t\\N\tf\t\\N\t\\N\t\tf\t\n"
            chunks = [sorted(draw_codes(config, min(batch_size, count - start))) for start in range(0, count,
                                                                                                    batch_size)]
            started, cpu_started = time.perf_counter(), _process_cpu(pid)
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                    for chunk in chunks:
                        copy.write(suffix.join(chunk) + suffix)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign-key checks, now
            measured = [time.perf_counter() - started, _process_cpu(pid) - cpu_started]
            raise _RollBack
    except _RollBack:
        pass
    return measured[0], measured[1]


if __name__ == "__main__":
    main()

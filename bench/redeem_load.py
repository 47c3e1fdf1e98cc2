"""Load test of POST /api/v1/redemptions: gunicorn on loopback against PostgreSQL database `bench`.

    .venv/bin/python bench/redeem_load.py [--seconds 20] [--clients 8] [--workers 2] [--worker-class gthread]

Creates and migrates the database when missing, seeds an API key, a campaign and distinct unique codes
(each assigned to its own customer, as a shop's checkout sends them), starts gunicorn on a free loopback
port, drives it with keep-alive HTTP/1.1 connections (asyncio) for a bounded time, stops everything and prints
redemptions/s and p50/p95/p99 latency against the targets (>= 400/s, p99 < 100 ms) with the load average:
the machine is shared, so figures move with what else runs. It also prints the CPU time per request of the
gunicorn workers, of the PostgreSQL backends serving them and of the driver (from /proc): those move much less
with the load, and their total says how many redemptions/s the 2 cores could serve at best.

Defaults are what ran fastest here on 2 cores: 2 gthread workers × 4 threads (gunicorn's sync workers
close the connection after every response, and measured 18/s against gthread's 80/s in the same minute; on
2026-11-23, at load 3-7, 2 × 4 with 8 clients also beat 2-4 workers × 1 thread, 2 × 2, 2 × 6, 3 × 4 and
4 × 2, and 16 clients only added latency; with one thread per worker the keep-alive connections bunch on one
worker).
"""

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 400
TARGET_P99_MS = 100
ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "retention.settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bench",
    "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/7"),
    "SECRET_KEY": "bench-only-" + "x" * 50,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "CONN_MAX_AGE": "600",
}


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'").fetchone() is None:
            admin.execute("CREATE DATABASE bench")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env={**os.environ, **ENVIRONMENT}, check=True)


def seed(count: int) -> tuple[str, list[tuple[str, str]]]:
    """An API key, a campaign and `count` codes with their customers; returns the secret and (code, customer)."""
    os.environ.update(ENVIRONMENT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from campaigns.models import Campaign, Code, CodeSource, DiscountType
    from retention.actors import Actor
    from retention.models import Customer
    from retention.services.api_keys import create_api_key

    run = secrets.token_hex(4).upper()
    _api_key, secret = create_api_key(name=f"bench-{run}", actor=Actor.system("bench"))
    campaign = Campaign.objects.create(name=f"Bench {run}", slug=f"bench-{run.lower()}",
                                       discount_type=DiscountType.PERCENT, percent=10, max_amount=2000,
                                       currency="EUR", max_redemptions_per_customer=1)
    customers = Customer.objects.bulk_create(
        [Customer(source_id=f"bench-{run}-{n}", country="DE") for n in range(count)], batch_size=2000)
    codes = Code.objects.bulk_create(
        [Code(code=f"B{run}{n:07d}", campaign=campaign, customer=customer, source=CodeSource.BULK, max_uses=1)
         for n, customer in enumerate(customers)], batch_size=2000)
    from django.db import connections

    connections.close_all()
    return secret, [(code.code, customer.source_id) for code, customer in zip(codes, customers, strict=True)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workers: int, worker_class: str, threads: int) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "retention.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", worker_class,
               "--keep-alive", "30", "--log-level", "warning"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **ENVIRONMENT})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start within 30 s")


def drive(port: int, secret: str, work: list[tuple[str, str]], clients: int, seconds: float) -> tuple[list, dict]:
    """Each client takes the next code and redeems it once, until time or codes run out.

    asyncio over raw keep-alive HTTP/1.1 connections: the driver shares the 2 cores with gunicorn and
    PostgreSQL, and http.client in threads cost it several times more CPU per request."""
    return asyncio.run(_drive(port, secret, work, clients, seconds))


async def _drive(port, secret, work, clients, seconds):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    samples: dict[int, bytes] = {}  # one body per unexpected status, to show why
    queue = iter(work)
    deadline = time.monotonic() + seconds
    head = (f"POST /api/v1/redemptions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n"
            "Content-Type: application/json\r\n")

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            item = next(queue, None)  # one event loop: no lock needed
            if item is None:
                break
            code, customer = item
            body = json.dumps({"code": code, "customer": customer,
                               "order": {"source_id": f"order-{code}", "amount": 12000, "currency": "EUR"}}).encode()
            started = time.perf_counter()
            try:
                writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                answer = await reader.readexactly(length)
                if status != 201:
                    samples.setdefault(status, answer[:300])
                if b"connection: close" in header.lower():
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                status = 0
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    for status, answer in samples.items():
        print(f"sample {status}: {answer.decode(errors='replace')}")
    return latencies, statuses


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (their threads included), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def postgres_backends() -> list[int]:
    """The PostgreSQL backends serving database `bench` (gunicorn keeps its connections: CONN_MAX_AGE)."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = 'bench' AND pid <> pg_backend_pid()")
        return [pid for (pid,) in rows.fetchall()]


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(int(len(sorted_values) * fraction), len(sorted_values) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="per worker, with gthread")
    parser.add_argument("--codes", type=int, default=None,
                        help="codes seeded (default: enough for 600/s, more than the run can use)")
    arguments = parser.parse_args()
    arguments.codes = arguments.codes or int(arguments.seconds * 600) + 200

    ensure_database()
    secret, work = seed(arguments.codes)
    port = free_port()
    server = start_gunicorn(port, arguments.workers, arguments.worker_class, arguments.threads)
    try:
        drive(port, secret, work[:200], min(arguments.clients, 8), 5)  # warm-up: imports, connections
        workers, backends = children(server.pid), postgres_backends()
        load_before = os.getloadavg()
        cpu_before = (cpu_seconds(workers), cpu_seconds(backends), time.process_time())
        started = time.monotonic()
        latencies, statuses = drive(port, secret, work[200:], arguments.clients, arguments.seconds)
        elapsed = time.monotonic() - started
        # Backends that connected during the run count from zero (their start-up is a small part).
        started_later = [pid for pid in postgres_backends() if pid not in backends]
        backends += started_later
        cpu_after = (cpu_seconds(workers), cpu_seconds(backends), time.process_time())
    finally:
        server.terminate()
        server.wait(timeout=15)
    load_after = os.getloadavg()
    latencies.sort()
    succeeded = statuses.get(201, 0)
    rate = succeeded / elapsed
    p50, p95, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.95, 0.99))
    print(f"gunicorn {arguments.workers} × {arguments.worker_class}"
          f"{f' ({arguments.threads} threads)' if arguments.worker_class == 'gthread' else ''}, "
          f"{arguments.clients} keep-alive clients, {elapsed:.1f} s, {os.cpu_count()} CPUs")
    print(f"responses by status: {dict(sorted(statuses.items()))}")
    print(f"redemptions/s: {rate:.0f}   (target >= {TARGET_RATE}: {'met' if rate >= TARGET_RATE else 'MISSED'})")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}   "
          f"(target p99 < {TARGET_P99_MS}: {'met' if p99 < TARGET_P99_MS else 'MISSED'})")
    answered = max(sum(statuses.values()), 1)
    gunicorn_ms, postgres_ms, driver_ms = ((after - before) * 1000 / answered
                                           for before, after in zip(cpu_before, cpu_after, strict=True))
    total_ms = gunicorn_ms + postgres_ms + driver_ms
    budget_ms = 2 * 1000 / TARGET_RATE
    print(f"CPU ms per request (load-insensitive): gunicorn {gunicorn_ms:.2f} ({len(workers)} workers), "
          f"PostgreSQL {postgres_ms:.2f} ({len(backends)} backends), driver {driver_ms:.2f}; total {total_ms:.2f} "
          f"-> at most {2000 / total_ms:.0f}/s on 2 cores (target {TARGET_RATE}/s needs <= {budget_ms:.1f} ms: "
          f"{'met' if total_ms <= budget_ms else 'MISSED'})")
    print(f"mean {statistics.fmean(latencies) * 1000:.1f} ms; load average before {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f} (the machine is shared)")


if __name__ == "__main__":
    main()

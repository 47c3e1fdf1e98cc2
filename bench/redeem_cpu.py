"""Python CPU per POST /api/v1/redemptions, in-process, against PostgreSQL database `bench`.

    .venv/bin/python bench/redeem_cpu.py [--requests 2000] [--profile 30]

The machine is shared, so wall-clock load tests move with whatever else runs; the CPU time this process
spends per redemption moves much less and is what the code changes decide (it still rises by a third or more
when other work keeps both cores busy: compare figures taken in the same minute). Each request redeems a
distinct unique code assigned to its own customer, as bench/redeem_load.py does, through the WSGI application
called as gunicorn calls it (request_started/finished signals included, so the connection health check runs),
without the HTTP server. It prints the CPU and the SQL statements per request and the ceiling the CPU sets on
2 cores (PostgreSQL's own CPU not counted) next to the 400/s target; --profile N prints the N costliest
functions (cProfile, CPU time).
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redeem_load  # noqa: E402

TARGET_RATE = redeem_load.TARGET_RATE
# 2 cores at 400/s leave 5 ms of CPU per request for gunicorn, PostgreSQL and the load generator together;
# about half of it is the application's share.
APP_SHARE_MS = 2.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    arguments = parser.parse_args()
    redeem_load.ensure_database()
    secret, work = redeem_load.seed(arguments.requests + arguments.warm_up + 1)
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()

    def redeem(items) -> None:
        for code, customer in items:
            body = json.dumps({"code": code, "customer": customer,
                               "order": {"source_id": f"order-{code}", "amount": 12000, "currency": "EUR"}}).encode()
            environ = {
                "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/redemptions", "SCRIPT_NAME": "", "QUERY_STRING": "",
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
                "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {secret}",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
                "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
                "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            }
            answer = []
            result = application(environ, lambda status, headers, exc_info=None, answer=answer: answer.append(status))
            content = b"".join(result)
            result.close()  # request_finished, as gunicorn does
            assert answer[0].startswith("201"), (answer, content)

    redeem(work[:arguments.warm_up])  # imports, connections, compiled and prepared statements
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        redeem(work[arguments.warm_up:arguments.warm_up + 1])
    measured = work[arguments.warm_up + 1:]
    if arguments.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile(time.process_time)
        profile.runcall(redeem, measured)
        pstats.Stats(profile).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(arguments.profile)
        return
    wall, cpu = time.perf_counter(), time.process_time()
    redeem(measured)
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    per_request = cpu / len(measured)
    ceiling = 2 * 1000 / per_request
    print(f"{len(measured)} redemptions in-process (WSGI): CPU {per_request:.2f} ms/request "
          f"(target share ~{APP_SHARE_MS} ms), wall {wall / len(measured):.1f} ms/request")
    print(f"SQL statements per request: {len(statements)} through Django's cursors "
          f"(+ the connection health check's SELECT 1): {', '.join(s.split()[0] for s in statements)}")
    verdict = "within reach" if ceiling >= TARGET_RATE else "MISSED even before PostgreSQL's share"
    print(f"ceiling on 2 cores from Python CPU alone: {ceiling:.0f}/s   (target >= {TARGET_RATE}/s: {verdict})")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)")


if __name__ == "__main__":
    main()

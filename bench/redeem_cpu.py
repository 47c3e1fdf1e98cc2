"""Python CPU per POST /api/v1/redemptions, in-process (django.test.Client), against PostgreSQL database `bench`.

    .venv/bin/python bench/redeem_cpu.py [--requests 2000]

The machine is shared, so wall-clock load tests move with whatever else runs; the CPU time this process
spends per redemption moves much less and is what the code changes decide. Each request redeems a distinct
unique code assigned to its own customer, as bench/redeem_load.py does. It prints the CPU per request and the
ceiling it sets on 2 cores (PostgreSQL's own CPU not counted) next to the 400/s target.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redeem_load  # noqa: E402

TARGET_RATE = redeem_load.TARGET_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=200)
    arguments = parser.parse_args()
    redeem_load.ensure_database()
    secret, work = redeem_load.seed(arguments.requests + arguments.warm_up)
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="127.0.0.1")

    def redeem(items) -> None:
        for code, customer in items:
            body = {"code": code, "customer": customer,
                    "order": {"source_id": f"order-{code}", "amount": 12000, "currency": "EUR"}}
            response = client.post("/api/v1/redemptions", data=json.dumps(body), content_type="application/json")
            assert response.status_code == 201, response.content

    redeem(work[:arguments.warm_up])  # imports, connections, compiled statements
    wall, cpu = time.perf_counter(), time.process_time()
    redeem(work[arguments.warm_up:])
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    per_request = cpu / arguments.requests
    ceiling = 2 * 1000 / per_request
    print(f"{arguments.requests} redemptions in-process: CPU {per_request:.1f} ms/request, "
          f"wall {wall / arguments.requests:.1f} ms/request")
    verdict = "within reach" if ceiling >= TARGET_RATE else "MISSED even before PostgreSQL's share"
    print(f"ceiling on 2 cores from Python CPU alone: {ceiling:.0f}/s   (target >= {TARGET_RATE}/s: {verdict})")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared)")


if __name__ == "__main__":
    main()

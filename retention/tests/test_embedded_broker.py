"""`make run` on a fresh machine: the embedded broker must take tasks before any worker has run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_create_the_embedded_brokers_folders(tmp_path):
    # given a fresh var/ and no broker configured (what `make run` uses)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("CELERY_BROKER_URL", "DATABASE_URL", "CACHE_URL")}
    environment.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="retention.settings")
    # when a process queues a task before any worker started (seed_demo's orders do)
    script = ("import django; django.setup()\n"
              "from retention.celery import app\n"
              "app.send_task('retention.purge_idempotency_records')\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, check=True, timeout=120)
    # then the message waits in the queue folder for the worker
    assert len(list((tmp_path / "celery" / "queue").iterdir())) == 1

"""Shared start of every benchmark: the `bench` PostgreSQL database, created and migrated if needed."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "retention.settings"
    os.environ["DEBUG"] = "true"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DATABASE_URL)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Its own var/: the demo logins and the Celery folders of `make run` stay untouched.
    os.environ["VAR_DIR"] = str(ROOT / "var" / "bench")
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    _create_database(os.environ["DATABASE_URL"])

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def verdict(measured: float, target: float) -> str:
    return "OK" if measured <= target else "MISSED"


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}.")

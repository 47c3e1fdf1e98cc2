"""Benchmark: the daily birthday run of a calendar campaign over 1,000,000 customers.

Targets (issue 4, docs/benchmarks.md): the first run of the day selects, issues codes and queues messages
for today's ~2,700 birthdays in under 10 s; a second run the same day does nothing in under 2 s.
Run: .venv/bin/python bench/calendar_run.py [--customers N]
(a quick check on its own database: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_small
.venv/bin/python bench/calendar_run.py --customers 20000)
The bench campaign is created once; each invocation first removes its earlier codes, sends, runs and
deliveries, so today's occasions are new again (old deliveries would also trip the frequency cap).
"""

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

import _setup

FIRST_TARGET, SECOND_TARGET = 10.0, 2.0
NAME = "Bench birthday"


def setup() -> None:
    # Only this app's migrations: another app's migration in progress must not block this benchmark.
    import sys

    sys.path.insert(0, str(_setup.ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "retention.settings"
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not what production does
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", _setup.DATABASE_URL)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Production enqueues to Redis; its database 15 is this benchmark's and is emptied afterwards.
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ["VAR_DIR"] = str(_setup.ROOT / "var" / "bench")
    (_setup.ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    _setup._create_database(os.environ["DATABASE_URL"])
    import django
    from django.core.management import call_command

    django.setup()
    from retention.celery import ensure_broker_folders

    ensure_broker_folders()  # the queued messages are enqueued on commit, into var/bench's broker folder
    call_command("migrate", "campaigns", verbosity=0, interactive=False)
    call_command("migrate", "django_celery_beat", verbosity=0, interactive=False)


def _timed(module, name: str, timings: dict) -> None:
    """Wrap module.name so the run's time is broken down by step (no profiler: it distorts the figures)."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


def _forget_previous_runs(campaign) -> None:
    """Remove what earlier invocations left, so today's occasions are new again. Raw SQL: the ORM's cascade
    would also query the tables of apps this benchmark does not migrate. Old deliveries must go too, or they
    would trip the frequency cap."""
    from django.db import connection, transaction

    from campaigns.models import CalendarSend, Campaign, CampaignRun, Code
    from retention.messaging.models import Delivery

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (CalendarSend, CampaignRun, Code):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE campaign_id = %s", [campaign.pk])  # noqa: S608
        cursor.execute(f"DELETE FROM {Delivery._meta.db_table} WHERE occasion_key LIKE %s",  # noqa: S608
                       [f"campaign:{campaign.pk}:%"])
        Campaign.objects.filter(pk=campaign.pk).update(codes_issued=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    wanted = parser.parse_args().customers
    setup()

    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign
    from campaigns.services import calendar as calendar_services
    from campaigns.services.calendar import run_calendar_campaign
    from campaigns.services.campaigns import create_campaign
    from retention.actors import Actor
    from retention.messaging.models import Channel, MessageTemplate
    from retention.messaging.services import deliveries
    from retention.models import Customer

    timings: dict[str, float] = {}
    for name in ("due_customers", "rule_skips", "_unique_texts", "queue_messages", "_record_outcomes",
                 "emit_webhooks"):
        _timed(calendar_services, name, timings)
    _timed(deliveries, "_enqueue_sends", timings)  # after commit: the queued deliveries, 25 per broker message

    present = Customer.objects.count()
    if present < wanted:
        print(f"Seeding {wanted - present:,} customers (the bench database has {present:,}) …")
        call_command("seed_demo", customers=wanted)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        present = Customer.objects.count()
    elif present > wanted:
        print(f"Note: the bench database already holds {present:,} customers; the run covers all of them.")

    campaign = Campaign.objects.filter(name=NAME).order_by("pk").first()
    if campaign is None:
        campaign = create_campaign(actor=Actor.system("bench"), data={
            "name": NAME, "discount": {"type": "percent", "percent": 15}, "code_valid_days": 30,
            "trigger": {"type": "birthday", "days_before": 0, "send_time": "09:00", "timezone": "Europe/Berlin"}})
    else:
        _forget_previous_runs(campaign)
    MessageTemplate.objects.get_or_create(owner_type="campaign", owner_id=str(campaign.pk), channel=Channel.EMAIL,
                                          defaults={
        "subject": "Happy birthday, {{ customer.first_name }}",
        "html_body": "<p>{{ discount_text }} with <b>{{ code }}</b> until {{ expires_at }}</p>",
        "text_body": "{{ discount_text }} with {{ code }} until {{ expires_at }}"})
    # 20:00 UTC: every European and American zone is past its 09:00 send time on today's date.
    today = datetime.now(UTC).date()
    now = datetime(today.year, today.month, today.day, 20, 0, tzinfo=UTC)
    birthdays = Customer.objects.filter(birthday_month=today.month, birthday_day=today.day).count()

    # A worker is a long-lived process: warm it up (imports, template compiling, the broker connection) with
    # yesterday's occasions, untimed, then forget that run.
    run_calendar_campaign(campaign_id=campaign.pk, now=now - timedelta(days=1))
    _forget_previous_runs(campaign)
    timings.clear()

    print(f"Daily birthday run over {present:,} customers ({birthdays:,} born on {today:%d %B}), "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    started = time.perf_counter()
    first = run_calendar_campaign(campaign_id=campaign.pk, now=now)
    first_seconds = time.perf_counter() - started
    steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in timings.items())
    timings.clear()
    started = time.perf_counter()
    second = run_calendar_campaign(campaign_id=campaign.pk, now=now.replace(hour=21))
    second_seconds = time.perf_counter() - started
    print(f"  first run:  {first_seconds:6.2f} s  issued {first.issued:,}, skipped {first.skipped:,} "
          f"{first.skip_reasons}  target < {FIRST_TARGET} s  {_setup.verdict(first_seconds, FIRST_TARGET)}")
    print(f"    steps (s): {steps}")
    print(f"  second run: {second_seconds:6.2f} s  issued {second.issued:,}, skipped {second.skipped:,}  "
          f"target < {SECOND_TARGET} s  {_setup.verdict(second_seconds, SECOND_TARGET)}")
    from retention.celery import app

    app.control.purge()  # nobody consumes the benchmark's send tasks
    print(f"  load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Creates or updates the fixed periodic jobs in django-celery-beat's tables (idempotent)."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (task, every, period)
FIXED_JOBS = {
    "Forget expired idempotency keys": ("retention.purge_idempotency_records", 1, IntervalSchedule.HOURS),
    "Send lost and due messages": ("messaging.sweep_deliveries", 1, IntervalSchedule.MINUTES),
    "Send lost and due webhooks": ("messaging.sweep_webhook_deliveries", 1, IntervalSchedule.MINUTES),
    "Loyalty: release pending points": ("loyalty.release_pending_points", 1, IntervalSchedule.HOURS),
    "Loyalty: expire points": ("loyalty.expire_points", 1, IntervalSchedule.DAYS),
    "Loyalty: remind of expiring points": ("loyalty.send_expiry_reminders", 1, IntervalSchedule.DAYS),
    "Loyalty: re-evaluate tiers": ("loyalty.reevaluate_tiers", 1, IntervalSchedule.DAYS),
    "Campaigns: leak guard pauses leaking public codes": ("campaigns.leak_guard", 1, IntervalSchedule.MINUTES),
}


class Command(BaseCommand):
    help = "Create or update the fixed periodic tasks (safe to run any number of times)."

    @transaction.atomic
    def handle(self, *args, **options):
        for name, (task, every, period) in FIXED_JOBS.items():
            schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
            PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": schedule, "crontab": None, "enabled": True}
            )
        self.stdout.write(f"{len(FIXED_JOBS)} periodic tasks in place.")

"""Thin Celery tasks of campaigns: each calls one service. Stable names: beat rows and queues store them."""

from smtplib import SMTPException

from celery import shared_task


@shared_task(name="campaigns.generate_codes", acks_late=True)
def generate_codes_task(job_id: int) -> None:
    """Fill a bulk generation job; safe to run twice (a done job is left alone, a crashed one resumes)."""
    from campaigns.services.generation import run_generation

    run_generation(job_id=job_id)


@shared_task(name="campaigns.send_code_email", acks_late=True, autoretry_for=(SMTPException, ConnectionError),
             retry_backoff=True, max_retries=5)
def send_code_email_task(code_id: int, template: str) -> None:
    """A code by transactional email (support desk, landing page); a lost connection is retried."""
    from campaigns.services.support import send_code_email

    send_code_email(code_id=code_id, template=template)


@shared_task(name="campaigns.run_calendar_campaign", acks_late=True)
def run_calendar_campaign_task(campaign_id: int) -> None:
    """One hourly beat tick of a calendar campaign; safe to run twice (CalendarSend is unique per occasion)."""
    from campaigns.services.calendar import run_calendar_campaign

    run_calendar_campaign(campaign_id=campaign_id)


@shared_task(name="campaigns.fire_welcome", acks_late=True)
def fire_welcome_task(customer_id: int, on: str) -> None:
    """The welcome trigger for one new customer; safe to run twice ("welcome" is unique per customer)."""
    from campaigns.services.calendar import fire_welcome

    fire_welcome(customer_id=customer_id, on=on)


@shared_task(name="campaigns.leak_guard", acks_late=True)
def leak_guard_task() -> int:
    """Pause the public campaigns whose leak guard fires and that opted in; safe to run twice (pausing is
    conditional). Registered in retention's setup_periodic_tasks (every minute)."""
    from campaigns.services.campaigns import pause_leaking_campaigns

    return len(pause_leaking_campaigns())

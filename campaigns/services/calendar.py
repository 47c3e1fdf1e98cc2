"""Firing calendar and lifecycle campaigns: runs, the welcome trigger, previews, and the beat schedule.

Exactly once: every decided occasion is a CalendarSend row, unique per (campaign, customer, occasion). A run
first inserts its rows with ON CONFLICT DO NOTHING (bulk_create(ignore_conflicts=True)) and then reads back
the rows carrying its own run id: a second run, a retried task or a second beat inserts nothing and so
issues nothing. Codes, deliveries and the rows' outcome commit in that same transaction.

Consent first: the messages are queued (messaging decides consent, frequency cap, suppression, address)
before the codes are written, and only customers whose message is really queued get a code; the others'
rows say why they were skipped.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from campaigns.ab import in_split
from campaigns.calendar import SkipReason, Trigger, due_customers, message_skips, rule_skips
from campaigns.codes import CodeConfig, draw_codes
from campaigns.models import (
    CalendarSend,
    Campaign,
    CampaignRun,
    CampaignStatus,
    Code,
    CodeSource,
    DiscountType,
    RunKind,
    RunStatus,
    SendStatus,
)
from campaigns.reports import describe_discount
from campaigns.services.codes import code_expiry, issuing_refusal
from campaigns.signals import code_issued
from retention.actors import Actor
from retention.audit import record_audit
from retention.messaging.models import Channel, DeliveryStatus, MessageKind
from retention.messaging.queries import template_for_owner
from retention.messaging.services.deliveries import Recipient, queue_messages
from retention.messaging.services.webhooks import emit_webhooks
from retention.models import Customer

TASK_NAME = "campaigns.run_calendar_campaign"
CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)  # the first with a template carries the code
BATCH = 1000


def schedule_name(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:calendar"


# --- The beat schedule -------------------------------------------------------------------------------------

def _hourly_utc() -> CrontabSchedule:
    # Hourly in UTC, never a local crontab: local crontabs run an hour off, twice or never around DST. Each
    # tick reaches the zones whose local time has passed the send time, so a missed tick is caught up.
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    return schedule


def sync_calendar_schedule(campaign: Campaign, *, now: datetime | None = None) -> PeriodicTask | None:
    """Create, update, enable, disable or delete the campaign's PeriodicTask to match the campaign.

    A scheduled trigger (birthday, anniversary, win-back) owns one, enabled while the campaign is active or
    scheduled, disabled while draft, paused or ended; a campaign without one (or welcome, fired by signals)
    owns none. Call it inside the transaction that changed the campaign.
    """
    now = now or timezone.now()
    trigger = Trigger.of(campaign)
    name = schedule_name(campaign.pk)
    if trigger is None or not trigger.is_scheduled:
        PeriodicTask.objects.filter(name=name).delete()
        return None
    enabled = campaign.status_at(now) in (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)
    task, _ = PeriodicTask.objects.update_or_create(name=name, defaults={
        "task": TASK_NAME, "crontab": _hourly_utc(), "interval": None,
        "kwargs": json.dumps({"campaign_id": campaign.pk}), "enabled": enabled,
        "description": f"Calendar trigger of {campaign.name}"[:200],
    })
    return task


def delete_calendar_schedule(campaign_id: int) -> None:
    PeriodicTask.objects.filter(name=schedule_name(campaign_id)).delete()


def next_run_at(campaign: Campaign, now: datetime | None = None) -> datetime | None:
    """The next tick of the campaign's enabled PeriodicTask that can issue (the next full UTC hour, or the first
    one from the start of a scheduled campaign), or None when disabled or past the end."""
    now = now or timezone.now()
    if not PeriodicTask.objects.filter(name=schedule_name(campaign.pk), enabled=True).exists():
        return None
    moment = max(now, campaign.starts_at) if campaign.starts_at else now
    tick = moment.replace(minute=0, second=0, microsecond=0)
    if tick < moment or tick <= now:
        tick += timedelta(hours=1)
    if campaign.ends_at and tick >= campaign.ends_at:
        return None
    return tick


# --- Runs --------------------------------------------------------------------------------------------------

def _template(campaign: Campaign):
    for channel in CHANNELS:
        template = template_for_owner(owner_type="campaign", owner_id=str(campaign.pk), channel=channel)
        if template is not None:
            return template
    return None


def _blocked(campaign: Campaign, now: datetime) -> str:
    refusal = issuing_refusal(campaign, now)
    if refusal is not None:
        return refusal.code
    if campaign.starts_at and now < campaign.starts_at:
        return "campaign_not_started"
    return ""


@transaction.atomic(durable=True)
def run_calendar_campaign(*, campaign_id: int, now: datetime | None = None,
                          kind: str = RunKind.SCHEDULED) -> CampaignRun | None:
    """Fire the campaign for everyone whose occasion is due at `now` in their own time zone.

    A scheduled tick reaches customers at or past the send time of their local day; a manual run everyone
    whose occasion is today, whatever the time. Returns the run, or None when the campaign cannot issue (paused,
    draft, ended, not started, not a scheduled trigger); an ended campaign's schedule is disabled then.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    trigger = Trigger.of(campaign) if campaign else None
    if trigger is None or not trigger.is_scheduled:
        return None
    if _blocked(campaign, now):
        sync_calendar_schedule(campaign, now=now)
        return None
    due = due_customers(campaign, trigger, now, respect_send_time=kind == RunKind.SCHEDULED)
    run = CampaignRun.objects.create(campaign=campaign, kind=kind, for_date=now.date(), started_at=now)
    return _fire(campaign, run, due, now)


@transaction.atomic(durable=True)
def fire_welcome(*, customer_id: int, on: str, now: datetime | None = None) -> list[CalendarSend]:
    """The welcome trigger for one customer (on "signup" or "first_order"): once per customer per campaign."""
    now = now or timezone.now()
    decided = []
    for campaign in Campaign.objects.filter(trigger__type="welcome").order_by("pk"):
        trigger = Trigger.of(campaign)
        if trigger is None or trigger.on != on or _blocked(campaign, now):
            continue
        if not in_split(customer_id, campaign.split_buckets, campaign.split_bucket):
            continue
        run = CampaignRun.objects.create(campaign=campaign, kind=RunKind.SIGNAL, for_date=now.date(), started_at=now)
        _fire(campaign, run, [(customer_id, "welcome")], now)
        decided.extend(CalendarSend.objects.filter(run=run))
    return decided


@dataclass
class _Outcome:
    reasons: Counter = field(default_factory=Counter)
    issued: int = 0


def _fire(campaign: Campaign, run: CampaignRun, due: list[tuple[int, str]], now: datetime) -> CampaignRun:
    ids = [pk for pk, _ in due]
    skips = rule_skips(campaign, ids, now)
    template = _template(campaign)
    rows = []
    for pk, occasion in due:
        reason = skips.get(pk, "") or ("" if template else SkipReason.NO_TEMPLATE)
        rows.append(CalendarSend(campaign=campaign, customer_id=pk, occasion=occasion, run=run, created_at=now,
                                 status=SendStatus.SKIPPED if reason else SendStatus.ISSUED, skip_reason=reason))
    # The claim: rows another run inserted first are silently left out, and so is their customer.
    CalendarSend.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH)
    mine = list(CalendarSend.objects.filter(run=run).values_list("pk", "customer_id", "occasion", "status",
                                                                  "skip_reason"))
    outcome = _Outcome(reasons=Counter(reason for *_, status, reason in mine if status == SendStatus.SKIPPED))
    to_issue = [(pk, customer_id, occasion) for pk, customer_id, occasion, status, _ in mine
                if status == SendStatus.ISSUED]
    if to_issue:
        _issue(campaign, run, to_issue, template, now, outcome)
    run.issued = outcome.issued
    run.skipped = sum(outcome.reasons.values())
    run.skip_reasons = dict(sorted(outcome.reasons.items()))
    run.status, run.finished_at = RunStatus.DONE, timezone.now()
    run.save(update_fields=["issued", "skipped", "skip_reasons", "status", "finished_at"])
    if run.issued or run.skipped:
        record_audit(actor=Actor.system("calendar"), action="campaign.calendar_run", target=campaign,
                     after={"run": run.pk, "kind": run.kind, "issued": run.issued, "skip_reasons": run.skip_reasons})
    return run


def _unique_texts(config: CodeConfig, count: int) -> list[str]:
    """`count` fresh code texts, none already stored; the unique constraint still has the last word."""
    texts = list(dict.fromkeys(draw_codes(config, count)))
    for _attempt in range(5):
        taken = set()
        for start in range(0, len(texts), BATCH):
            taken.update(Code.objects.filter(code__in=texts[start:start + BATCH]).values_list("code", flat=True))
        texts = [text for text in texts if text not in taken]
        if len(texts) == count:
            return texts
        texts = list(dict.fromkeys(texts + draw_codes(config, count - len(texts))))
    raise RuntimeError("Could not draw enough unique codes: the code space is nearly full.")


def _issue(campaign: Campaign, run: CampaignRun, to_issue: list[tuple[int, int, str]], template, now: datetime,
           outcome: _Outcome) -> None:
    texts = _unique_texts(CodeConfig.for_campaign(campaign), len(to_issue))
    expires_at = code_expiry(campaign, now)
    discount_text = describe_discount(campaign)
    recipients = [
        Recipient(customer=Customer(pk=customer_id), occasion_key=f"campaign:{campaign.pk}:{occasion}",
                  context={"code": text, "discount_text": discount_text,
                           "expires_at": expires_at.date() if expires_at else None})
        for (_, customer_id, occasion), text in zip(to_issue, texts, strict=True)
    ]
    deliveries = queue_messages(recipients=recipients, channel=template.channel, template=template,
                                kind=MessageKind.MARKETING, now=now)
    codes, links = [], []
    is_gift_card = campaign.discount_type == DiscountType.GIFT_CARD
    for (send_pk, customer_id, _), text, delivery in zip(to_issue, texts, deliveries, strict=True):
        send = CalendarSend(pk=send_pk, delivery_id=delivery.pk, status=SendStatus.ISSUED, skip_reason="")
        if delivery.status == DeliveryStatus.SKIPPED:
            # Linked all the same: the delivery log and the customer panel show why nothing went out.
            send.status, send.skip_reason = SendStatus.SKIPPED, str(delivery.skip_reason)
            outcome.reasons[send.skip_reason] += 1
            links.append((send, None))
            continue
        code = Code(code=text, campaign=campaign, customer_id=customer_id, source=CodeSource.CALENDAR,
                    issued_at=now, expires_at=expires_at, max_uses=campaign.max_uses_per_code,
                    balance=campaign.gift_card_balance if is_gift_card else None)
        codes.append(code)
        links.append((send, code))
    Code.objects.bulk_create(codes, batch_size=BATCH)
    sends = []
    for send, code in links:
        send.code_id = code.pk if code is not None else None
        sends.append(send)
    _record_outcomes(sends)
    if codes:
        Campaign.objects.filter(pk=campaign.pk).update(codes_issued=F("codes_issued") + len(codes))
        # API.md's code.issued, as issue_code sends it, recorded in this transaction.
        source_ids = _source_ids(codes)
        emit_webhooks(type="code.issued", now=now, items=[{
            "code": code.code, "campaign": campaign.slug, "customer": source_ids.get(code.customer_id),
            "source": CodeSource.CALENDAR, "expires_at": code.expires_at, "is_automatic": False,
        } for code in codes])
        transaction.on_commit(lambda: [code_issued.send(sender=Code, code=code) for code in codes])
    outcome.issued = len(codes)


def _source_ids(codes: list[Code]) -> dict[int, str]:
    found: dict[int, str] = {}
    ids = [code.customer_id for code in codes]
    for start in range(0, len(ids), BATCH):
        found.update(Customer.objects.filter(pk__in=ids[start:start + BATCH]).values_list("pk", "source_id"))
    return found


def _record_outcomes(sends: list[CalendarSend]) -> None:
    """Write each claimed row's code, delivery, status and skip reason. PostgreSQL: one UPDATE ... FROM
    (VALUES ...) per batch, since bulk_update's CASE WHEN per row took seconds for a few thousand rows."""
    fields = ["code", "delivery", "status", "skip_reason"]
    if connection.vendor != "postgresql":
        CalendarSend.objects.bulk_update(sends, fields, batch_size=BATCH)
        return
    table = CalendarSend._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(sends), BATCH):
            batch = sends[start:start + BATCH]
            values = ", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::varchar, %s::varchar)"] * len(batch))
            parameters = [value for send in batch
                          for value in (send.pk, send.code_id, send.delivery_id, send.status, send.skip_reason)]
            cursor.execute(
                f"UPDATE {table} AS send SET code_id = v.code_id, delivery_id = v.delivery_id, "  # noqa: S608
                f"status = v.status, skip_reason = v.skip_reason "
                f"FROM (VALUES {values}) AS v(id, code_id, delivery_id, status, skip_reason) WHERE send.id = v.id",
                parameters)


# --- Preview and dry run -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    date: date | None
    recipients: list[Customer]  # the first few who would really receive it
    receiving: int
    skip_reasons: dict[str, int]
    blocked: str = ""  # why the campaign cannot issue at all ("campaign_paused"...), else ""

    @property
    def skipped(self) -> int:
        return sum(self.skip_reasons.values())

    @property
    def reason_lines(self) -> list[tuple[str, int]]:
        return [(SkipReason.LABELS.get(reason, reason), count) for reason, count in self.skip_reasons.items()]


def preview_calendar_campaign(campaign: Campaign, on_date: date | None = None, *, now: datetime | None = None,
                              limit: int = 50) -> Preview:
    """Who would really receive the campaign on `on_date` (default: today in each customer's zone).

    Counts only real recipients: after segment, rules, caps, hold-out, already sent, consent and frequency
    cap; the others are counted by reason. Writes nothing.
    """
    now = now or timezone.now()
    trigger = Trigger.of(campaign)
    if trigger is None or not trigger.is_scheduled:
        return Preview(on_date, [], 0, {})
    due = due_customers(campaign, trigger, now, respect_send_time=False, on_date=on_date, exclude_sent=False)
    reasons: dict[int, str] = {}
    sent = set()
    occasions = {occasion for _, occasion in due}
    ids = [pk for pk, _ in due]
    for start in range(0, len(ids), BATCH):
        sent.update(CalendarSend.objects.filter(campaign=campaign, occasion__in=occasions,
                                                customer_id__in=ids[start:start + BATCH])
                    .values_list("customer_id", flat=True))
    reasons.update(dict.fromkeys(sent, SkipReason.ALREADY_SENT))
    remaining = [pk for pk in ids if pk not in sent]
    reasons.update({pk: reason for pk, reason in rule_skips(campaign, remaining, now).items() if reason})
    remaining = [pk for pk in remaining if pk not in reasons]
    template = _template(campaign)
    if template is None:
        reasons.update(dict.fromkeys(remaining, SkipReason.NO_TEMPLATE))
    else:
        reasons.update({pk: reason for pk, reason in message_skips(remaining, template.channel, now).items() if reason})
    receiving = [pk for pk in remaining if pk not in reasons]
    sample = list(Customer.objects.filter(pk__in=receiving[:limit]).order_by("pk"))
    return Preview(on_date, sample, len(receiving), dict(sorted(Counter(reasons.values()).items())),
                   blocked=_blocked(campaign, now))


@transaction.atomic(durable=True)
def dry_run_calendar_campaign(*, campaign: Campaign, now: datetime | None = None) -> CampaignRun:
    """Record what a run now would do, for everyone whose occasion is today, without issuing or sending."""
    now = now or timezone.now()
    preview = preview_calendar_campaign(campaign, now=now, limit=0)
    return CampaignRun.objects.create(
        campaign=campaign, kind=RunKind.DRY_RUN, for_date=now.date(), started_at=now, finished_at=now,
        status=RunStatus.DONE, issued=preview.receiving, skipped=preview.skipped, skip_reasons=preview.skip_reasons)

"""Bulk generation of codes: a job row that a Celery task fills in batches and can resume after a crash.

Each batch is one transaction that inserts its codes and advances `job.generated` (and the campaign's
`codes_issued`) together, with the job row locked: a worker that dies mid-batch loses the whole batch and
the next run starts where the last committed batch ended, so the job ends with exactly `count` codes, no
duplicates and no gaps, even if two workers run the same job at once.

Inserting on PostgreSQL: COPY straight into the code table inside a savepoint. A collision with an existing
code (or within the batch) makes COPY fail as a whole; then that batch goes through a staging table and
`INSERT ... ON CONFLICT DO NOTHING`, whose row count says how many codes landed, and the missing ones are
drawn afresh. At 60 bits collisions are so rare that nearly every batch takes the COPY path, which keeps
generation close to a raw COPY. Elsewhere (SQLite) `bulk_create(ignore_conflicts=True)` plus a count.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.codes import CodeConfig, check_code_space, draw_codes
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignType, Code, CodeSource, DiscountType, GenerationJob
from campaigns.services.codes import code_expiry
from retention.actors import Actor
from retention.audit import record_audit
from retention.models import JobStatus

logger = logging.getLogger(__name__)

BATCH_SIZE = 100_000  # ~10 MB of COPY text per batch; fewer commits, memory stays ~110 MB
MAX_COUNT = 10_000_000
MAX_DRAW_ROUNDS = 20  # rounds of re-drawing collided codes in one batch before the space counts as full
COPY_COLUMNS = ("code", "campaign_id", "customer_id", "source", "generation_id", "issued_at", "expires_at",
                "max_uses", "uses_count", "balance", "is_disabled", "amount_override", "percent_override",
                "sku_limit", "is_automatic", "note")


@transaction.atomic(durable=True)
def start_generation(*, campaign: Campaign, count: int, actor: Actor) -> GenerationJob:
    """Queue the generation of `count` codes of `campaign`; a Celery task fills them after commit.

    Refuses (CampaignError) a public campaign, a count out of 1..10,000,000, and a code configuration whose
    space is too small for the campaign's codes plus `count` or weak and not confirmed.
    """
    from campaigns.tasks import generate_codes_task

    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.type == CampaignType.PUBLIC:
        raise CampaignError("A public campaign has one shared code; it generates no others.", code="public_campaign")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise CampaignError(f"Between 1 and {MAX_COUNT:,} codes.", code="invalid",
                            fields={"count": [f"Between 1 and {MAX_COUNT}."]})
    check_code_space(CodeConfig.for_campaign(campaign), campaign.codes_issued + count)
    job = GenerationJob.objects.create(campaign=campaign, count=count, created_by=actor.user)
    record_audit(actor=actor, action="generation.started", target=job, after={"campaign": campaign.slug,
                                                                              "count": count})
    transaction.on_commit(lambda: generate_codes_task.delay(job.pk))
    return job


def run_generation(*, job_id: int, batch_size: int = BATCH_SIZE) -> GenerationJob | None:
    """Fill job `job_id` up to its count, batch by batch; a done job (or an unknown one) is left alone.

    A queued, running (a crashed worker's) or failed job is claimed and resumed from `generated`. An error
    marks the job failed with its message and is raised again.
    """
    claimed = GenerationJob.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED],
    ).update(status=JobStatus.RUNNING, failure="", started_at=Coalesce(F("started_at"), Value(timezone.now())))
    if not claimed:
        return GenerationJob.objects.filter(pk=job_id).first()
    try:
        while _generate_batch(job_id=job_id, batch_size=batch_size):
            pass
    except Exception as error:
        logger.exception("Generation job %s failed", job_id)
        GenerationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, failure=str(error)[:2000], finished_at=timezone.now())
        raise
    finished = GenerationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, generated=F("count")).update(
        status=JobStatus.DONE, finished_at=timezone.now())
    job = GenerationJob.objects.select_related("campaign").get(pk=job_id)
    if finished:
        with transaction.atomic():
            record_audit(actor=Actor.system("generation"), action="generation.done", target=job,
                         after={"campaign": job.campaign.slug, "generated": job.generated})
    return job


@transaction.atomic(durable=True)
def _generate_batch(*, job_id: int, batch_size: int) -> bool:
    """Insert the next batch; False when the job is complete (or no longer ours to run)."""
    job = GenerationJob.objects.select_for_update().select_related("campaign").get(pk=job_id)
    wanted = min(batch_size, job.count - job.generated)
    if wanted <= 0 or job.status != JobStatus.RUNNING:
        return False
    campaign = job.campaign
    config = CodeConfig.for_campaign(campaign)
    now = timezone.now()
    inserted = 0
    for _round in range(MAX_DRAW_ROUNDS):
        inserted += insert_codes(job=job, campaign=campaign, texts=draw_codes(config, wanted - inserted), now=now)
        if inserted == wanted:
            break
    else:
        raise CampaignError("Too many collisions: the code space of this campaign is nearly full.",
                            code="code_space_exhausted")
    GenerationJob.objects.filter(pk=job.pk).update(generated=F("generated") + inserted)
    Campaign.objects.filter(pk=campaign.pk).update(codes_issued=F("codes_issued") + inserted)
    return job.generated + inserted < job.count


def insert_codes(*, job: GenerationJob, campaign: Campaign, texts: list[str], now: datetime) -> int:
    """Insert `texts` as unassigned codes of the job; returns how many landed (collisions are skipped)."""
    values = _row_values(job, campaign, now)
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                _copy(texts, values)
            return len(texts)
        except IntegrityError:
            return _insert_ignoring_collisions(texts, values)
    before = Code.objects.filter(generation=job).count()
    Code.objects.bulk_create([Code(code=text, **values) for text in texts], ignore_conflicts=True,
                             batch_size=5000)
    return Code.objects.filter(generation=job).count() - before


def _row_values(job: GenerationJob, campaign: Campaign, now: datetime) -> dict:
    return {
        "campaign_id": campaign.pk, "customer_id": None, "source": CodeSource.BULK.value, "generation_id": job.pk,
        "issued_at": now, "expires_at": code_expiry(campaign, now), "max_uses": campaign.max_uses_per_code,
        "uses_count": 0,
        "balance": campaign.gift_card_balance if campaign.discount_type == DiscountType.GIFT_CARD else None,
        "is_disabled": False, "amount_override": None, "percent_override": None, "sku_limit": "",
        "is_automatic": False, "note": "",
    }


def _copy_field(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _copy_text(texts: list[str], suffix: str) -> str:
    # No escaping needed: campaigns.codes.config_errors allows no backslash, tab or newline in a code.
    return (suffix + "\n").join(texts) + suffix + "\n"


def _copy(texts: list[str], values: dict) -> None:
    suffix = "\t" + "\t".join(_copy_field(values[name]) for name in COPY_COLUMNS[1:])
    table = connection.ops.quote_name(Code._meta.db_table)
    # wrap_database_errors turns psycopg's UniqueViolation into Django's IntegrityError, as execute() does.
    statement = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(statement) as copy:
        copy.write(_copy_text(texts, suffix))


def _insert_ignoring_collisions(texts: list[str], values: dict) -> int:
    table = connection.ops.quote_name(Code._meta.db_table)
    columns = ", ".join(COPY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS campaigns_code_staging (code varchar(64)) ON COMMIT DROP")
        cursor.execute("TRUNCATE campaigns_code_staging")
        with cursor.copy("COPY campaigns_code_staging (code) FROM STDIN") as copy:
            copy.write(_copy_text(texts, ""))
        placeholders = ", ".join(["%s"] * (len(COPY_COLUMNS) - 1))
        # The table and columns are ours; the values are parameters.
        statement = (f"INSERT INTO {table} ({columns}) SELECT code, {placeholders} "  # noqa: S608
                     "FROM campaigns_code_staging ON CONFLICT (code) DO NOTHING")
        cursor.execute(statement, [values[name] for name in COPY_COLUMNS[1:]])
        return cursor.rowcount

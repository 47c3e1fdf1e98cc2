"""Bulk generation of codes: a job row that a Celery task fills in batches and can resume after a crash.

Each batch is one transaction that inserts its codes and advances `job.generated` (and the campaign's
`codes_issued`) together. The advance is a conditional UPDATE (`generated + n <= count`, job still running)
as the batch's last statement: a batch that would overshoot the count (another worker ran the same job at
once) or whose job stopped is rolled back whole. A worker that dies mid-batch loses the whole batch and the
next run starts where the last committed batch ended, so the job ends with exactly `count` codes, no
duplicates and no gaps.

On PostgreSQL the batches run on WORKERS connections at once (one thread each): the time is PostgreSQL's
(index upkeep and the foreign-key checks of each row), and one COPY keeps one server core busy, so a second
connection uses the second core while Python draws the next batch. The job row is locked only by that last
UPDATE, after the foreign keys were checked (SET CONSTRAINTS ALL IMMEDIATE), so batches overlap almost
entirely. Small code spaces (under PARALLEL_MIN_BITS) run on one connection: there, concurrent batches
would often draw the same codes and wait on each other's unique-index entries.

Inserting on PostgreSQL: COPY straight into the code table inside a savepoint, codes sorted so that the
unique index is filled in key order (about a quarter less server CPU than random order). A collision with
an existing code (or within the batch) makes COPY fail as a whole; then that batch goes through a staging
table and `INSERT ... ON CONFLICT DO NOTHING`, whose row count says how many codes landed, and the missing
ones are drawn afresh. At 60 bits collisions are so rare that nearly every batch takes the COPY path, which
keeps generation close to a raw COPY. Elsewhere (SQLite) `bulk_create(ignore_conflicts=True)` plus a count,
on one connection.
"""

import logging
import queue
import threading
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.codes import CodeConfig, check_code_space, code_space_bits, draw_codes
from campaigns.errors import CampaignError
from campaigns.models import Campaign, CampaignType, Code, CodeSource, DiscountType, GenerationJob
from campaigns.services.codes import code_expiry
from retention.actors import Actor
from retention.audit import record_audit
from retention.models import JobStatus

logger = logging.getLogger(__name__)

BATCH_SIZE = 100_000  # ~10 MB of COPY text per batch (one per worker in flight); fewer commits
MAX_COUNT = 10_000_000
WORKERS = 2  # connections COPYing at once on PostgreSQL, each keeping one server core busy
PARALLEL_MIN_BITS = 50  # below, parallel batches would collide often enough to wait on each other
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


def run_generation(*, job_id: int, batch_size: int = BATCH_SIZE, workers: int = WORKERS) -> GenerationJob | None:
    """Fill job `job_id` up to its count, batch by batch; a done job (or an unknown one) is left alone.

    A queued, running (a crashed worker's, or one running elsewhere) or failed job is claimed and resumed
    from `generated`. An error marks the job failed with its message and is raised again.
    """
    claimed = GenerationJob.objects.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED],
    ).update(status=JobStatus.RUNNING, failure="", started_at=Coalesce(F("started_at"), Value(timezone.now())))
    if not claimed:
        return GenerationJob.objects.filter(pk=job_id).first()
    try:
        _fill(job_id=job_id, batch_size=batch_size, workers=workers)
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


def _fill(*, job_id: int, batch_size: int, workers: int) -> None:
    """Rounds of batches until the job holds `count` codes (or is no longer running).

    A round splits what is missing into batches that WORKERS threads take from a queue. A batch refused by
    the conditional advance (another run of the job got there first) ends the round; the next round reads
    the job again.
    """
    while True:
        job = GenerationJob.objects.select_related("campaign").get(pk=job_id)
        missing = job.count - job.generated
        if missing <= 0 or job.status != JobStatus.RUNNING:
            return
        batches: queue.SimpleQueue[int] = queue.SimpleQueue()
        for start in range(0, missing, batch_size):
            batches.put(min(batch_size, missing - start))
        parallel = (connection.vendor == "postgresql"
                    and code_space_bits(CodeConfig.for_campaign(job.campaign)) >= PARALLEL_MIN_BITS)
        threads = min(workers, -(-missing // batch_size)) if parallel else 1
        if threads == 1:
            _take_batches(job_id, batches, threading.Event())
            continue
        _run_threads(job_id, batches, threads)


def _run_threads(job_id: int, batches: "queue.SimpleQueue[int]", threads: int) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            _take_batches(job_id, batches, stop)
        except BaseException as error:  # handed to the calling thread, which marks the job failed
            errors.append(error)
            stop.set()
        finally:
            connection.close()  # this thread's own connection

    pool = [threading.Thread(target=work, name=f"generation-{job_id}-{number}") for number in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


def _take_batches(job_id: int, batches: "queue.SimpleQueue[int]", stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            wanted = batches.get_nowait()
        except queue.Empty:
            return
        if not _generate_batch(job_id=job_id, wanted=wanted):
            stop.set()  # refused: the round ends and the job is read again


@transaction.atomic(durable=True)
def _generate_batch(*, job_id: int, wanted: int) -> bool:
    """Insert `wanted` codes and advance the job by as many; False (nothing kept) if the job refused them."""
    job = GenerationJob.objects.select_related("campaign").get(pk=job_id)
    if job.status != JobStatus.RUNNING or job.generated + wanted > job.count:
        return False  # a cheap early look; the conditional UPDATE below is the guard
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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The deferred foreign-key checks of the batch's rows run now, before the job row is locked, so a
            # parallel batch waits for that lock only as long as this commit takes.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    advanced = GenerationJob.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, generated__lte=F("count") - inserted,
    ).update(generated=F("generated") + inserted)
    if not advanced:
        transaction.set_rollback(True)
        return False
    Campaign.objects.filter(pk=campaign.pk).update(codes_issued=F("codes_issued") + inserted)
    return True


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
        # In key order: each row's unique-index entry lands next to the previous one's, in cached pages.
        copy.write(_copy_text(sorted(texts), suffix))


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

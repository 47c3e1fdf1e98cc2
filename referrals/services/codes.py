"""Referral codes: one per (program, customer), readable like ANNA-7KQ2, created on first ask or in bulk."""

import secrets
import unicodedata
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.errors import ReferralError, ReferralReason
from referrals.models import CodeJob, Referral, ReferralCode, ReferralProgram
from retention.actors import Actor
from retention.audit import record_audit
from retention.models import Customer, JobStatus, Segment
from retention.segments import customers_in, is_member

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
NAME_LENGTH = 8
SUFFIX_LENGTH = 4
ATTEMPTS = 6
JOB_BATCH = 500


def _name_part(customer: Customer) -> str:
    ascii_name = unicodedata.normalize("NFKD", customer.first_name or "").encode("ascii", "ignore").decode()
    letters = "".join(character for character in ascii_name.upper() if character.isalpha())
    return letters[:NAME_LENGTH] or "FRIEND"


def draw_referral_code(customer: Customer, suffix_length: int = SUFFIX_LENGTH) -> str:
    return f"{_name_part(customer)}-" + "".join(secrets.choice(ALPHABET) for _ in range(suffix_length))


def ensure_code(program: ReferralProgram, customer: Customer, now: datetime) -> tuple[ReferralCode, bool]:
    """The customer's code in `program`, created when missing. Not durable: inside the caller's transaction.

    The unique constraints settle races and collisions: a lost race returns the winner's row, a taken
    code draws again (longer after a few tries, so a crowded name never loops forever)."""
    existing = ReferralCode.objects.filter(program=program, customer=customer).first()
    if existing is not None:
        return existing, False
    for attempt in range(ATTEMPTS):
        text = draw_referral_code(customer, SUFFIX_LENGTH + attempt // 2)
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(program=program, customer=customer, code=text, created_at=now), True
        except IntegrityError:
            existing = ReferralCode.objects.filter(program=program, customer=customer).first()
            if existing is not None:
                return existing, False
    raise RuntimeError("Could not draw a free referral code.")


def eligibility_refusal(program: ReferralProgram, customer: Customer) -> ReferralError | None:
    if not program.is_enabled:
        return ReferralError(ReferralReason.PROGRAM_INACTIVE)
    if customer.is_erased:
        return ReferralError(ReferralReason.NOT_ELIGIBLE, "This customer's data was erased.")
    if program.segment_id and not is_member(customer, program.segment):
        return ReferralError(ReferralReason.NOT_ELIGIBLE,
                             f"Only members of the segment {program.segment.name!r} may refer.")
    return None


@transaction.atomic(durable=True)
def get_or_create_referral_code(*, program: ReferralProgram, customer: Customer, actor: Actor,
                                now: datetime | None = None) -> ReferralCode:
    """The customer's referral code, created on first ask. An existing code is returned even when the
    program is off; a new one needs an enabled program and an eligible customer (ReferralError)."""
    existing = ReferralCode.objects.filter(program=program, customer=customer).first()
    if existing is not None:
        return existing
    refusal = eligibility_refusal(program, customer)
    if refusal is not None:
        raise refusal
    code, created = ensure_code(program, customer, now or timezone.now())
    if created:
        record_audit(actor=actor, action="referral.code_created", target=code,
                     after={"program": program.pk, "customer": customer.source_id, "code": code.code})
    return code


@transaction.atomic(durable=True)
def start_code_job(*, program: ReferralProgram, segment: Segment, actor: Actor) -> CodeJob:
    """Queue codes for every member of `segment`; the job runs after commit and reports its progress."""
    from referrals.tasks import run_code_job_task

    job = CodeJob.objects.create(program=program, segment=segment, total=customers_in(segment).count())
    record_audit(actor=actor, action="referral.code_job_started", target=job,
                 after={"program": program.pk, "segment": segment.slug, "total": job.total})
    transaction.on_commit(lambda: run_code_job_task.delay(job.pk))
    return job


def run_code_job(*, job_id: int, batch_size: int = JOB_BATCH) -> CodeJob | None:
    """Fill the job batch by batch, each batch its own transaction; a rerun resumes after the last
    customer done (and a finished job is left alone), so running it twice creates nothing twice."""
    claimed = CodeJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING)
    if not claimed:
        return CodeJob.objects.filter(pk=job_id).first()
    while _code_batch(job_id=job_id, batch_size=batch_size):
        pass
    return CodeJob.objects.get(pk=job_id)


@transaction.atomic(durable=True)
def _code_batch(*, job_id: int, batch_size: int) -> bool:
    job = CodeJob.objects.select_for_update().select_related("program", "segment").get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return False
    now = timezone.now()
    customers = list(customers_in(job.segment).filter(pk__gt=job.last_customer_id).order_by("pk")[:batch_size])
    if not customers:
        CodeJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=now)
        return False
    have = set(ReferralCode.objects.filter(program=job.program, customer__in=customers)
               .values_list("customer_id", flat=True))
    created = 0
    for customer in customers:
        if customer.pk not in have:
            created += ensure_code(job.program, customer, now)[1]
    CodeJob.objects.filter(pk=job.pk).update(last_customer_id=customers[-1].pk, created=job.created + created)
    return True


@transaction.atomic(durable=True)
def erase_referral_data(*, customer_id: int, actor: Actor) -> int:
    """GDPR erasure: a code spells its owner's first name, so each becomes FRIEND-xxxx (the old links no
    longer resolve), and the IP address and device of their sign-up are cleared. Referrals and rewards
    are kept, like ledgers. Returns the number of codes renamed."""
    cleared = Referral.objects.filter(friend_id=customer_id).update(ip_address=None, device_id="")
    changed = 0
    for code in ReferralCode.objects.select_for_update().filter(customer_id=customer_id):
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    ReferralCode.objects.filter(pk=code.pk).update(
                        code="FRIEND-" + "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LENGTH + 2 + attempt)))
                break
            except IntegrityError:
                continue
        changed += 1
    if changed or cleared:
        record_audit(actor=actor, action="referral.data_erased", object_type="retention.customer",
                     object_id=str(customer_id), after={"codes_renamed": changed, "referrals_cleared": cleared})
    return changed

"""Customer CSV import: the header is checked on upload, the rows are upserted later in resumable batches.

Rules of a row (docs/operations.md has the marketer's version):
- `source_id` identifies the customer; a known one is updated, an unknown one created.
- An empty cell keeps the current value (a new customer gets a blank), so an import never erases data.
- `tags` (separated by `|`) are added; an import never removes a tag.
- `email_marketing` / `sms_marketing` append a ConsentRecord (source "import") only when the state
  changes. An address on the suppression list never receives marketing consent from an import.
- A bad row is reported with its line, field and reason, and skipped; the good rows still import.
- No `customer_created` signal per row: a 100k-row import would fan out 100k receivers. Calendar and
  welcome logic read the data instead.
"""

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from retention.actors import Actor
from retention.audit import record_audit
from retention.emails import email_hash, normalise_email
from retention.errors import InvalidInput
from retention.models import (
    ConsentRecord,
    ConsentSource,
    Customer,
    CustomerImport,
    EmailSuppression,
    JobStatus,
    Tag,
)

logger = logging.getLogger(__name__)

COLUMNS = (
    "source_id", "email", "first_name", "last_name", "phone", "birthday", "country", "locale",
    "timezone", "signed_up_at", "tags", "email_marketing", "sms_marketing",
)
# Import column -> the Customer flag kept in step with the latest consent record.
CONSENT_COLUMNS = {"email_marketing": "email_marketing_consent", "sms_marketing": "sms_marketing_consent"}
# Columns copied onto a Customer field of the same name.
PLAIN_COLUMNS = (
    "email", "first_name", "last_name", "phone", "birthday", "country", "locale", "timezone", "signed_up_at",
)
TAG_SEPARATOR = "|"
# Stored bad rows are capped: rewriting an ever-growing JSON list after each batch would be quadratic.
MAX_REPORTED_ERRORS = 1000

# ISO 3166-1 alpha-2, the officially assigned codes.
_ISO_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
    FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
    IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
    PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
    YT ZA ZM ZW
"""
ISO_COUNTRIES = frozenset(_ISO_COUNTRY_CODES.split())
TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,40}")


class ImportRejected(InvalidInput):
    """The file cannot be imported at all (missing or wrong header); nothing was stored."""

    code = "import_rejected"


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


# Cell parsers: take the stripped, non-empty text of a cell; return the value or raise ValueError(reason).
def _text(max_length: int):
    def parse(text: str) -> str:
        if len(text) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return text

    return parse


def _email(text: str) -> str:
    email = normalise_email(text)
    if len(email) > 254:
        raise ValueError("longer than 254 characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("not a valid email address")
    return email


def _phone(text: str) -> str:
    if not _PHONE.fullmatch(text):
        raise ValueError("not a phone number (digits, spaces, + ( ) . / - only)")
    return text


def _birthday(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError("not a date in the form YYYY-MM-DD")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError("not a calendar date")
    if value.year < 1900 or value > timezone.now().date():
        raise ValueError("not a plausible birthday")
    return value


def _country(text: str) -> str:
    code = text.upper()
    if code not in ISO_COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


def _locale(text: str) -> str:
    if len(text) > 20 or not _LOCALE.fullmatch(text):
        raise ValueError("not a locale such as de-DE")
    return text


def _timezone(text: str) -> str:
    if text not in _time_zones():
        raise ValueError("not an IANA time zone such as Europe/Berlin")
    return text


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO 8601 date-time")
    # A time without offset is read as UTC, the zone everything is stored in.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tags(text: str) -> list[str]:
    names = [name.strip() for name in text.split(TAG_SEPARATOR)]
    names = [name for name in names if name]
    for name in names:
        if len(name) > 100:
            raise ValueError("a tag is longer than 100 characters")
    return list(dict.fromkeys(names))


def _flag(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not one of true/false/yes/no/1/0")


PARSERS = {
    "source_id": _text(255),
    "email": _email,
    "first_name": _text(150),
    "last_name": _text(150),
    "phone": _phone,
    "birthday": _birthday,
    "country": _country,
    "locale": _locale,
    "timezone": _timezone,
    "signed_up_at": _datetime,
    "tags": _tags,
    "email_marketing": _flag,
    "sms_marketing": _flag,
}


def header_problems(header: list[str]) -> list[str]:
    """What is wrong with a header row; empty when every column is known, unique, and source_id is there."""
    problems = []
    unknown = [name for name in header if name not in PARSERS]
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(name) for name in unknown))
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        problems.append("repeated columns: " + ", ".join(duplicates))
    if "source_id" not in header:
        problems.append("missing required column: source_id")
    return problems


def _records(content: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for every non-blank record, the header first."""
    reader = csv.reader(io.StringIO(content))
    next_line = 1
    for cells in reader:
        line = next_line
        next_line = reader.line_num + 1
        if any(cell.strip() for cell in cells):
            yield line, cells


def _read_header(content: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    records = _records(content.removeprefix("\ufeff"))  # a spreadsheet's byte-order mark
    try:
        _line, header = next(records)
    except StopIteration:
        raise ImportRejected("The file is empty: the first line must name the columns.")
    except csv.Error as error:
        raise ImportRejected(f"The file is not readable as CSV: {error}")
    header = [name.strip() for name in header]
    problems = header_problems(header)
    if problems:
        raise ImportRejected(
            "Nothing was imported. Wrong header: " + "; ".join(problems)
            + ". Known columns: " + ", ".join(COLUMNS) + "."
        )
    return header, records


@transaction.atomic(durable=True)
def create_customer_import(*, file_name: str, content: str, actor: Actor) -> CustomerImport:
    """Store an import job and enqueue it after commit.

    Raises ImportRejected (nothing stored) when the header is missing or names unknown columns.
    """
    from retention.tasks import run_customer_import_task  # tasks import services: keep the cycle lazy

    _header, records = _read_header(content)
    try:
        total = sum(1 for _ in records)
    except csv.Error as error:
        raise ImportRejected(f"The file is not readable as CSV: {error}")
    job = CustomerImport.objects.create(
        file_name=file_name[:255], content=content, total_rows=total, created_by=actor.user,
    )
    record_audit(
        actor=actor, action="customers.import_started", target=job,
        after={"file_name": job.file_name, "total_rows": total},
    )
    transaction.on_commit(lambda: run_customer_import_task.delay(job.pk))
    return job


class _Superseded(Exception):
    """Another run of the same job committed this batch first; this run stops."""


def run_customer_import(*, import_id: int) -> None:
    """Process the rows of an import in batches, resuming after the last committed batch.

    Safe to run twice: a finished job is left alone, and each batch claims its slice with a
    conditional update of `processed_rows`, so a batch is applied once even by two workers at once.
    """
    CustomerImport.objects.filter(pk=import_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING)
    job = CustomerImport.objects.filter(pk=import_id, status=JobStatus.RUNNING).first()
    if job is None:
        return  # done, failed or unknown: nothing to do
    try:
        _run(job)
    except _Superseded:
        logger.info("Customer import %s: another worker is ahead, this run stops", import_id)
    except Exception as error:
        logger.exception("Customer import %s failed", import_id)
        _fail(job, reason=f"{type(error).__name__}: {error}")


def _run(job: CustomerImport) -> None:
    try:
        header, records = _read_header(job.content)
    except ImportRejected as error:
        _fail(job, reason=error.message)
        return
    batch_size = settings.RETENTION["IMPORT_BATCH_SIZE"]
    source_index = header.index("source_id")
    first_lines: dict[str, int] = {}  # source_id -> line of its first record, for duplicate rows
    position = 0
    batch: list[tuple[int, list[str]]] = []
    for line, cells in records:
        if position < job.processed_rows:
            # A finished batch: only remember its source ids, so duplicates stay duplicates on resume.
            source_id = cells[source_index].strip() if len(cells) == len(header) else ""
            if source_id:
                first_lines.setdefault(source_id, line)
            position += 1
            continue
        batch.append((line, cells))
        position += 1
        if len(batch) == batch_size:
            _import_batch(job, header, batch, first_lines)
            batch = []
    if batch:
        _import_batch(job, header, batch, first_lines)
    _finish(job)


def _parse(header: list[str], line: int, cells: list[str], first_lines: dict[str, int]):
    """(values of the non-empty cells, [error dicts]) for one record."""
    if len(cells) != len(header):
        return None, [{"line": line, "field": "row", "message": f"expected {len(header)} values, found {len(cells)}"}]
    values, errors = {}, []
    for name, cell in zip(header, cells, strict=True):
        text = cell.strip()
        if not text:
            continue
        try:
            values[name] = PARSERS[name](text)
        except ValueError as error:
            errors.append({"line": line, "field": name, "message": f"{error}: {text[:60]!r}"})
    source_id = values.get("source_id", "")
    if not source_id and not any(error["field"] == "source_id" for error in errors):
        errors.append({"line": line, "field": "source_id", "message": "required"})
    elif source_id in first_lines:
        errors.append({
            "line": line, "field": "source_id",
            "message": f"{source_id!r} already appears on line {first_lines[source_id]}; row skipped",
        })
    else:
        first_lines[source_id] = line
    return values, errors


def _import_batch(job: CustomerImport, header: list[str], batch, first_lines: dict[str, int]) -> None:
    start = job.processed_rows
    now = timezone.now()
    with transaction.atomic(durable=True):
        # The claim comes first: a second worker waits on this row lock, then finds nothing to claim.
        claimed = CustomerImport.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, processed_rows=start,
        ).update(processed_rows=start + len(batch))
        if not claimed:
            raise _Superseded

        errors, rows = [], []
        for line, cells in batch:
            values, row_errors = _parse(header, line, cells, first_lines)
            errors.extend(row_errors)
            if not row_errors:
                rows.append((line, values))
        created, updated, more_errors = _upsert(header, rows, now)
        errors.extend(more_errors)
        errors.sort(key=lambda error: error["line"])

        job.errors = _merge_errors(job.errors, errors)
        CustomerImport.objects.filter(pk=job.pk).update(
            created_count=F("created_count") + created,
            updated_count=F("updated_count") + updated,
            errors=job.errors,
        )
    job.processed_rows = start + len(batch)
    job.created_count += created
    job.updated_count += updated


def _upsert(header: list[str], rows: list[tuple[int, dict]], now: datetime) -> tuple[int, int, list[dict]]:
    """Write the valid rows of a batch; return (created, updated, errors found against stored data)."""
    if not rows:
        return 0, 0, []
    plain = [name for name in PLAIN_COLUMNS if name in header]
    consents = [name for name in CONSENT_COLUMNS if name in header]
    fields = plain + (["birthday_month", "birthday_day"] if "birthday" in header else [])
    fields += [CONSENT_COLUMNS[name] for name in consents]

    existing = {
        row["source_id"]: row
        for row in Customer.objects.filter(source_id__in=[values["source_id"] for _line, values in rows])
        .values("id", "source_id", "erased_at", *{"email", *fields})
    }
    suppressed = set()
    if consents:
        hashes = {
            email_hash(values.get("email") or (existing.get(values["source_id"]) or {}).get("email") or "")
            for _line, values in rows
        }
        suppressed = set(EmailSuppression.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True))

    errors, customers, tags_by_source, consent_changes = [], [], {}, []
    created = updated = 0
    for line, values in rows:
        source_id = values["source_id"]
        stored = existing.get(source_id)
        if stored and stored["erased_at"]:
            errors.append({"line": line, "field": "source_id", "message": "this customer was erased; row skipped"})
            continue
        data = {name: stored[name] for name in fields} if stored else {}
        for name in plain:
            if name in values:
                data[name] = values[name]
        if "birthday" in values:
            data["birthday_month"], data["birthday_day"] = values["birthday"].month, values["birthday"].day
        email = values.get("email") or (stored["email"] if stored else "")
        is_suppressed = email_hash(email) in suppressed
        for column in consents:
            flag = CONSENT_COLUMNS[column]
            current = data.get(flag, False)
            wanted = values.get(column, current)
            if wanted and not current and is_suppressed:
                errors.append({
                    "line": line, "field": column,
                    "message": "address is on the suppression list: consent not granted (rest of the row imported)",
                })
                wanted = False
            if wanted != current:
                consent_changes.append((source_id, column, wanted))
            data[flag] = wanted
        customers.append(Customer(source_id=source_id, **data))
        if values.get("tags"):
            tags_by_source[source_id] = values["tags"]
        if stored:
            updated += 1
        else:
            created += 1

    if customers:
        Customer.objects.bulk_create(
            customers, update_conflicts=True, unique_fields=["source_id"], update_fields=[*fields, "updated_at"],
        )
    if tags_by_source or consent_changes:
        ids = _customer_ids(customers, existing)
        _add_tags(tags_by_source, ids)
        ConsentRecord.objects.bulk_create([
            ConsentRecord(customer_id=ids[source_id], channel=channel, granted=granted,
                          source=ConsentSource.IMPORT, recorded_at=now)
            for source_id, channel, granted in consent_changes
        ])
    return created, updated, errors


def _customer_ids(customers: list[Customer], existing: dict[str, dict]) -> dict[str, int]:
    ids = {customer.source_id: customer.pk for customer in customers if customer.pk}
    ids.update({source_id: row["id"] for source_id, row in existing.items()})
    missing = [customer.source_id for customer in customers if customer.source_id not in ids]
    if missing:  # a database that does not return ids from an upsert
        ids.update(Customer.objects.filter(source_id__in=missing).values_list("source_id", "id"))
    return ids


def _add_tags(tags_by_source: dict[str, list[str]], ids: dict[str, int]) -> None:
    if not tags_by_source:
        return
    names = {name for names in tags_by_source.values() for name in names}
    tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
    missing = names - tag_ids.keys()
    if missing:
        Tag.objects.bulk_create([Tag(name=name) for name in sorted(missing)], ignore_conflicts=True)
        tag_ids.update(Tag.objects.filter(name__in=missing).values_list("name", "id"))
    through = Customer.tags.through
    through.objects.bulk_create(
        [through(customer_id=ids[source_id], tag_id=tag_ids[name])
         for source_id, names in tags_by_source.items() for name in names],
        ignore_conflicts=True,
    )


def _merge_errors(stored: list[dict], new: list[dict]) -> list[dict]:
    """Append `new` to `stored`, keeping MAX_REPORTED_ERRORS rows and a last line that counts the rest."""
    listed = [error for error in stored if not error.get("omitted")]
    omitted = sum(error["omitted"] for error in stored if error.get("omitted"))
    room = MAX_REPORTED_ERRORS - len(listed)
    listed.extend(new[:room])
    omitted += len(new[room:])
    if omitted:
        listed.append({"line": None, "field": "", "message": f"{omitted} more problems not listed", "omitted": omitted})
    return listed


def _problem_count(errors: list[dict]) -> int:
    return sum(error.get("omitted", 1) for error in errors)


def _actor(job: CustomerImport) -> Actor:
    return Actor.for_user(job.created_by) if job.created_by else Actor.system("import")


def _finish(job: CustomerImport) -> None:
    with transaction.atomic(durable=True):
        finished = CustomerImport.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, processed_rows=job.processed_rows,
        ).update(status=JobStatus.DONE, finished_at=timezone.now())
        if finished:
            record_audit(
                actor=_actor(job), action="customers.import_finished", target=job,
                after={
                    "processed_rows": job.processed_rows, "created": job.created_count,
                    "updated": job.updated_count, "problems": _problem_count(job.errors),
                },
            )


def _fail(job: CustomerImport, *, reason: str) -> None:
    with transaction.atomic(durable=True):
        failed = CustomerImport.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, failure=reason[:2000], finished_at=timezone.now(),
        )
        if failed:
            record_audit(actor=_actor(job), action="customers.import_failed", target=job, after={"failure": reason})

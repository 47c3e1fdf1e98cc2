"""The customer CSV import service: validation, upsert, consent, suppression, resume, run twice."""

from datetime import UTC, date, datetime

import pytest
from django.test import override_settings

from retention.actors import Actor
from retention.emails import email_hash
from retention.models import (
    AuditEntry,
    ConsentRecord,
    Customer,
    CustomerImport,
    EmailSuppression,
    JobStatus,
    Tag,
)
from retention.services import imports
from retention.services.imports import ImportRejected, create_customer_import, run_customer_import
from retention.tasks import run_customer_import_task

pytestmark = pytest.mark.django_db

HEADER = (
    "source_id,email,first_name,last_name,birthday,country,timezone,signed_up_at,tags,email_marketing,sms_marketing"
)


def start_import(content: str, actor: Actor | None = None) -> CustomerImport:
    """Store the job without running it (the on_commit callback is not executed inside the test transaction)."""
    return create_customer_import(file_name="customers.csv", content=content, actor=actor or Actor.system("test"))


def import_now(content: str) -> CustomerImport:
    job = start_import(content)
    run_customer_import(import_id=job.pk)
    job.refresh_from_db()
    return job


def make_rows(count: int, start: int = 1) -> str:
    return "\n".join(f"c{n},c{n}@example.com,First{n},Last{n},,DE,,,,," for n in range(start, start + count))


def test_imports_new_and_updates_known_customers():
    # given one known customer
    Customer.objects.create(source_id="c1", email="old@example.com", first_name="Old", country="FR")
    content = "\n".join([
        HEADER,
        "c1,ANA@Example.com ,Ana,,,,,,,,",
        "c2,ben@example.com,Ben,Brown,1990-02-28,de,Europe/Berlin,2024-03-01T10:00:00+01:00,vip|newsletter,yes,0",
        "c3,,Cleo,,2000-02-29,AT,,,newsletter,,",
    ])
    # when the file is imported
    job = import_now(content)
    # then one was updated, two created, and the job is done
    assert (job.status, job.total_rows, job.processed_rows) == (JobStatus.DONE, 3, 3)
    assert (job.created_count, job.updated_count, job.errors) == (2, 1, [])
    ana = Customer.objects.get(source_id="c1")
    # an empty cell keeps the stored value
    assert (ana.email, ana.first_name, ana.last_name, ana.country) == ("ana@example.com", "Ana", "", "FR")
    ben = Customer.objects.get(source_id="c2")
    assert ben.birthday == date(1990, 2, 28)
    assert (ben.birthday_month, ben.birthday_day, ben.country, ben.timezone) == (2, 28, "DE", "Europe/Berlin")
    assert ben.signed_up_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert sorted(ben.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert (ben.email_marketing_consent, ben.sms_marketing_consent) == (True, False)
    cleo = Customer.objects.get(source_id="c3")
    assert (cleo.birthday_month, cleo.birthday_day) == (2, 29)
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["newsletter", "vip"]
    # only a change of state is a consent record: sms "0" for a new customer changes nothing
    assert list(ConsentRecord.objects.values_list("customer__source_id", "channel", "granted", "source")) == [
        ("c2", "email_marketing", True, "import"),
    ]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "customers.import_started", "customers.import_finished",
    ]


def test_consent_is_recorded_only_when_it_changes():
    # given a customer who already granted email marketing
    import_now(f"{HEADER}\nc1,a@example.com,,,,,,,,true,")
    # when a second file repeats the grant and withdraws it for another line's customer
    import_now(f"{HEADER}\nc1,,,,,,,,,true,\nc2,b@example.com,,,,,,,,,")
    import_now(f"{HEADER}\nc1,,,,,,,,,no,yes")
    # then: grant, (repeat: nothing), withdrawal + sms grant
    records = ConsentRecord.objects.order_by("id").values_list("channel", "granted")
    assert list(records) == [("email_marketing", True), ("email_marketing", False), ("sms_marketing", True)]
    customer = Customer.objects.get(source_id="c1")
    assert (customer.email_marketing_consent, customer.sms_marketing_consent) == (False, True)


def test_byte_order_mark_and_spaces_around_column_names_are_ignored():
    job = import_now("\ufeff source_id , email\nc1,a@example.com\n")
    assert (job.created_count, job.errors) == (1, [])


def test_tags_are_added_and_never_removed():
    import_now(f"{HEADER}\nc1,,,,,,,,vip,,")
    import_now(f"{HEADER}\nc1,,,,,,,, newsletter | vip ,,")
    assert sorted(Customer.objects.get(source_id="c1").tags.values_list("name", flat=True)) == ["newsletter", "vip"]


def test_bad_rows_are_reported_by_line_and_field_and_good_rows_import():
    content = "\n".join([
        HEADER,                                              # line 1
        "c1,a@example.com,,,,,,,,,",                         # 2 good
        "c2,not-an-email,,,1990-13-01,XX,Mars/Base,,,maybe,",  # 3 bad in five fields
        '"c3","multi',                                       # 4 quoted newline: a record of two lines
        'line@example.com",,,,,,,,,',                        # 5
        ",b@example.com,,,,,,,,,",                           # 6 no source_id
        "c4,c@example.com,,,,,,,,",                          # 7 one cell short
        "",                                                  # 8 blank: ignored
        "c1,d@example.com,,,,,,,,,",                         # 9 duplicate of line 2
        "c5,e@example.com,,,,,,yesterday,,,",                # 10 bad date-time
        "c6,f@example.com,,,,,,,,,",                         # 11 good
    ])
    job = import_now(content)
    assert (job.status, job.total_rows, job.processed_rows, job.created_count, job.updated_count) == (
        JobStatus.DONE, 8, 8, 2, 0,
    )
    assert [(error["line"], error["field"]) for error in job.errors] == [
        (3, "email"), (3, "birthday"), (3, "country"), (3, "timezone"), (3, "email_marketing"),
        (4, "email"),
        (6, "source_id"),
        (7, "row"),
        (9, "source_id"),
        (10, "signed_up_at"),
    ]
    assert job.errors[7]["message"] == "expected 11 values, found 10"
    assert job.errors[8]["message"] == "'c1' already appears on line 2; row skipped"
    assert sorted(Customer.objects.values_list("source_id", flat=True)) == ["c1", "c6"]
    assert Customer.objects.get(source_id="c1").email == "a@example.com"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ("email,first_name\na@example.com,Ann", "missing required column: source_id"),
        ("source_id,e-mail,nickname\nc1,a@example.com,Al", "unknown columns: 'e-mail', 'nickname'"),
        ("source_id,email,email\nc1,a@example.com,b@example.com", "repeated columns: email"),
    ],
)
def test_wrong_header_imports_nothing(content, message):
    # when a file with a wrong header is offered
    with pytest.raises(ImportRejected) as raised:
        start_import(content)
    # then it says why, and nothing was stored
    assert message in raised.value.message
    assert (CustomerImport.objects.count(), Customer.objects.count(), AuditEntry.objects.count()) == (0, 0, 0)


def test_suppressed_address_gets_no_marketing_consent():
    # given a suppressed address, and a known customer with that address
    EmailSuppression.objects.create(email_hash=email_hash("gone@example.com"), reason="erasure")
    Customer.objects.create(source_id="c2", email="gone@example.com")
    content = f"{HEADER}\nc1,GONE@example.com,Gus,,,,,,,yes,yes\nc2,,,,,,,,,true,\nc3,ok@example.com,,,,,,,,yes,"
    # when an import tries to grant marketing consent
    job = import_now(content)
    # then the rows import but the suppressed address is not opted in, and the report says so
    assert (job.created_count, job.updated_count) == (2, 1)
    assert [(error["line"], error["field"]) for error in job.errors] == [
        (2, "email_marketing"), (2, "sms_marketing"), (3, "email_marketing"),
    ]
    gus = Customer.objects.get(source_id="c1")
    assert (gus.first_name, gus.email_marketing_consent, gus.sms_marketing_consent) == ("Gus", False, False)
    assert not Customer.objects.get(source_id="c2").email_marketing_consent
    assert list(ConsentRecord.objects.values_list("customer__source_id", "channel")) == [("c3", "email_marketing")]


def test_erased_customer_is_not_rewritten():
    Customer.objects.create(source_id="c1", email="", erased_at=datetime(2025, 1, 1, tzinfo=UTC))
    job = import_now(f"{HEADER}\nc1,back@example.com,,,,,,,,yes,")
    assert job.errors == [{"line": 2, "field": "source_id", "message": "this customer was erased; row skipped"}]
    assert Customer.objects.get(source_id="c1").email == ""
    assert (job.created_count, job.updated_count, ConsentRecord.objects.count()) == (0, 0, 0)


class WorkerCrash(BaseException):
    """Stands for a killed worker: not an Exception, so the service cannot record it as a failure."""


@override_settings(RETENTION={"IMPORT_BATCH_SIZE": 3})
def test_crashed_import_resumes_after_the_last_finished_batch(monkeypatch):
    # given a 10-row import whose worker dies in the third batch
    job = start_import("source_id,email,tags,email_marketing\n" + "\n".join(
        f"c{n},c{n}@example.com,t{n},yes" for n in range(1, 11)
    ) + "\nc2,again@example.com,,")
    real_upsert = imports._upsert
    calls = []

    def crashing_upsert(header, rows, now):
        calls.append([values["source_id"] for _line, values in rows])
        if len(calls) == 3:
            raise WorkerCrash
        return real_upsert(header, rows, now)

    monkeypatch.setattr(imports, "_upsert", crashing_upsert)
    with pytest.raises(WorkerCrash):
        run_customer_import(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == (JobStatus.RUNNING, 6, 6)
    assert Customer.objects.count() == 6

    # when the task is delivered again
    monkeypatch.setattr(imports, "_upsert", lambda *args: (calls.append("resumed"), real_upsert(*args))[1])
    run_customer_import(import_id=job.pk)

    # then only the unfinished batches ran, with no duplicates, and a duplicate from batch 1 is still one
    job.refresh_from_db()
    assert calls[:3] == [["c1", "c2", "c3"], ["c4", "c5", "c6"], ["c7", "c8", "c9"]]
    assert calls[3:] == ["resumed", "resumed"]
    assert (job.status, job.processed_rows, job.created_count, job.updated_count) == (JobStatus.DONE, 11, 10, 0)
    assert [(error["line"], error["field"]) for error in job.errors] == [(12, "source_id")]
    assert Customer.objects.count() == 10
    assert ConsentRecord.objects.count() == 10
    assert Customer.tags.through.objects.count() == 10


def test_second_run_does_nothing():
    job = import_now(f"{HEADER}\nc1,a@example.com,,,,,,,vip,yes,")
    audit_count = AuditEntry.objects.count()
    # when the task runs again (as a redelivered message would)
    run_customer_import_task.delay(job.pk)
    # then nothing changed
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count) == (JobStatus.DONE, 1, 0)
    assert (Customer.objects.count(), ConsentRecord.objects.count(), AuditEntry.objects.count()) == (1, 1, audit_count)


def test_a_batch_already_claimed_by_another_worker_is_not_redone():
    # given a running job whose batch another worker has just committed
    job = start_import(f"{HEADER}\n{make_rows(2)}")
    run_customer_import(import_id=job.pk)
    CustomerImport.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    stale = CustomerImport.objects.get(pk=job.pk)
    stale.processed_rows = 0  # what a slower worker still believes
    # when it tries to commit the same batch
    with pytest.raises(imports._Superseded):
        imports._import_batch(stale, ["source_id"], [(2, ["c1"])], {})
    # then the batch was not applied twice
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count) == (2, 2)


def test_unexpected_error_marks_the_job_failed(monkeypatch):
    job = start_import(f"{HEADER}\n{make_rows(2)}")

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "_upsert", broken)
    run_customer_import(import_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure) == (JobStatus.FAILED, "RuntimeError: disk on fire")
    assert Customer.objects.count() == 0


def test_reported_problems_are_capped(monkeypatch):
    monkeypatch.setattr(imports, "MAX_REPORTED_ERRORS", 3)
    job = import_now("source_id,country\n" + "\n".join(f"c{n},ZZ" for n in range(5)))
    assert [error["line"] for error in job.errors] == [2, 3, 4, None]
    assert job.errors[-1]["message"] == "2 more problems not listed"


def test_upload_enqueues_the_task_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = start_import(f"{HEADER}\n{make_rows(3)}")
    job.refresh_from_db()
    assert len(callbacks) == 1
    assert (job.status, job.created_count) == (JobStatus.DONE, 3)

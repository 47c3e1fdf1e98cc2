"""Two workers on the same import at once (a redelivered task beside a slow one): each batch applies once."""


import pytest
from django.test import override_settings

from retention.actors import Actor
from retention.models import ConsentRecord, Customer, CustomerImport, JobStatus
from retention.services.imports import create_customer_import, run_customer_import
from retention.tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(RETENTION={"IMPORT_BATCH_SIZE": 50})
def test_two_workers_on_one_job_apply_every_batch_once(django_capture_on_commit_callbacks):
    # given a queued 1,000-row job (its own task is not run: the two threads below are the workers)
    content = "source_id,email,tags,email_marketing\n" + "\n".join(
        f"c{n},c{n}@example.com,t{n % 7},yes" for n in range(1000)
    )
    with django_capture_on_commit_callbacks(execute=False):
        job = create_customer_import(file_name="race.csv", content=content, actor=Actor.system("test"))

    # when two workers run it at the same moment
    run_together(2, lambda number: run_customer_import(import_id=job.pk))

    # then the job finished once, with exact counts and no duplicate writes
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count, job.updated_count, job.errors) == (
        JobStatus.DONE, 1000, 1000, 0, [],
    )
    assert Customer.objects.count() == 1000
    assert ConsentRecord.objects.count() == 1000
    assert Customer.tags.through.objects.count() == 1000
    assert CustomerImport.objects.get(pk=job.pk).status == JobStatus.DONE

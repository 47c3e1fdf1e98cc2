"""Two workers on the same import at once (a redelivered task beside a slow one): each batch applies once."""

import threading

import pytest
from django.db import connection, connections
from django.test import override_settings

from retention.actors import Actor
from retention.models import ConsentRecord, Customer, CustomerImport, JobStatus
from retention.services.imports import create_customer_import, run_customer_import

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(RETENTION={"IMPORT_BATCH_SIZE": 50})
def test_two_workers_on_one_job_apply_every_batch_once(django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    # given a queued 1,000-row job (its own task is not run: the two threads below are the workers)
    content = "source_id,email,tags,email_marketing\n" + "\n".join(
        f"c{n},c{n}@example.com,t{n % 7},yes" for n in range(1000)
    )
    with django_capture_on_commit_callbacks(execute=False):
        job = create_customer_import(file_name="race.csv", content=content, actor=Actor.system("test"))
    barrier = threading.Barrier(2)
    failures = []

    def worker():
        try:
            barrier.wait()
            run_customer_import(import_id=job.pk)
        except Exception as error:  # surfaced in the main thread
            failures.append(error)
        finally:
            connections.close_all()

    # when two workers run it at the same moment
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then the job finished once, with exact counts and no duplicate writes
    job.refresh_from_db()
    assert failures == []
    assert (job.status, job.processed_rows, job.created_count, job.updated_count, job.errors) == (
        JobStatus.DONE, 1000, 1000, 0, [],
    )
    assert Customer.objects.count() == 1000
    assert ConsentRecord.objects.count() == 1000
    assert Customer.tags.through.objects.count() == 1000
    assert CustomerImport.objects.get(pk=job.pk).status == JobStatus.DONE

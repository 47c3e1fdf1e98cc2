import threading

import pytest
from django.db import connection, transaction

from campaigns.errors import CampaignError
from campaigns.models import Campaign, Code, CodeSource, DiscountType, GenerationJob
from campaigns.services import generation
from campaigns.services.generation import run_generation, start_generation
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.models import AuditEntry, JobStatus
from retention.tests.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = Actor.system("test")


def _job(campaign, count: int) -> GenerationJob:
    return GenerationJob.objects.create(campaign=campaign, count=count)


def test_generates_exactly_count_codes_in_batches():
    # given
    campaign = CampaignFactory(code_valid_days=10, max_uses_per_code=3)
    job = _job(campaign, 2500)
    # when
    result = run_generation(job_id=job.pk, batch_size=1000)
    # then
    assert (result.status, result.generated) == (JobStatus.DONE, 2500)
    codes = Code.objects.filter(generation=job)
    assert codes.count() == 2500
    assert codes.values("code").distinct().count() == 2500
    assert set(codes.values_list("source", "max_uses", "customer_id", "uses_count").distinct()) == {
        (CodeSource.BULK, 3, None, 0)}
    code = codes.first()
    assert (code.expires_at - code.issued_at).days == 10
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 2500
    assert AuditEntry.objects.filter(action="generation.done").count() == 1


def test_gift_card_codes_get_their_balance():
    campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, gift_card_balance=700,
                               max_uses_per_code=None)
    run_generation(job_id=_job(campaign, 10).pk)
    assert set(Code.objects.values_list("balance", "max_uses")) == {(700, None)}


def test_collisions_are_replaced_by_fresh_draws(monkeypatch):
    # given: the first draw of the batch repeats an existing code and itself
    campaign = CampaignFactory()
    CodeFactory(code="AAAAAAAAAAAA", campaign=campaign)
    real_draw = generation.draw_codes
    draws = []

    def draw(config, count):
        draws.append(count)
        if len(draws) == 1:
            return ["AAAAAAAAAAAA", "BBBBBBBBBBBB", "BBBBBBBBBBBB"] + real_draw(config, count - 3)
        return real_draw(config, count)

    monkeypatch.setattr(generation, "draw_codes", draw)
    job = _job(campaign, 50)
    # when
    run_generation(job_id=job.pk)
    # then: two collided, two were drawn again
    assert draws == [50, 2]
    assert Code.objects.filter(generation=job).count() == 50
    assert Code.objects.filter(code="AAAAAAAAAAAA").get().generation_id is None
    assert GenerationJob.objects.get(pk=job.pk).generated == 50


def test_resumes_after_a_crash_mid_way_without_duplicates_or_gaps(monkeypatch):
    # given: the worker dies while inserting the third batch
    campaign = CampaignFactory()
    job = _job(campaign, 1000)
    real_insert = generation.insert_codes
    calls = []

    def crashing_insert(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real_insert(**kwargs)

    monkeypatch.setattr(generation, "insert_codes", crashing_insert)
    with pytest.raises(RuntimeError):
        run_generation(job_id=job.pk, batch_size=300, workers=1)
    crashed = GenerationJob.objects.get(pk=job.pk)
    assert (crashed.status, crashed.generated, crashed.failure) == (JobStatus.FAILED, 600, "worker killed")
    assert Code.objects.filter(generation=job).count() == 600
    # when: the job runs again
    monkeypatch.setattr(generation, "insert_codes", real_insert)
    result = run_generation(job_id=job.pk, batch_size=300)
    # then
    assert (result.status, result.generated) == (JobStatus.DONE, 1000)
    assert Code.objects.filter(generation=job).count() == 1000
    assert Code.objects.values("code").distinct().count() == 1000
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 1000


def test_a_job_left_running_by_a_dead_worker_resumes():
    # given
    campaign = CampaignFactory()
    job = _job(campaign, 40)
    run_generation(job_id=job.pk, batch_size=40)
    GenerationJob.objects.filter(pk=job.pk).update(count=70, status=JobStatus.RUNNING)
    # when
    result = run_generation(job_id=job.pk, batch_size=40)
    # then
    assert (result.status, result.generated, Code.objects.count()) == (JobStatus.DONE, 70, 70)


def test_running_a_done_job_again_does_nothing():
    # given
    job = _job(CampaignFactory(), 20)
    run_generation(job_id=job.pk)
    # when
    result = run_generation(job_id=job.pk)
    # then
    assert (result.status, result.generated, Code.objects.count()) == (JobStatus.DONE, 20, 20)
    assert AuditEntry.objects.filter(action="generation.done").count() == 1


def test_start_generation_queues_the_task_after_commit(django_capture_on_commit_callbacks):
    # given
    campaign = CampaignFactory()
    # when
    job = start_generation(campaign=campaign, count=25, actor=ACTOR)
    # then: eager Celery ran the task after commit
    job.refresh_from_db()
    assert (job.status, job.generated, job.count) == (JobStatus.DONE, 25, 25)
    assert AuditEntry.objects.filter(action="generation.started").count() == 1


@pytest.mark.parametrize(("campaign_fields", "count", "reason"), [
    ({}, 0, "invalid"),
    ({"type": "public", "public_code": "X1"}, 5, "public_campaign"),
    ({"code_length": 6, "weak_codes_confirmed": True}, 2_000_000, "code_space_too_small"),
    ({"code_length": 7}, 10, "weak_codes_not_confirmed"),
])
def test_start_generation_refusals_create_nothing(campaign_fields, count, reason):
    # given
    campaign = CampaignFactory(**campaign_fields)
    # when
    with pytest.raises(CampaignError) as refused:
        start_generation(campaign=campaign, count=count, actor=ACTOR)
    # then
    assert refused.value.code == reason
    assert GenerationJob.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.postgres
def test_batches_run_on_two_connections_at_once(monkeypatch):
    # given: each batch waits until a second one is in flight (a lone worker would break the barrier)
    both_in_flight = threading.Barrier(2, timeout=20)
    real_insert = generation.insert_codes
    threads = set()

    def insert(**kwargs):
        if threading.current_thread() not in threads:
            threads.add(threading.current_thread())
            both_in_flight.wait()
        return real_insert(**kwargs)

    monkeypatch.setattr(generation, "insert_codes", insert)
    campaign = CampaignFactory()
    job = _job(campaign, 1000)
    # when
    result = run_generation(job_id=job.pk, batch_size=200, workers=2)
    # then
    assert len(threads) == 2 and threading.current_thread() not in threads
    assert (result.status, result.generated) == (JobStatus.DONE, 1000)
    assert Code.objects.filter(generation=job).values("code").distinct().count() == 1000
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 1000


def test_a_small_code_space_runs_on_one_connection(monkeypatch):
    # given: 8 symbols of 32 (40 bits), where parallel batches would often draw the same codes
    campaign = CampaignFactory(code_length=8)
    real_insert = generation.insert_codes
    threads = set()

    def insert(**kwargs):
        threads.add(threading.current_thread())
        return real_insert(**kwargs)

    monkeypatch.setattr(generation, "insert_codes", insert)
    # when
    result = run_generation(job_id=_job(campaign, 300).pk, batch_size=100, workers=2)
    # then
    assert threads == {threading.current_thread()}
    assert (result.status, result.generated, Code.objects.count()) == (JobStatus.DONE, 300, 300)


@pytest.mark.postgres
def test_two_runs_of_the_same_job_at_once_end_with_exactly_count_codes():
    # given: a Celery redelivery runs the job while the first run is still at it
    campaign = CampaignFactory()
    job = _job(campaign, 3000)
    # when
    run_together(2, lambda number: run_generation(job_id=job.pk, batch_size=250, workers=2))
    # then
    job.refresh_from_db()
    assert (job.status, job.generated) == (JobStatus.DONE, 3000)
    assert Code.objects.filter(generation=job).values("code").distinct().count() == 3000
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 3000


def test_a_batch_that_would_overshoot_the_count_is_rolled_back_whole(monkeypatch):
    # given: while the first batch is inserted, another run of the job advances it (same transaction here)
    campaign = CampaignFactory()
    job = _job(campaign, 100)
    real_insert = generation.insert_codes
    first_batch = []

    def insert(**kwargs):
        if not first_batch:
            first_batch.extend(kwargs["texts"])
            GenerationJob.objects.filter(pk=job.pk).update(generated=40)
        return real_insert(**kwargs)

    monkeypatch.setattr(generation, "insert_codes", insert)
    # when
    result = run_generation(job_id=job.pk, workers=1)
    # then: the refused batch left nothing; the job was read again and filled once
    assert (result.status, result.generated) == (JobStatus.DONE, 100)
    assert Code.objects.filter(generation=job).count() == 100
    assert not Code.objects.filter(code__in=first_batch).exists()


def test_each_foreign_key_of_codes_leads_exactly_one_index():
    # Every index is upkeep on each bulk-inserted code: no automatic FK index next to a composite one.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Code._meta.db_table)
    leading = [details["columns"][0] for details in constraints.values() if details["index"]]
    for column in ("campaign_id", "customer_id", "generation_id"):
        assert leading.count(column) == 1, (column, leading)


@pytest.mark.postgres
def test_a_customers_codes_are_read_through_the_partial_index():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM campaigns_code WHERE customer_id = %s ORDER BY issued_at DESC", [1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "code_customer_issued" in plan, plan


@pytest.mark.postgres
def test_code_pages_keep_room_for_the_redemption_update():
    # uses_count is not indexed: with free room on the page its update is heap-only and touches no index.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Code._meta.db_table])
        assert "fillfactor=85" in cursor.fetchone()[0]

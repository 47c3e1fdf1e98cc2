"""The idempotency service: claim, replay, conflicts, purge."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from retention.actors import Actor
from retention.models import ApiKey, IdempotencyRecord
from retention.services.api_keys import create_api_key
from retention.services.idempotency import (
    IdempotencyConflict,
    claim_idempotency_key,
    complete_idempotency_key,
    purge_expired_idempotency_records,
)
from retention.tasks import purge_idempotency_records_task

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def api_key():
    return create_api_key(name="shop", actor=Actor.system("test"))[0]


def test_claim_complete_and_replay(api_key):
    record, claimed = claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    complete_idempotency_key(record=record, status=201, body={"id": 1})
    again, claimed_again = claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    assert (claimed, claimed_again, again.response_status, again.response_body) == (True, False, 201, {"id": 1})


def test_conflicts(api_key):
    claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    with pytest.raises(IdempotencyConflict) as in_progress:
        claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    with pytest.raises(IdempotencyConflict) as reused:
        claim_idempotency_key(api_key=api_key, key="k", request_hash="other")
    assert (in_progress.value.code, reused.value.code, in_progress.value.status) == (
        "request_in_progress", "idempotency_key_reused", 409)
    assert IdempotencyRecord.objects.count() == 1


def test_keys_are_per_api_key(api_key):
    other = create_api_key(name="other shop", actor=Actor.system("test"))[0]
    claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    assert claim_idempotency_key(api_key=other, key="k", request_hash="x")[1] is True


def test_purge_removes_only_expired_records_and_runs_twice(api_key):
    old = IdempotencyRecord.objects.create(api_key=api_key, key="old", request_hash="h")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(hours=25))
    fresh = IdempotencyRecord.objects.create(api_key=api_key, key="fresh", request_hash="h")
    IdempotencyRecord.objects.filter(pk=fresh.pk).update(created_at=NOW - timedelta(hours=23))
    assert purge_expired_idempotency_records(now=NOW) == 1
    assert purge_expired_idempotency_records(now=NOW) == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert purge_idempotency_records_task.delay().get() == 1


def test_create_api_key_command_prints_the_key_once(capsys):
    call_command("create_api_key", "Main shop")
    secret = capsys.readouterr().out.strip()
    api_key = ApiKey.objects.get()
    assert api_key.name == "Main shop" and secret.startswith(api_key.prefix)
    assert secret not in api_key.key_hash


def test_a_claim_abandoned_by_a_dead_request_is_taken_over_once(api_key):
    # given a claim whose request died before answering, six minutes ago
    with time_machine.travel(NOW - timedelta(minutes=6), tick=False):
        claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    # when the client retries now
    with time_machine.travel(NOW, tick=False):
        record, claimed = claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
        # then the retry owns the key, and a third request meanwhile still sees it in progress
        with pytest.raises(IdempotencyConflict) as in_progress:
            claim_idempotency_key(api_key=api_key, key="k", request_hash="h")
    assert (claimed, record.is_complete, in_progress.value.code) == (True, False, "request_in_progress")
    assert IdempotencyRecord.objects.count() == 1


def test_api_waits_for_a_key_in_progress_then_answers(api, monkeypatch, settings):
    # given a key another request is answering: the first two claims find it in progress
    from retention.api import idempotency
    from retention.tests.factories import CustomerFactory

    CustomerFactory(source_id="c-1")
    real_claim, attempts = idempotency.claim_idempotency_key, []

    def busy_twice(**kwargs):
        attempts.append(1)
        if len(attempts) <= 2:
            raise IdempotencyConflict("busy", code="request_in_progress")
        return real_claim(**kwargs)

    monkeypatch.setattr(idempotency, "claim_idempotency_key", busy_twice)
    body = {"customer": "c-1", "type": "review_submitted"}
    # when posted: it waits and gets the answer
    response = api.post("/api/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (response.status_code, len(attempts)) == (201, 3)
    # and without any time to wait, a key in progress is a 409 at once
    settings.RETENTION = {**settings.RETENTION, "IDEMPOTENCY_WAIT_SECONDS": 0}
    attempts.clear()
    refused = api.post("/api/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert (refused.status_code, refused.json()["error"]["code"], len(attempts)) == (409, "request_in_progress", 1)

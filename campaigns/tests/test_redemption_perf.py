"""The redemption hot path's shortcuts answer as the plain ORM did: find_code's compiled select, the API key
look-up (a revoked key stops at once) and the one-round-trip rate-limit check."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.services.redemptions import find_code
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.actors import Actor
from retention.models import Customer, Segment
from retention.queries import api_key_by_secret
from retention.services.api_keys import create_api_key, revoke_api_key

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_find_code_reads_code_campaign_and_holder_like_the_orm_in_one_query():
    # given an assigned code with an override, in a campaign with a segment, and an unassigned one
    holder = Customer.objects.create(source_id="holder-1", country="DE", signed_up_at=timezone.now())
    campaign = CampaignFactory(starts_at=timezone.now() - timedelta(days=1), max_redemptions=9)
    campaign.segments.add(Segment.objects.create(name="VIP"))
    assigned = CodeFactory(campaign=campaign, code="ABCD2345EFGH", customer=holder, max_uses=1,
                           expires_at=timezone.now() + timedelta(days=3))
    loose = CodeFactory(code="PUBLIC2345XY")
    # when each is found twice (the second time through the compiled statement), in any case
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            found = find_code(" abcd2345efgh ")
        other = find_code("public2345xy")
        # then one query each, and the same values as the ORM reads, related rows included
        assert len(queries) == 1
        assert fields(found) == fields(type(assigned).objects.get(pk=assigned.pk))
        assert fields(found.campaign) == fields(type(campaign).objects.get(pk=campaign.pk))
        assert fields(found.customer) == fields(Customer.objects.get(pk=holder.pk))
        assert (found.campaign.has_segments, other.campaign.has_segments) == (True, False)
        assert other.pk == loose.pk and other.customer is None
        assert found._state.adding is False and found._state.db == "default"
    assert find_code("NOSUCHCODE00") is None
    assert find_code("") is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_find_code_in_threads_uses_each_threads_own_connection():
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections need PostgreSQL")
    # given a code, and the statement compiled in this thread
    code = CodeFactory(code="THREAD2345AB")
    assert find_code(code.code).pk == code.pk
    found, errors = [], []

    def look_up():
        try:
            found.append(find_code(code.code.lower()))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    # when four other threads look it up, each with its own connection
    workers = [threading.Thread(target=look_up) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # then each finds it
    assert errors == []
    assert [item.pk for item in found] == [code.pk] * 4


def test_a_revoked_key_stops_at_once():
    # given a key that was just used
    api_key, secret = create_api_key(name="shop", actor=Actor.system("test"))
    assert api_key_by_secret(secret).pk == api_key.pk
    assert api_key_by_secret(secret).name == "shop"
    # when it is revoked, then the next look-up finds nothing
    revoke_api_key(api_key=api_key, actor=Actor.system("test"))
    assert api_key_by_secret(secret) is None
    assert api_key_by_secret("rk_live_wrong") is None

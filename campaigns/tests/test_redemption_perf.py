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
    find_code("NOSUCHCODE")  # the session's first use also PREPAREs the statement (on PostgreSQL)
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


# --- the one-statement redemption (PostgreSQL) writes what the step-by-step ORM path writes -------------------

def _written(code, redemption, enqueued) -> dict:
    """Everything a redemption wrote, without the ids and times that differ between two redemptions."""
    from campaigns.models import Code, CustomerCampaignUsage
    from campaigns.queries import redemption_counters
    from retention.messaging.models import WebhookDelivery, WebhookEvent
    from retention.models import AuditEntry

    code = Code.objects.select_related("campaign").get(pk=code.pk)
    entry = AuditEntry.objects.filter(action="code.redeemed").latest("id")
    event = WebhookEvent.objects.get(type="code.redeemed", data__id=redemption.pk)
    deliveries = WebhookDelivery.objects.filter(event=event).order_by("endpoint_id")
    counted = redemption_counters(code.campaign)
    return {
        "redemption": {key: value for key, value in fields(redemption).items() if key != "id"},
        "stored": {key: value for key, value in fields(type(redemption).objects.get(pk=redemption.pk)).items()
                   if key != "id"},
        "audit": ({key: value for key, value in fields(entry).items() if key not in ("id", "object_id", "created_at")},
                  entry.object_id == str(redemption.pk)),
        "event": ({**event.data, "id": None}, event.created_at),
        "deliveries": [(d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.created_at, d.response_body,
                        d.last_error) for d in deliveries],
        "enqueued": enqueued == [[d.pk for d in deliveries]],
        "code": (code.uses_count, code.balance),
        "counters": (counted.redemptions, counted.discount_total),
        "usage": list(CustomerCampaignUsage.objects.values_list("redemptions_count", flat=True)),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("shape", ["capped, customer with a cap", "uncapped, no customer", "gift card",
                                   "budget only, customer without a cap"])
def test_the_one_statement_writes_what_the_orm_path_writes(shape, monkeypatch, django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    from campaigns.discounts import OrderInput
    from campaigns.models import DiscountType
    from campaigns.services import redemptions
    from retention.messaging.services import webhooks
    from retention.models import WebhookEndpoint

    # given endpoints: all types (an empty list or object), this type, another type only, and inactive ones
    for types, active in (([], True), ({}, True), (["code.redeemed"], True), (["code.issued"], False),
                          ([], False), (["code.issued"], True)):
        WebhookEndpoint.objects.create(url="https://shop.example/h", secret="s", event_types=types, is_active=active)
    holder = Customer.objects.create(source_id="holder-1", country="DE")
    customer = None if "no customer" in shape else holder
    if shape == "gift card":
        campaign = CampaignFactory(discount_type=DiscountType.GIFT_CARD, percent=None, max_redemptions_per_customer=3)
        code = CodeFactory(campaign=campaign, code="GIFT2345ABCD", balance=5000, max_uses=None, customer=holder)
    else:
        campaign = CampaignFactory(percent=10, max_redemptions=5 if "capped" in shape and "un" not in shape else None,
                                   budget=50000 if "budget" in shape or shape.startswith("capped") else None,
                                   max_redemptions_per_customer=2 if "with a cap" in shape else None)
        code = CodeFactory(campaign=campaign, code="SAME2345ABCD", max_uses=3, customer=customer)
    now = timezone.now()
    enqueued = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    written = {}
    # when the same order is redeemed by each path (rolled back in between, so each starts from the same state)
    for one_statement in (False, True):
        monkeypatch.setattr(redemptions, "ONE_STATEMENT", one_statement)
        enqueued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            redemption = redemptions.redeem_code(
                code="same2345abcd" if shape != "gift card" else "GIFT2345ABCD",
                customer_source_id=customer.source_id if customer else None,
                order=OrderInput(amount=3000, currency="EUR", source_id="order-1"), actor=Actor.system("shop"),
                now=now)
        written[one_statement] = _written(code, redemption, list(enqueued))
        if not one_statement:
            redemptions.rollback_redemption(redemption_id=redemption.pk, reason="again", actor=Actor.system("t"))
    # then every row is the same, ids aside, and each path enqueued its own deliveries
    assert written[True] == written[False]
    assert written[True]["enqueued"] is True and len(written[True]["deliveries"]) == 3
    assert written[True]["audit"][1] is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_execute_prepared_prepares_once_per_session_and_survives_a_rollback():
    from django.db import transaction

    from retention.compiled import execute_prepared

    sql = "SELECT %(a)s + %(b)s, %(a)s * 2, 10 %% 3"
    types = {"a": "integer", "b": "integer"}

    def run(a: int, b: int) -> tuple:
        with connection.cursor() as cursor:
            execute_prepared(cursor, sql, {"a": a, "b": b}, types)
            return cursor.fetchone()

    with transaction.atomic():
        assert run(1, 2) == (3, 2, 1)
        transaction.set_rollback(True)
    assert run(5, 6) == (11, 10, 1)  # the PREPARE outlived the rolled-back transaction
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%$1 + $2%"])
            assert cursor.fetchone() == (1,)
    connection.close()  # a new session prepares again
    assert run(2, 2) == (4, 4, 1)

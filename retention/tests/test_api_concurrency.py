"""The core API under real concurrency: threads, each with its own PostgreSQL connection, released together."""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from retention.models import AuditEntry, Customer, Event, IdempotencyRecord, Order
from retention.tests.concurrency import run_together as run_all_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(clients: int, secret: str, work) -> list:
    """work(api_client, number) on `clients` threads released at once, each with its own API client."""
    apis = [APIClient() for _ in range(clients)]
    for api in apis:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return run_all_together(clients, lambda number: work(apis[number], number))


def test_the_same_customer_created_at_once_ends_as_one_customer(api_key_secret):
    # when 10 clients PUT the same new customer at the same moment
    def put(api, number):
        response = api.put("/api/v1/customers/c-race", {"email": "Ana@Example.com", "tags": ["vip", f"t{number % 2}"],
                                                        "consents": {"email_marketing": True}}, format="json")
        return response.status_code

    statuses = run_together(10, api_key_secret, put)
    # then one created it (201), the others updated it (200); one row, one creation audited, one consent
    assert sorted(statuses) == [200] * 9 + [201]
    customer = Customer.objects.get(source_id="c-race")
    assert customer.email == "ana@example.com"
    assert AuditEntry.objects.filter(action="customer.created").count() == 1
    assert customer.consent_records.count() == 1


def test_orders_of_one_customer_recorded_at_once_keep_the_aggregates_exact(api, api_key_secret):
    # given a customer
    api.put("/api/v1/customers/c-1", {"email": "ana@example.com"}, format="json")
    amounts = [1000 + 100 * number for number in range(12)]

    def order(client, number):
        created_at = datetime(2026, 1, 1 + number, tzinfo=UTC).isoformat()
        return client.post("/api/v1/orders", {"source_id": f"o-{number}", "customer": "c-1",
                                               "amount": amounts[number], "currency": "EUR",
                                               "created_at": created_at}, format="json").status_code

    # when 12 orders arrive at the same moment, and then again (a shop's retry)
    assert run_together(12, api_key_secret, order) == [201] * 12
    assert run_together(12, api_key_secret, order) == [200] * 12
    # then
    customer = Customer.objects.get(source_id="c-1")
    assert (customer.orders_count, customer.total_spent) == (12, sum(amounts))
    assert (customer.first_order_at, customer.last_order_at) == (datetime(2026, 1, 1, tzinfo=UTC),
                                                                 datetime(2026, 1, 12, tzinfo=UTC))
    assert Order.objects.count() == 12


def test_refunds_of_one_customer_at_once_keep_the_aggregates_exact(api, api_key_secret):
    api.put("/api/v1/customers/c-1", {"email": "ana@example.com"}, format="json")
    for number in range(6):
        api.post("/api/v1/orders", {"source_id": f"o-{number}", "customer": "c-1", "amount": 1000,
                                    "currency": "EUR"}, format="json")

    def refund(client, number):
        return client.post("/api/v1/orders", {"source_id": f"o-{number % 3}", "customer": "c-1", "amount": 1000,
                                              "currency": "EUR", "status": "refunded"}, format="json").status_code

    # when orders 0-2 are each refunded twice at the same moment
    assert run_together(6, api_key_secret, refund) == [200] * 6
    customer = Customer.objects.get(source_id="c-1")
    assert (customer.orders_count, customer.total_spent) == (3, 3000)
    assert AuditEntry.objects.filter(action="order.status_changed").count() == 3


def test_the_same_idempotency_key_at_once_creates_one_thing_and_both_get_the_same_answer(api, api_key_secret):
    # given a customer; events without an `id` are idempotent only by the key
    api.put("/api/v1/customers/c-1", {"email": "ana@example.com"}, format="json")
    body = {"customer": "c-1", "type": "review_submitted", "properties": {"stars": 5}}

    def post(client, number):
        response = client.post("/api/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="evt-1")
        return response.status_code, response.json()

    # when 6 clients send it at the same moment
    answers = run_together(6, api_key_secret, post)
    # then one event, and every client got the first answer
    assert Event.objects.count() == 1
    assert [status for status, _ in answers] == [201] * 6
    assert all(answer == answers[0][1] for _, answer in answers)
    assert IdempotencyRecord.objects.get(key="evt-1").is_complete


def test_the_same_idempotency_key_at_once_on_orders(api, api_key_secret):
    api.put("/api/v1/customers/c-1", {"email": "ana@example.com"}, format="json")
    body = {"source_id": "o-1", "customer": "c-1", "amount": 2500, "currency": "EUR"}

    def post(client, number):
        response = client.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY="order-o-1")
        return response.status_code, response.json()

    answers = run_together(4, api_key_secret, post)
    assert [status for status, _ in answers] == [201] * 4
    assert all(answer == answers[0][1] for _, answer in answers)
    assert Customer.objects.get(source_id="c-1").orders_count == 1

"""POST /orders and /events, with Idempotency-Key."""

import pytest
import time_machine

from retention.api import views
from retention.api.idempotency import request_hash
from retention.models import ApiKey, AuditEntry, Customer, Event, IdempotencyRecord, Order
from retention.services.idempotency import claim_idempotency_key
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ORDER = {"source_id": "o1", "customer": "c1", "amount": 5000, "currency": "EUR", "status": "paid",
         "created_at": "2026-01-10T09:00:00Z",
         "items": [{"sku": "SOCK-1", "name": "Sock", "category": "socks", "quantity": 2, "unit_price": 2500}]}


@pytest.fixture
def customer(db):
    return CustomerFactory(source_id="c1")


def test_post_order_then_refund(api, customer):
    # when an order is posted, posted again, then refunded
    created = api.post("/api/v1/orders", ORDER, format="json")
    again = api.post("/api/v1/orders", ORDER, format="json")
    refunded = api.post("/api/v1/orders", {**ORDER, "status": "refunded"}, format="json")
    # then 201, 200, 200 and the aggregates follow
    assert (created.status_code, again.status_code, refunded.status_code) == (201, 200, 200)
    assert created.json() == {
        "source_id": "o1", "customer": "c1", "amount": 5000, "currency": "EUR", "status": "paid",
        "items": [{"sku": "SOCK-1", "name": "Sock", "category": "socks", "quantity": 2, "unit_price": 2500}],
        "created_at": "2026-01-10T09:00:00Z",
    }
    assert refunded.json()["status"] == "refunded"
    customer.refresh_from_db()
    assert (customer.orders_count, customer.total_spent) == (0, 0)


@pytest.mark.parametrize(("field", "value"), [
    ("source_id", ""),
    ("amount", -1),
    ("amount", "ten"),
    ("currency", "EURO"),
    ("status", "shipped"),
    ("created_at", "soon"),
    ("items", [{"sku": "A", "quantity": 0}]),
    ("items", [{"sku": "A", "unit_price": -5}]),
])
def test_order_names_each_invalid_field(api, customer, field, value):
    response = api.post("/api/v1/orders", {**ORDER, field: value}, format="json")
    assert response.status_code == 400
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()["error"]["fields"])
    assert Order.objects.count() == 0


def test_order_of_unknown_customer_is_404(api):
    response = api.post("/api/v1/orders", ORDER, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert Order.objects.count() == 0


def test_same_idempotency_key_twice_records_one_order_and_replays(api, customer):
    # when the same request is sent twice with one key
    first = api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    audits = AuditEntry.objects.count()
    second = api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then one order, and the second answer is the first (201 again, same body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert (Order.objects.count(), AuditEntry.objects.count()) == (1, audits)


def test_same_key_with_other_body_is_409(api, customer):
    # given a used key
    api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # when it comes with another body
    response = api.post("/api/v1/orders", {**ORDER, "source_id": "o2"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then 409 and no second order
    assert (response.status_code, response.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert list(Order.objects.values_list("source_id", flat=True)) == ["o1"]


def test_key_in_flight_is_409(api, customer):
    # given a claimed but unfinished key (another request is working on it)
    class Fake:
        method, path, data = "POST", "/api/v1/orders", ORDER

    claim_idempotency_key(api_key=ApiKey.objects.get(), key="k-1", request_hash=request_hash(Fake))
    # when the same request arrives
    response = api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (409, "request_in_progress")
    assert Order.objects.count() == 0


def test_refusal_is_replayed_and_server_error_releases_the_key(api, customer, monkeypatch):
    # given a request that fails unexpectedly
    def explode(**kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(views, "record_order", explode)
    with pytest.raises(RuntimeError):
        api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then the key is free again and a retry works
    assert IdempotencyRecord.objects.count() == 0
    monkeypatch.undo()
    assert api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    # and a 400 is stored and replayed as it was
    bad = {**ORDER, "amount": -1}
    first = api.post("/api/v1/orders", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    second = api.post("/api/v1/orders", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert (first.status_code, second.status_code, second.json()) == (400, 400, first.json())


def test_expired_key_counts_as_absent(api, customer):
    # given a key used 25 hours ago
    with time_machine.travel("2026-01-01T00:00:00Z", tick=False):
        api.post("/api/v1/orders", ORDER, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # when a different request reuses it a day later
    with time_machine.travel("2026-01-02T01:00:00Z", tick=False):
        response = api.post("/api/v1/orders", {**ORDER, "source_id": "o2"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="k-1")
    # then it is accepted as new
    assert response.status_code == 201
    assert Order.objects.count() == 2


def test_post_event_idempotent_by_id(api, customer):
    body = {"id": "e1", "customer": "c1", "type": "review_submitted", "occurred_at": "2026-03-01T08:00:00Z",
            "properties": {"stars": 5}}
    first = api.post("/api/v1/events", body, format="json")
    second = api.post("/api/v1/events", body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == "e1" and first.json()["properties"] == {"stars": 5}
    assert Event.objects.count() == 1


@pytest.mark.parametrize(("field", "value"), [
    ("type", ""), ("type", "has spaces"), ("occurred_at", "then"), ("properties", [1]), ("customer", ""),
])
def test_event_names_each_invalid_field(api, customer, field, value):
    body = {"customer": "c1", "type": "review_submitted", field: value}
    response = api.post("/api/v1/events", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Event.objects.count() == 0


def test_event_of_unknown_customer_is_404(api):
    response = api.post("/api/v1/events", {"customer": "nobody", "type": "x"}, format="json")
    assert response.status_code == 404
    assert Customer.objects.count() == 0 and Event.objects.count() == 0

"""PUT/GET/DELETE /customers/{source_id}, GET /customers/{source_id}/export."""

import pytest
from rest_framework.test import APIClient

from retention.actors import Actor
from retention.models import AuditEntry, ConsentRecord, Customer
from retention.services.api_keys import create_api_key, revoke_api_key
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_put_creates_then_updates(api):
    # given no customer
    body = {"email": "Ana@Example.com", "first_name": "Ana", "birthday": "1990-02-28", "country": "de",
            "timezone": "Europe/Berlin", "signed_up_at": "2024-03-01T10:00:00+01:00", "tags": ["vip"],
            "metadata": {"plan": "gold"}, "consents": {"email_marketing": True, "sms_marketing": False}}
    # when it is PUT twice, the second time with a new name
    first = api.put("/api/v1/customers/c1", body, format="json")
    second = api.put("/api/v1/customers/c1", {"first_name": "Ana María"}, format="json")
    # then 201 then 200, and the stored customer has both
    assert (first.status_code, second.status_code) == (201, 200)
    data = second.json()
    assert (data["source_id"], data["email"], data["first_name"], data["country"], data["birthday"]) == (
        "c1", "ana@example.com", "Ana María", "DE", "1990-02-28")
    assert data["tags"] == ["vip"] and data["metadata"] == {"plan": "gold"}
    assert data["consents"] == {"email_marketing": True, "sms_marketing": False}
    assert data["signed_up_at"] == "2024-03-01T09:00:00Z"
    assert (data["orders_count"], data["total_spent"], data["last_order_at"]) == (0, 0, None)
    assert Customer.objects.count() == 1
    assert ConsentRecord.objects.get().ip_address == "127.0.0.1"


@pytest.mark.parametrize(("field", "value"), [
    ("email", "not-an-email"),
    ("country", "DEU"),
    ("timezone", "Mars/Olympus"),
    ("birthday", "1990-13-01"),
    ("signed_up_at", "yesterday"),
    ("tags", "vip"),
    ("metadata", ["x"]),
    ("consents", {"email_marketing": "perhaps"}),
])
def test_put_names_each_invalid_field(api, field, value):
    # given an otherwise valid body
    # when one field is invalid
    response = api.put("/api/v1/customers/c1", {"first_name": "Ana", field: value}, format="json")
    # then 400 names it and nothing is stored
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error["fields"]
    assert Customer.objects.count() == 0


def test_get_customer_in_fixed_queries(api, django_assert_max_num_queries):
    # given a customer with tags
    CustomerFactory(source_id="c1", tags=["a", "b"], orders_count=2, total_spent=700)
    # when fetched: key look-up, last_used write, customer, tags
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/customers/c1")
    # then
    assert response.status_code == 200
    assert (response.json()["tags"], response.json()["orders_count"], response.json()["total_spent"]) == (
        ["a", "b"], 2, 700)


def test_unknown_customer_is_404(api):
    response = api.get("/api/v1/customers/nobody")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api.delete("/api/v1/customers/nobody").status_code == 404
    assert api.get("/api/v1/customers/nobody/export").status_code == 404


def test_no_key_wrong_key_and_revoked_key_are_401(db):
    # given a revoked key
    api_key, secret = create_api_key(name="old", actor=Actor.system("test"))
    revoke_api_key(api_key=api_key, actor=Actor.system("test"))
    client = APIClient()
    # when / then
    assert client.get("/api/v1/customers/c1").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer rk_live_wrong")
    assert client.put("/api/v1/customers/c1", {}, format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get("/api/v1/customers/c1")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert Customer.objects.count() == 0


def test_delete_erases_and_export_shows_what_is_left(api):
    # given a customer
    api.put("/api/v1/customers/c1", {"email": "ana@example.com", "first_name": "Ana"}, format="json")
    # when deleted
    response = api.delete("/api/v1/customers/c1")
    # then 204, personal data gone, the export holds the anonymised profile
    assert response.status_code == 204
    customer = Customer.objects.get()
    assert (customer.email, customer.first_name) == ("", "")
    export = api.get("/api/v1/customers/c1/export").json()
    assert export["profile"]["email"] == "" and export["profile"]["erased_at"] is not None
    assert AuditEntry.objects.filter(action="customer.erased").count() == 1
    # and a second PUT is refused
    again = api.put("/api/v1/customers/c1", {"email": "ana@example.com"}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (422, "customer_erased")


def test_export_lists_orders(api):
    # given a customer with an order
    api.put("/api/v1/customers/c1", {"email": "ana@example.com"}, format="json")
    api.post("/api/v1/orders", {"source_id": "o1", "customer": "c1", "amount": 500, "currency": "EUR"},
             format="json")
    # when exported
    export = api.get("/api/v1/customers/c1/export").json()
    # then
    assert [order["source_id"] for order in export["orders"]] == ["o1"]
    assert export["profile"]["email"] == "ana@example.com"
    # and the access is audited with the key that made it
    entry = AuditEntry.objects.get(action="customer.exported")
    assert entry.actor_label.startswith("api:") and entry.after["source_id"] == "c1"

"""POST /api/v1/validations, /redemptions, /redemptions/{id}/rollback."""

import pytest

from campaigns.models import Code, DiscountType, Redemption
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.models import AuditEntry, Customer

pytestmark = pytest.mark.django_db


def body(code: str = "SPRING15", customer: str | None = "cust-1", **order) -> dict:
    return {"code": code, "customer": customer,
            "order": {"source_id": "order-1", "amount": 10000, "currency": "EUR",
                      "items": [{"sku": "SHOE-1", "category": "shoes", "quantity": 1, "unit_price": 10000}],
                      **order}}


@pytest.fixture
def code() -> Code:
    Customer.objects.create(source_id="cust-1")
    campaign = CampaignFactory(slug="spring", discount_type=DiscountType.PERCENT, percent=15, max_amount=2000)
    return CodeFactory(campaign=campaign, code="SPRING15", max_uses=1)


def test_validation_answers_the_discount(api, code):
    # when
    response = api.post("/api/v1/validations", body(code="spring15"), format="json")
    # then
    assert response.status_code == 200
    assert response.json() == {"valid": True, "code": "SPRING15", "campaign": "spring",
                               "discount": {"type": "percent", "percent": 15, "max_amount": 2000},
                               "discount_amount": 1500, "currency": "EUR"}


def test_validation_of_a_refused_code_answers_the_reason(api, code):
    # when
    response = api.post("/api/v1/validations", body(currency="USD"), format="json")
    # then
    assert response.status_code == 200
    assert response.json() == {"valid": False, "reason": "currency_mismatch",
                               "message": "This offer is for another currency."}


def test_redemption_answers_201_with_the_redemption(api, code):
    # when
    response = api.post("/api/v1/redemptions", body(), format="json")
    # then
    redemption = Redemption.objects.get()
    assert response.status_code == 201
    data = response.json()
    assert data == {"id": redemption.pk, "code": "SPRING15", "campaign": "spring", "customer": "cust-1",
                    "order": "order-1", "discount_amount": 1500, "currency": "EUR", "status": "succeeded",
                    "created_at": data["created_at"]}
    assert AuditEntry.objects.get(action="code.redeemed").actor_label == "api:shop"


def test_a_refused_redemption_answers_422_with_the_reason(api, code):
    # given
    api.post("/api/v1/redemptions", body(), format="json")
    # when
    response = api.post("/api/v1/redemptions", body(source_id="order-2"), format="json")
    # then
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "code_used", "message": "This code has already been used.",
                                         "fields": {}}}
    assert Redemption.objects.count() == 1


def test_a_retried_order_answers_the_first_redemption(api, code):
    # given
    first = api.post("/api/v1/redemptions", body(), format="json")
    # when
    again = api.post("/api/v1/redemptions", body(), format="json")
    # then
    assert (again.status_code, again.json()) == (201, first.json())
    assert Redemption.objects.count() == 1


def test_rollback_answers_rolled_back_twice_alike(api, code):
    # given
    redemption_id = api.post("/api/v1/redemptions", body(), format="json").json()["id"]
    # when
    first = api.post(f"/api/v1/redemptions/{redemption_id}/rollback", {"reason": "cancelled"}, format="json")
    second = api.post(f"/api/v1/redemptions/{redemption_id}/rollback", {"reason": "cancelled"}, format="json")
    # then
    code.refresh_from_db()
    assert (first.status_code, first.json()) == (200, {"id": redemption_id, "status": "rolled_back"})
    assert (second.status_code, second.json()) == (200, {"id": redemption_id, "status": "rolled_back"})
    assert code.uses_count == 0


def test_rollback_of_an_unknown_redemption_is_404(api):
    response = api.post("/api/v1/redemptions/424242/rollback", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_field_errors_answer_400_with_fields(api, code):
    # when
    response = api.post("/api/v1/redemptions", {"customer": "cust-1", "order": {
        "amount": -1, "currency": "EURO", "items": [{"quantity": 0, "unit_price": 5}]}}, format="json")
    # then
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert response.json()["error"]["code"] == "invalid"
    assert set(fields) == {"code", "order.source_id", "order.amount", "order.currency", "order.items.0.sku",
                           "order.items.0.quantity"}
    assert Redemption.objects.count() == 0


def test_without_an_api_key_it_is_401(client, code):
    response = client.post("/api/v1/validations", body(), content_type="application/json")
    assert response.status_code == 401


def test_redemption_runs_a_bounded_number_of_queries(api, code, django_assert_max_num_queries):
    # given: key, code with campaign, customer; writes: redemption, code, usage (2), campaign, audit; and the
    # SAVEPOINT/RELEASE pair the test transaction turns the service's BEGIN/COMMIT into; the code.redeemed
    # webhook: its event, the endpoints, and its own savepoint pair
    api.post("/api/v1/validations", body(), format="json")  # the key's last_used_at is written once a minute
    # when / then
    with django_assert_max_num_queries(14):
        response = api.post("/api/v1/redemptions", body(), format="json")
    assert response.status_code == 201


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(api, code):
    # given
    first = api.post("/api/v1/redemptions", body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # when
    replay = api.post("/api/v1/redemptions", body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = api.post("/api/v1/redemptions", body(source_id="order-2"), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then
    assert (first.status_code, replay.status_code, replay.json()) == (201, 201, first.json())
    assert other.status_code == 409
    assert Redemption.objects.count() == 1

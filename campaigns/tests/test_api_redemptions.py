"""POST /api/v1/validations, /redemptions, /redemptions/{id}/rollback."""

import pytest
from django.db import connection

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


def test_the_code_endpoints_answer_json_whatever_the_client_accepts(api, code):
    # when: a client that asks for HTML (a browser's default Accept) still gets the JSON answer, not a 406
    validated = api.post("/api/v1/validations", body(), format="json", HTTP_ACCEPT="text/html")
    redeemed = api.post("/api/v1/redemptions", body(), format="json", HTTP_ACCEPT="text/html")
    # then
    assert (validated.status_code, validated["Content-Type"]) == (200, "application/json")
    assert (redeemed.status_code, redeemed["Content-Type"]) == (201, "application/json")
    assert redeemed.json()["code"] == "SPRING15"


def test_a_body_in_another_format_is_still_refused_with_415(api, code):
    response = api.post("/api/v1/redemptions", "code=SPRING15", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


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
    # given: key, code with campaign, customer (not the code's holder), then on PostgreSQL one statement for
    # every write, and the SAVEPOINT/RELEASE pair the test transaction turns the service's BEGIN/COMMIT into.
    # Elsewhere (the ORM path) the writes are redemption, usage, audit, the code.redeemed event and endpoints
    # (and its savepoint pair), code, counters.
    api.post("/api/v1/validations", body(), format="json")  # the key's last_used_at is written once a minute
    # when / then
    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 14):
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


# --- the request path without DRF's serializers answers as they do ------------------------------------------

GOOD = body()
BODIES = [
    GOOD, body(customer=None), body(customer=""), {"code": "SPRING15", "order": {"source_id": "o", "amount": 0,
                                                                                 "currency": "eur"}},
    body(items=[]), body(items=[{"sku": "A", "unit_price": 0}]), body(items=[{"sku": "A", "unit_price": 1,
                                                                               "name": "", "category": ""}]),
    body(shipping_amount=None), body(shipping_amount=490), {**GOOD, "unknown": 1},
    # what only DRF's path handles (converted, trimmed or refused there)
    body(code=" SPRING15 "), body(code=""), body(code="x" * 101), body(code="CAFÉ"), body(code="A\x00B"),
    body(code=15), body(customer=42), body(customer=True), body(customer="c" * 256), body(amount="100"),
    body(amount=True), body(amount=10.0), body(amount=-1), body(amount=2**70), body(currency="EURO"),
    body(currency="EU1"), body(currency="ÉUR"), body(currency=" EUR"), body(source_id=""), body(source_id=None),
    body(items=None), body(items={}), body(items=[{"sku": "A"}]), body(items=[{"unit_price": 1}]),
    body(items=[{"sku": "A", "unit_price": 1, "quantity": 0}]), body(items=[{"sku": "A", "unit_price": -1}]),
    body(items=[{"sku": "A", "unit_price": 1, "name": None}]), body(items=["A"]), body(shipping_amount=-1),
    body(shipping_amount="5"), {"code": "SPRING15"}, {"code": "SPRING15", "order": None}, [GOOD], "text",
    {**GOOD, "order": {k: v for k, v in GOOD["order"].items() if k != "amount"}},
]


def plain(value):
    """validated_data with DRF's OrderedDicts and ReturnLists as plain dicts and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.mark.parametrize("data", BODIES, ids=range(len(BODIES)))
def test_the_plain_input_path_accepts_only_what_the_serializer_accepts_as_it_is(data):
    from campaigns.api.redemptions import RedemptionInputSerializer, plain_redemption_input

    serializer = RedemptionInputSerializer(data=data)
    valid = serializer.is_valid()
    fast = plain_redemption_input(data)
    assert fast is None or (valid and fast == plain(serializer.validated_data))
    assert (fast is not None) == (BODIES.index(data) < 10)  # the usual bodies skip the serializer


@pytest.mark.parametrize("customer", ["cust-1", None])
def test_the_answer_is_what_the_output_serializer_wrote(customer):
    from campaigns.api.redemptions import RedemptionOutputSerializer, redemption_output
    from campaigns.tests.factories import RedemptionFactory

    redemption = RedemptionFactory(customer=Customer.objects.create(source_id="c-9") if customer else None)
    assert redemption_output(redemption) == RedemptionOutputSerializer(redemption).data


# --- API keys kept per process (retention.api.authentication) ------------------------------------------------

def test_a_kept_api_key_stops_at_once_when_revoked(api, code):
    from retention.actors import Actor
    from retention.models import ApiKey
    from retention.services.api_keys import revoke_api_key

    # given a key just used (kept by the process when the cache is shared)
    assert api.post("/api/v1/validations", body(), format="json").status_code == 200
    assert api.post("/api/v1/validations", body(), format="json").status_code == 200
    # when it is revoked
    revoke_api_key(api_key=ApiKey.objects.get(), actor=Actor.system("test"))
    # then the next request is refused
    response = api.post("/api/v1/redemptions", body(), format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
    assert Redemption.objects.count() == 0


def test_a_kept_api_key_is_not_looked_up_again(api, code):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from django.test.utils import CaptureQueriesContext

    if not isinstance(caches["default"], RedisCache):
        pytest.skip("keys are kept only with a cache every process shares (Redis)")
    api.post("/api/v1/validations", body(), format="json")
    with CaptureQueriesContext(connection) as queries:
        assert api.post("/api/v1/validations", body(), format="json").status_code == 200
    assert not [query for query in queries.captured_queries if "retention_apikey" in query["sql"]]

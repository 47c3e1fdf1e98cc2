"""Failed look-ups (not_found) are throttled per API key, customer and client IP: 429 with Retry-After."""

import pytest

from campaigns.models import Redemption
from campaigns.tests.factories import CampaignFactory, CodeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit_of_three(settings):
    settings.RETENTION = {**settings.RETENTION, "RATE_LIMIT_FAILED_LOOKUPS": 3, "RATE_LIMIT_WINDOW_SECONDS": 60}


def guess(api, path: str, code: str, customer: str | None = None, ip: str = "10.0.0.1"):
    body = {"code": code, "customer": customer,
            "order": {"source_id": f"o-{code}", "amount": 1000, "currency": "EUR"}}
    return api.post(path, body, format="json", REMOTE_ADDR=ip)


@pytest.mark.parametrize("path", ["/api/v1/validations", "/api/v1/redemptions"])
def test_guessing_past_the_limit_answers_429_with_retry_after(api, limit_of_three, path):
    # given
    answers = [guess(api, path, f"WRONG{n}").status_code for n in range(3)]
    # when
    response = guess(api, path, "WRONG4")
    # then
    assert answers == ([200, 200, 200] if path.endswith("validations") else [422, 422, 422])
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_once_throttled_even_a_real_code_answers_429(api, limit_of_three):
    # given
    code = CodeFactory(campaign=CampaignFactory(percent=10), code="REAL1")
    for n in range(4):
        guess(api, "/api/v1/redemptions", f"WRONG{n}")
    # when
    response = guess(api, "/api/v1/redemptions", code.code)
    # then
    assert response.status_code == 429
    assert Redemption.objects.count() == 0


def test_found_codes_are_not_counted(api, limit_of_three):
    # given
    CodeFactory(campaign=CampaignFactory(percent=10), code="REAL1", max_uses=None)
    # when
    answers = [guess(api, "/api/v1/validations", "REAL1").status_code for _ in range(6)]
    # then
    assert answers == [200] * 6


def test_the_customer_is_throttled_from_any_ip(api, limit_of_three):
    # given: the API key is counted too, so count on a fresh key by spreading over IPs is not enough
    for n in range(3):
        guess(api, "/api/v1/validations", f"WRONG{n}", customer="cust-9", ip=f"10.0.1.{n}")
    # when
    response = guess(api, "/api/v1/validations", "WRONG9", customer="cust-9", ip="10.0.2.1")
    # then
    assert response.status_code == 429

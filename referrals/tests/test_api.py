"""API.md "Referrals": paths, fields, reason codes, Idempotency-Key."""

import pytest

from campaigns.tests.factories import CampaignFactory
from referrals.models import Referral, ReferralProgram
from retention.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_customer_referral_creates_the_code_on_first_ask(api, program, anna):
    # when
    first = api.get("/api/v1/customers/anna/referral")
    second = api.get(f"/api/v1/customers/anna/referral?program={program.pk}")
    # then
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"program", "code", "link", "invited", "converted", "rewards"}
    assert body["code"].startswith("ANNA-") and body["link"] == f"https://shop.example/?ref={body['code']}"
    assert (body["program"], body["invited"], body["converted"], body["rewards"]) == (program.pk, 0, 0, [])
    assert second.json()["code"] == body["code"]


def test_unknown_customer_is_404(api, program):
    assert api.get("/api/v1/customers/nobody/referral").status_code == 404


def test_register_referral_answers_201_pending_and_is_idempotent(api, anna_code, ben):
    # when
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    answer = api.post("/api/v1/referrals", {"referral_code": "ANNA-7KQ2", "customer": "ben"}, format="json",
                      **headers)
    again = api.post("/api/v1/referrals", {"referral_code": "ANNA-7KQ2", "customer": "ben"}, format="json",
                     **headers)
    # then
    assert answer.status_code == 201
    assert answer.json() == {"id": Referral.objects.get().pk, "status": "pending"}
    assert (again.status_code, again.json()) == (201, answer.json())


@pytest.mark.parametrize("reason", ["unknown_code", "self_referral", "not_new_customer", "already_referred",
                                    "program_inactive", "limit_reached"])
def test_register_refusals_are_422_with_the_reason(api, anna_code, program, anna, ben, reason):
    # given
    body = {"referral_code": "ANNA-7KQ2", "customer": "ben"}
    if reason == "unknown_code":
        body["referral_code"] = "NOPE-0000"
    elif reason == "self_referral":
        body["customer"] = "anna"
    elif reason == "not_new_customer":
        OrderFactory(customer=ben)
    elif reason == "already_referred":
        api.post("/api/v1/referrals", body, format="json")
    elif reason == "program_inactive":
        ReferralProgram.objects.update(is_enabled=False)
    else:
        ReferralProgram.objects.update(budget=100, budget_spent=100)
    # when
    answer = api.post("/api/v1/referrals", body, format="json")
    # then
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == reason


def test_malformed_referral_is_400_naming_the_field(api, program):
    answer = api.post("/api/v1/referrals", {"customer": "ben"}, format="json")
    assert answer.status_code == 400
    assert "referral_code" in answer.json()["error"]["fields"]


def test_program_create_get_patch(api, loyalty_program):
    # given
    CampaignFactory(slug="welcome-10")
    CampaignFactory(slug="thirty-eur", discount_type="amount", percent=None, amount=3000)
    body = {
        "name": "Bring a friend", "link_template": "https://shop.example/?ref={code}", "friend_campaign": "welcome-10",
        "conversion": {"event": "first_order", "min_order_amount": 2500, "within_days": 60},
        "reward_hold_days": 14,
        "tiers": [{"referrals": 1, "reward": {"points": 500}}, {"referrals": 5, "reward": {"campaign": "thirty-eur"}},
                  {"referrals": 10, "reward": {"cash_amount": 5000}}],
        "loyalty_program": loyalty_program.pk, "limits": {"max_rewards_per_referrer_per_month": 3},
    }
    # when
    created = api.post("/api/v1/referrals/programs", body, format="json")
    # then
    assert created.status_code == 201
    program = created.json()
    assert program["conversion"] == {"event": "first_order", "min_order_amount": 2500, "within_days": 60}
    assert [tier["type"] for tier in program["tiers"]] == ["points", "code", "cash"]
    assert program["tiers"][1]["reward"] == {"campaign": "thirty-eur"}
    assert program["limits"] == {"max_rewards_per_referrer_per_month": 3}
    assert (program["friend_campaign"], program["reward_hold_days"], program["default"]) == ("welcome-10", 14, True)
    # when
    patched = api.patch(f"/api/v1/referrals/programs/{program['id']}", {"reward_hold_days": 0, "enabled": False},
                        format="json")
    listed = api.get("/api/v1/referrals/programs")
    # then
    assert (patched.status_code, patched.json()["reward_hold_days"], patched.json()["enabled"]) == (200, 0, False)
    assert len(patched.json()["tiers"]) == 3
    assert listed.json()["results"][0]["id"] == program["id"]


def test_program_errors_name_the_field(api, program):
    answer = api.post("/api/v1/referrals/programs", {
        "name": "X", "link_template": "https://shop.example/", "friend_campaign": "nope",
        "tiers": [{"referrals": 1, "reward": {"points": 5, "cash_amount": 3}}]}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {"link_template", "friend_campaign", "tiers.0.reward"}
    assert api.get("/api/v1/referrals/programs/999").status_code == 404


def test_conversion_through_the_order_api_rewards_the_referrer(api, anna_code, ben, django_capture_on_commit_callbacks):
    # given
    api.post("/api/v1/referrals", {"referral_code": "ANNA-7KQ2", "customer": "ben"}, format="json")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/orders", {"source_id": "B-1", "customer": "ben", "amount": 5000, "currency": "EUR",
                                    "status": "paid", "items": [], "created_at": "2026-11-23T10:00:00+00:00"},
                 format="json")
    # then
    assert Referral.objects.get().status == "rewarded"
    body = api.get("/api/v1/customers/anna/referral").json()
    assert (body["invited"], body["converted"], body["rewards"][0]["points"]) == (1, 1, 500)


def test_api_needs_a_key(client, program):
    assert client.get("/api/v1/referrals/programs").status_code == 401


def test_customer_referral_refuses_a_new_code_when_off_or_not_eligible(api, program, anna, ben):
    from retention.tests.factories import StaticSegmentFactory

    program.segment = StaticSegmentFactory(members=[anna])
    program.save()
    assert api.get("/api/v1/customers/ben/referral").json()["error"]["code"] == "not_eligible"
    ReferralProgram.objects.update(is_enabled=False)
    answer = api.get("/api/v1/customers/anna/referral")
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "program_inactive")


def test_no_program_at_all_is_422_no_program(api, anna):
    answer = api.get("/api/v1/customers/anna/referral")
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "no_program")


def test_bulk_registration_answers_one_result_per_item_in_order(api, anna_code, anna, ben):
    # given
    body = {"referrals": [{"referral_code": "ANNA-7KQ2", "customer": "ben", "device_id": "d-1"},
                          {"referral_code": "NOPE-0000", "customer": "ben"},
                          {"referral_code": "ANNA-7KQ2", "customer": "nobody"},
                          {"referral_code": "ANNA-7KQ2", "customer": "anna"},
                          {"referral_code": "ANNA-7KQ2", "customer": "ben"}]}
    # when
    answer = api.post("/api/v1/referrals/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    again = api.post("/api/v1/referrals/bulk", body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    # then
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert results[0] == {"id": Referral.objects.get().pk, "status": "pending"}
    assert [result.get("error", {}).get("code") for result in results] == [
        None, "unknown_code", "not_found", "self_referral", "already_referred"]
    assert set(results[1]["error"]) == {"code", "message", "fields"}
    assert (again.status_code, again.json()) == (200, answer.json())
    assert Referral.objects.count() == 1


def test_bulk_registration_validates_the_body(api, anna_code):
    assert api.post("/api/v1/referrals/bulk", {"referrals": []}, format="json").status_code == 400
    answer = api.post("/api/v1/referrals/bulk", {"referrals": [{"customer": "ben"}]}, format="json")
    assert answer.status_code == 400
    assert "referrals.0.referral_code" in answer.json()["error"]["fields"]



import pytest
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from loyalty.models import LedgerEntry, LoyaltyAccount, LoyaltyProgram, Reward, RewardRedemption
from loyalty.services.earning import earn_for_order
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, StaticSegmentFactory

pytestmark = pytest.mark.django_db



@pytest.fixture
def member():
    program = LoyaltyProgramFactory(points_per_unit=1, points_expire_after_days=365)
    TierFactory(program=program, name="Silver", threshold=0)
    TierFactory(program=program, name="Gold", threshold=500)
    customer = CustomerFactory(source_id="c-1")
    earn_for_order(order_id=paid_order(customer, 15000, source_id="A-1").pk)
    return program, customer


def test_summary_has_api_md_shape(api, member):
    # given 150 points, Silver, a 100-point and a 200-point reward
    program, _customer = member
    cheap = RewardFactory(program=program, name="Tote", cost=100)
    dear = RewardFactory(program=program, name="Dinner", cost=200)
    # when
    response = api.get("/api/v1/customers/c-1/loyalty")
    # then
    body = response.json()
    assert response.status_code == 200
    assert (body["program"], body["points"], body["pending_points"], body["tier"]) == (program.pk, 150, 0, "Silver")
    assert body["next_tier"] == {"name": "Gold", "points_to_go": 350}
    assert [row["points"] for row in body["expiring"]] == [150]
    assert [(row["id"], row["name"], row["cost"], row["affordable"]) for row in body["rewards"]] == [
        (cheap.pk, "Tote", 100, True), (dear.pk, "Dinner", 200, False)]


def test_summary_queries_do_not_grow_with_the_ledger(api, member, django_assert_max_num_queries):
    program, customer = member
    for index in range(30):
        earn_for_order(order_id=paid_order(customer, 100, source_id=f"B-{index}").pk)
    # key (+ its last_used_at); customer + program + account + tiers in one statement; lots; rewards
    with django_assert_max_num_queries(5):
        assert api.get("/api/v1/customers/c-1/loyalty").status_code == 200


def test_summary_rewards_say_which_are_available_and_the_next_tier_is_above_the_current_one(api, member):
    # given 150 points in Silver; a Gold-only reward, one out of stock, one for a segment the member is in and
    # one for a segment they are not in, an inactive one
    program, customer = member
    gold = program.tiers.get(name="Gold")
    RewardFactory(program=program, name="Gold lounge", cost=10, min_tier=gold)
    RewardFactory(program=program, name="Sold out", cost=20, stock=0)
    RewardFactory(program=program, name="Members", cost=30, segment=StaticSegmentFactory(members=[customer]))
    RewardFactory(program=program, name="Others", cost=40, segment=StaticSegmentFactory(members=[]))
    RewardFactory(program=program, name="Retired", cost=50, is_active=False)
    # when
    body = api.get(f"/api/v1/customers/c-1/loyalty?program={program.pk}").json()
    # then
    assert [(row["name"], row["available"], row["affordable"], row["points_to_go"]) for row in body["rewards"]] == [
        ("Gold lounge", False, False, 0), ("Sold out", False, False, 0), ("Members", True, True, 0),
        ("Others", False, False, 0)]
    assert body["next_tier"] == {"name": "Gold", "points_to_go": 350}
    assert body["expiring"][0]["expires_at"].startswith(str(timezone.now().year + 1)[:2])


def test_summary_answers_for_the_default_program_and_refuses_a_malformed_one(api, member):
    program, _customer = member
    other = LoyaltyProgramFactory(is_default=True)
    assert api.get("/api/v1/customers/c-1/loyalty").json()["program"] == other.pk
    assert api.get(f"/api/v1/customers/c-1/loyalty?program={program.pk}").json()["points"] == 150
    assert api.get("/api/v1/customers/c-1/loyalty?program=abc").status_code == 404
    assert api.get("/api/v1/customers/nobody/loyalty?program=abc").json()["error"]["message"].startswith(
        "No customer")


def test_summary_creates_the_account_of_a_new_customer(api, member):
    CustomerFactory(source_id="c-2")
    body = api.get("/api/v1/customers/c-2/loyalty").json()
    assert (body["points"], body["tier"]) == (0, None)
    assert LoyaltyAccount.objects.filter(customer__source_id="c-2").count() == 1


def test_unknown_customer_or_program_is_404(api, member):
    assert api.get("/api/v1/customers/nobody/loyalty").json()["error"]["code"] == "not_found"
    assert api.get("/api/v1/customers/c-1/loyalty?program=999").status_code == 404


def test_history_is_newest_first_and_paginated(api, member):
    _program, customer = member
    earn_for_order(order_id=paid_order(customer, 200, source_id="A-2").pk)
    body = api.get("/api/v1/customers/c-1/loyalty/history").json()
    assert body["count"] == 2
    assert [(row["source_id"], row["points"], row["balance_after"]) for row in body["results"]] == [
        ("A-2", 2, 152), ("A-1", 150, 150)]


def test_redeem_spends_points_and_returns_the_code(api, member):
    program, _customer = member
    campaign = CampaignFactory(slug="loyalty-10")
    reward = RewardFactory(program=program, type="code", campaign=campaign, cost=100)
    # when
    response = api.post(f"/api/v1/customers/c-1/loyalty/rewards/{reward.pk}/redeem", HTTP_IDEMPOTENCY_KEY="k-1")
    replay = api.post(f"/api/v1/customers/c-1/loyalty/rewards/{reward.pk}/redeem", HTTP_IDEMPOTENCY_KEY="k-1")
    # then
    body = response.json()
    assert response.status_code == 201
    assert (body["reward"]["id"], body["points_spent"]) == (reward.pk, 100)
    assert body["code"] and body["code"] == replay.json()["code"]
    assert LoyaltyAccount.objects.get(customer__source_id="c-1").points == 50
    assert RewardRedemption.objects.count() == 1


def test_redeem_refusals_are_422_and_change_nothing(api, member):
    program, _customer = member
    dear = RewardFactory(program=program, cost=1000)
    gone = RewardFactory(program=program, cost=10, stock=0)
    for reward, code in ((dear, "insufficient_points"), (gone, "reward_unavailable")):
        response = api.post(f"/api/v1/customers/c-1/loyalty/rewards/{reward.pk}/redeem")
        assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert LoyaltyAccount.objects.get(customer__source_id="c-1").points == 150
    assert RewardRedemption.objects.count() == 0
    assert LedgerEntry.objects.count() == 1
    assert api.post("/api/v1/customers/c-1/loyalty/rewards/9999/redeem").status_code == 404


def test_adjustment_returns_the_entry_and_is_audited(api, member):
    response = api.post("/api/v1/customers/c-1/loyalty/adjustments", {"points": -20, "reason": "Goodwill fix"},
                        format="json")
    body = response.json()
    assert response.status_code == 201
    assert (body["kind"], body["points"], body["balance_after"], body["description"]) == (
        "adjust", -20, 130, "Goodwill fix")
    assert AuditEntry.objects.filter(action="loyalty.points_adjusted").count() == 1


def test_adjustment_bad_input_and_above_threshold(api, member):
    bad = api.post("/api/v1/customers/c-1/loyalty/adjustments", {"points": 0}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"points", "reason"}
    big = api.post("/api/v1/customers/c-1/loyalty/adjustments", {"points": 5000, "reason": "x"}, format="json")
    assert (big.status_code, big.json()["error"]["code"]) == (422, "approval_required")
    assert LedgerEntry.objects.count() == 1


PROGRAM_BODY = {
    "name": "Club", "points_per_unit": 2, "currency": "eur", "pending_days": 14, "points_expire_after_days": 365,
    "tiers": [{"name": "Silver", "threshold": 0, "multiplier": 1}, {"name": "Gold", "threshold": 1000,
                                                                    "multiplier": "1.5"}],
    "earning_rules": [{"event_type": "review_submitted", "points": 50}],
    "rewards": [{"name": "5 EUR off", "cost": 500, "type": "code", "campaign": "five-off"},
                {"name": "Tree planted", "cost": 100, "type": "donation"}],
}


def test_create_get_patch_program(api, db):
    # given
    CampaignFactory(slug="five-off")
    # when
    created = api.post("/api/v1/loyalty/programs", PROGRAM_BODY, format="json")
    # then
    body = created.json()
    assert created.status_code == 201
    assert (body["name"], body["currency"], body["points_per_unit"], body["pending_days"]) == ("Club", "EUR", 2, 14)
    assert [(tier["name"], tier["threshold"], tier["multiplier"]) for tier in body["tiers"]] == [
        ("Silver", 0, 1), ("Gold", 1000, 1.5)]
    assert [(reward["name"], reward["campaign"]) for reward in body["rewards"]] == [
        ("Tree planted", None), ("5 EUR off", "five-off")]
    # when patched
    patched = api.patch(f"/api/v1/loyalty/programs/{body['id']}", {"pending_days": 0, "tiers": [
        {"name": "Gold", "threshold": 800, "multiplier": 2}]}, format="json")
    assert patched.status_code == 200
    assert [(tier["name"], tier["threshold"]) for tier in patched.json()["tiers"]] == [("Gold", 800)]
    assert api.get(f"/api/v1/loyalty/programs/{body['id']}").json()["pending_days"] == 0
    assert api.get("/api/v1/loyalty/programs").json()["count"] == 1
    assert AuditEntry.objects.filter(action__startswith="loyalty.program_").count() == 2


def test_program_bad_input_is_400_with_fields(api, db):
    response = api.post("/api/v1/loyalty/programs", {**PROGRAM_BODY, "points_per_unit": -1}, format="json")
    assert response.status_code == 400
    assert "points_per_unit" in response.json()["error"]["fields"]
    unknown = api.post("/api/v1/loyalty/programs", PROGRAM_BODY, format="json")  # campaign five-off is missing
    assert (unknown.status_code, list(unknown.json()["error"]["fields"])) == (400, ["rewards.0.campaign"])
    assert LoyaltyProgram.objects.count() == 0
    assert Reward.objects.count() == 0
    assert api.get("/api/v1/loyalty/programs/42").status_code == 404


def test_default_program_answers_customer_endpoints(api, member):
    program, _customer = member
    other = LoyaltyProgramFactory(is_default=True)
    assert api.get("/api/v1/customers/c-1/loyalty").json()["program"] == other.pk
    assert api.get(f"/api/v1/customers/c-1/loyalty?program={program.pk}").json()["points"] == 150

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns.models import Campaign, Code, GenerationJob
from campaigns.tests.factories import CampaignFactory, CodeFactory
from retention.models import AuditEntry, JobStatus
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the services are durable
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

BODY = {
    "name": "Second order 15%",
    "type": "unique",
    "discount": {"type": "percent", "percent": 15, "max_amount": 2000},
    "code_config": {"length": 10, "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", "prefix": "WB-", "postfix": ""},
    "rules": {"currency": "EUR", "min_order_amount": 5000, "countries": ["DE", "AT"], "first_order_only": False,
              "assigned_only": True, "max_redemptions": 500, "max_redemptions_per_customer": 1, "budget": 100000},
    "starts_at": "2026-12-01T00:00:00+01:00",
    "ends_at": "2026-12-31T23:59:59+01:00",
    "code_valid_days": 30,
    "trigger": None,
}


@time_machine.travel(NOW, tick=False)
def test_create_campaign_answers_201_with_slug_status_and_counters(api):
    # when
    response = api.post("/api/v1/campaigns", BODY, format="json")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["slug"], body["status"], body["type"]) == ("second-order-15", "active", "unique")
    assert body["discount"] == {"type": "percent", "percent": 15, "max_amount": 2000}
    assert body["rules"]["countries"] == ["DE", "AT"]
    assert (body["codes_issued"], body["redemptions"], body["discount_total"]) == (0, 0, 0)
    assert body["starts_at"] == "2026-11-30T23:00:00+00:00"


def test_create_draft_then_launch_with_patch(api):
    # given
    api.post("/api/v1/campaigns", {**BODY, "draft": True, "starts_at": None, "ends_at": None}, format="json")
    assert api.get("/api/v1/campaigns/second-order-15").json()["status"] == "draft"
    # when
    response = api.patch("/api/v1/campaigns/second-order-15", {"draft": False}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "active"


def test_invalid_body_answers_400_with_fields_and_creates_nothing(api):
    # when
    response = api.post("/api/v1/campaigns", {**BODY, "discount": {"type": "percent", "percent": 150},
                                              "rules": {"countries": ["XX1"]}}, format="json")
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"discount.percent", "rules.countries"}
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.filter(action="campaign.created").count() == 0


def test_missing_fields_answer_400(api):
    response = api.post("/api/v1/campaigns", {"type": "unique"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "discount"}


def test_idempotency_key_replays_the_first_answer(api):
    # when
    first = api.post("/api/v1/campaigns", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/campaigns", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = api.post("/api/v1/campaigns", {**BODY, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    # then
    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 409)
    assert second.json() == first.json()
    assert Campaign.objects.count() == 1


def test_list_filters_by_status_and_type(api):
    # given
    CampaignFactory(slug="live")
    CampaignFactory(slug="halted", is_paused=True)
    CampaignFactory(slug="shared", type="public", public_code="SHARED")
    # when
    paused = api.get("/api/v1/campaigns?status=paused").json()
    public = api.get("/api/v1/campaigns?type=public").json()
    everything = api.get("/api/v1/campaigns").json()
    # then
    assert [campaign["slug"] for campaign in paused["results"]] == ["halted"]
    assert [campaign["slug"] for campaign in public["results"]] == ["shared"]
    assert everything["count"] == 3
    assert api.get("/api/v1/campaigns?status=bogus").status_code == 400


def test_list_runs_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for _ in range(5):
        CampaignFactory()
    with django_assert_max_num_queries(6):  # key, count, page, segments prefetch (+ key last_used update)
        assert api.get("/api/v1/campaigns").status_code == 200


def test_unknown_campaign_answers_404(api):
    response = api.get("/api/v1/campaigns/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pause_and_resume(api):
    # given
    CampaignFactory(slug="spring")
    # when
    paused = api.post("/api/v1/campaigns/spring/pause")
    paused_again = api.post("/api/v1/campaigns/spring/pause")
    resumed = api.post("/api/v1/campaigns/spring/resume")
    # then
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert paused_again.json()["status"] == "paused"
    assert resumed.json()["status"] == "active"
    assert AuditEntry.objects.filter(action__in=["campaign.paused", "campaign.resumed"]).count() == 2


def test_issue_a_code_to_a_customer(api):
    # given
    campaign = CampaignFactory(slug="spring", code_valid_days=7)
    CustomerFactory(source_id="c-1")
    # when
    response = api.post("/api/v1/campaigns/spring/codes", {"customer": "c-1"}, format="json")
    # then
    assert response.status_code == 201
    body = response.json()
    code = Code.objects.get()
    assert (body["code"], body["campaign"], body["customer"]) == (code.code, "spring", "c-1")
    assert body["expires_at"] == code.expires_at.isoformat()
    assert Campaign.objects.get(pk=campaign.pk).codes_issued == 1


def test_issue_a_code_with_idempotency_key_issues_once(api):
    CampaignFactory(slug="spring")
    first = api.post("/api/v1/campaigns/spring/codes", {}, format="json", HTTP_IDEMPOTENCY_KEY="once")
    second = api.post("/api/v1/campaigns/spring/codes", {}, format="json", HTTP_IDEMPOTENCY_KEY="once")
    assert second.json()["code"] == first.json()["code"]
    assert Code.objects.count() == 1


def test_issue_refusals(api):
    # given
    CampaignFactory(slug="halted", is_paused=True)
    CampaignFactory(slug="spring")
    # when
    paused = api.post("/api/v1/campaigns/halted/codes", {}, format="json")
    unknown_customer = api.post("/api/v1/campaigns/spring/codes", {"customer": "ghost"}, format="json")
    # then
    assert (paused.status_code, paused.json()["error"]["code"]) == (422, "campaign_paused")
    assert (unknown_customer.status_code, list(unknown_customer.json()["error"]["fields"])) == (400, ["customer"])
    assert Code.objects.count() == 0


def test_generation_is_accepted_and_can_be_polled(api):
    # given
    CampaignFactory(slug="bulk")
    # when
    response = api.post("/api/v1/campaigns/bulk/generations", {"count": 40}, format="json")
    # then: eager Celery in tests has finished it already
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["generated"], body["count"]) == (JobStatus.DONE, 40, 40)
    polled = api.get(f"/api/v1/generations/{body['id']}").json()
    assert (polled["id"], polled["status"], polled["generated"], polled["count"]) == (body["id"], "done", 40, 40)
    assert Code.objects.count() == 40


def test_generation_refusals(api):
    CampaignFactory(slug="weak", code_length=7)
    assert api.post("/api/v1/campaigns/weak/generations", {"count": 0}, format="json").status_code == 400
    refused = api.post("/api/v1/campaigns/weak/generations", {"count": 10}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "weak_codes_not_confirmed")
    assert GenerationJob.objects.count() == 0
    assert api.get("/api/v1/generations/999").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_codes_csv_is_streamed(api):
    # given
    campaign = CampaignFactory(slug="spring")
    customer = CustomerFactory(source_id="c-9")
    CodeFactory(code="AAA", campaign=campaign, customer=customer, issued_at=NOW, expires_at=NOW + timedelta(days=1))
    CodeFactory(code="BBB", campaign=campaign, issued_at=NOW, uses_count=1, max_uses=1)
    CodeFactory(code="CCC", campaign=CampaignFactory())
    # when
    response = api.get("/api/v1/campaigns/spring/codes.csv")
    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["code", "customer", "issued_at", "expires_at", "uses", "max_uses", "balance", "status"],
        ["AAA", "c-9", NOW.isoformat(), (NOW + timedelta(days=1)).isoformat(), "0", "1", "", "active"],
        ["BBB", "", NOW.isoformat(), "", "1", "1", "", "used"],
    ]


@time_machine.travel(NOW, tick=False)
def test_wallet_lists_codes_with_status(api, django_assert_max_num_queries):
    # given
    customer = CustomerFactory(source_id="c-1")
    campaign = CampaignFactory(slug="spring", percent=15)
    CodeFactory(code="ACTIVE", campaign=campaign, customer=customer, issued_at=NOW - timedelta(hours=1))
    CodeFactory(code="USED", campaign=campaign, customer=customer, uses_count=1, issued_at=NOW - timedelta(hours=2))
    CodeFactory(code="OLD", campaign=campaign, customer=customer, expires_at=NOW - timedelta(days=1),
                issued_at=NOW - timedelta(hours=3))
    CodeFactory(code="OFF", campaign=campaign, customer=customer, is_disabled=True, issued_at=NOW - timedelta(hours=4))
    CodeFactory(code="OTHER", campaign=campaign, customer=CustomerFactory())
    # when
    with django_assert_max_num_queries(4):  # key, customer, codes (+ key last_used update)
        response = api.get("/api/v1/customers/c-1/codes")
    # then
    assert response.status_code == 200
    assert [(entry["code"], entry["status"]) for entry in response.json()] == [
        ("ACTIVE", "active"), ("USED", "used"), ("OLD", "expired"), ("OFF", "disabled")]
    assert response.json()[0]["campaign"] == "spring"
    assert response.json()[0]["discount"] == {"type": "percent", "percent": 15, "max_amount": None}
    assert api.get("/api/v1/customers/ghost/codes").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_auto_discounts_list_usable_automatic_codes_only(api, django_assert_max_num_queries):
    # given
    customer = CustomerFactory(source_id="c-1")
    campaign = CampaignFactory(slug="sorry")
    CodeFactory(code="NEXT", campaign=campaign, customer=customer, is_automatic=True, amount_override=500)
    CodeFactory(code="TYPED", campaign=campaign, customer=customer)
    CodeFactory(code="SPENT", campaign=campaign, customer=customer, is_automatic=True, uses_count=1)
    CodeFactory(code="HALTED", campaign=CampaignFactory(is_paused=True), customer=customer, is_automatic=True)
    # when
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/customers/c-1/auto-discounts")
    # then
    assert response.status_code == 200
    assert [(entry["id"], entry["code"], entry["discount"]) for entry in response.json()] == [
        ("NEXT", "NEXT", {"type": "amount", "amount": 500})]


def test_gdpr_export_holds_the_customer_codes(api):
    # given
    customer = CustomerFactory(source_id="c-1")
    CodeFactory(code="MINE", campaign=CampaignFactory(slug="spring"), customer=customer)
    # when
    response = api.get("/api/v1/customers/c-1/export")
    # then
    assert response.status_code == 200
    section = response.json()["campaigns"]
    assert [(code["code"], code["campaign"], code["status"]) for code in section["codes"]] == [
        ("MINE", "spring", "active")]
    assert section["redemptions"] == []

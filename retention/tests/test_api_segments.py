"""POST/GET/PATCH/DELETE /segments, GET /segments/{slug}/customers."""

import pytest

from retention.models import AuditEntry, Segment, StaticSegmentMember
from retention.tests.factories import CustomerFactory, SegmentFactory

pytestmark = pytest.mark.django_db
DORMANT = {"name": "Germans", "slug": "germans", "match": "all",
           "rules": [{"field": "country", "op": "eq", "value": "DE"}]}


def test_create_dynamic_segment_with_count(api):
    # given two Germans and a French customer
    CustomerFactory.create_batch(2, country="DE")
    CustomerFactory(country="FR")
    # when the segment is created
    response = api.post("/api/v1/segments", DORMANT, format="json")
    # then 201 with its count
    assert response.status_code == 201
    data = response.json()
    assert (data["slug"], data["kind"], data["match"], data["count"]) == ("germans", "dynamic", "all", 2)
    assert data["rules"] == DORMANT["rules"] and "unknown_members" not in data
    assert AuditEntry.objects.filter(action="segment.created").count() == 1


def test_create_static_segment_reports_unknown_members(api):
    # given two customers
    CustomerFactory(source_id="c1")
    CustomerFactory(source_id="c2", email="two@example.com")
    # when a static segment names them (one by email) and one stranger
    response = api.post("/api/v1/segments", {"name": "List", "slug": "list",
                                             "members": ["c1", "TWO@example.com", "stranger"]}, format="json")
    # then both are members and the stranger is reported
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["count"], response.json()["unknown_members"]) == (
        "static", 2, ["stranger"])
    assert StaticSegmentMember.objects.count() == 2


@pytest.mark.parametrize(("body", "field"), [
    ({**DORMANT, "slug": "not a slug"}, "slug"),
    ({**DORMANT, "match": "most"}, "match"),
    ({**DORMANT, "rules": [{"field": "shoe", "op": "eq", "value": 1}]}, "rules.0.field"),
    ({**DORMANT, "rules": [{"field": "country", "op": "gt", "value": "DE"}]}, "rules.0.op"),
    ({**DORMANT, "rules": [{"field": "orders_count", "op": "gt", "value": "x"}]}, "rules.0.value"),
    ({**DORMANT, "name": ""}, "name"),
])
def test_invalid_segment_names_the_field(api, body, field):
    response = api.post("/api/v1/segments", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Segment.objects.count() == 0


def test_taken_slug_is_400(api):
    SegmentFactory(slug="germans")
    response = api.post("/api/v1/segments", DORMANT, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["slug"])
    assert Segment.objects.count() == 1


def test_idempotent_segment_creation(api):
    first = api.post("/api/v1/segments", DORMANT, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    second = api.post("/api/v1/segments", DORMANT, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    other = api.post("/api/v1/segments", {**DORMANT, "slug": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert (first.status_code, second.status_code, other.status_code) == (201, 201, 409)
    assert second.json() == first.json()
    assert Segment.objects.count() == 1


def test_list_get_patch_delete(api):
    # given a segment and a German
    CustomerFactory(country="DE")
    api.post("/api/v1/segments", DORMANT, format="json")
    # when listed, fetched, patched and deleted
    listed = api.get("/api/v1/segments").json()
    fetched = api.get("/api/v1/segments/germans").json()
    patched = api.patch("/api/v1/segments/germans", {"name": "French", "rules": [
        {"field": "country", "op": "eq", "value": "FR"}]}, format="json")
    deleted = api.delete("/api/v1/segments/germans")
    # then
    assert [(item["slug"], item["count"]) for item in listed["results"]] == [("germans", 1)]
    assert fetched["count"] == 1
    assert (patched.status_code, patched.json()["name"], patched.json()["count"]) == (200, "French", 0)
    assert deleted.status_code == 204 and Segment.objects.count() == 0
    assert api.get("/api/v1/segments/germans").status_code == 404


def test_patch_with_invalid_rules_changes_nothing(api):
    SegmentFactory(slug="germans", rules=DORMANT["rules"])
    response = api.patch("/api/v1/segments/germans", {"rules": [{"field": "x", "op": "eq", "value": 1}]},
                         format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["rules.0.field"])
    assert Segment.objects.get().rules == DORMANT["rules"]


def test_segment_customers_paginated_in_fixed_queries(api, django_assert_max_num_queries):
    # given 3 Germans with tags
    for number in range(3):
        CustomerFactory(source_id=f"c{number}", country="DE", tags=["vip"])
    SegmentFactory(slug="germans", rules=DORMANT["rules"])
    # when the members are listed: key, last_used, segment, count, page, tags
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/segments/germans/customers")
    # then
    data = response.json()
    assert data["count"] == 3
    assert [customer["source_id"] for customer in data["results"]] == ["c0", "c1", "c2"]
    assert data["results"][0]["tags"] == ["vip"]

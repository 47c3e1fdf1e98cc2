import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from retention.models import AuditEntry, Segment, SegmentKind, StaticSegmentMember
from retention.tests.factories import CustomerFactory, SegmentFactory, StaticSegmentFactory

pytestmark = pytest.mark.django_db


def _rules_post(rows: list[tuple[str, str, str]], key: str = "", **fields) -> dict:
    return {
        "name": "Dormant Germans", "slug": "", "description": "", "kind": "dynamic", "match": "all",
        "rule_field": [row[0] for row in rows], "rule_key": [key for _row in rows],
        "rule_op": [row[1] for row in rows], "rule_value": [row[2] for row in rows], **fields,
    }


def test_list_shows_rules_in_words_and_counts_live(client, agent):
    # given a dynamic segment with two rules and one German customer
    segment = SegmentFactory(name="German regulars", match="all", rules=[
        {"field": "country", "op": "eq", "value": "DE"}, {"field": "orders_count", "op": "gte", "value": 2}])
    CustomerFactory(country="DE", orders_count=3)
    CustomerFactory(country="FR", orders_count=3)
    client.force_login(agent)
    # when the list and the segment's count fragment are loaded
    page = client.get(reverse("segments:list"))
    count = client.get(reverse("segments:count", args=[segment.pk]), HTTP_HX_REQUEST="true")
    # then the rules read as words and the count is the members'
    assert "Country is DE and Number of paid orders is at least 2" in page.content.decode()
    assert count.content.decode().strip() == '<strong class="segment-count">1</strong>'


def test_agent_sees_no_create_or_edit_buttons(client, agent):
    segment = SegmentFactory()
    client.force_login(agent)
    listing = client.get(reverse("segments:list")).content.decode()
    detail = client.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert reverse("segments:create") not in listing
    assert reverse("segments:edit", args=[segment.pk]) not in detail


@pytest.mark.parametrize("name", ["segments:create", "segments:preview"])
def test_agent_cannot_create_or_preview(client, agent, name):
    client.force_login(agent)
    response = client.post(reverse(name), _rules_post([("country", "eq", "DE")]))
    assert response.status_code == 403
    assert Segment.objects.count() == 0


def test_agent_cannot_edit_or_delete(client, agent):
    segment = SegmentFactory(name="Keep me")
    client.force_login(agent)
    assert client.post(reverse("segments:edit", args=[segment.pk]), _rules_post([])).status_code == 403
    assert client.post(reverse("segments:delete", args=[segment.pk])).status_code == 403
    assert Segment.objects.get().name == "Keep me"


def test_create_dynamic_segment_types_values_and_audits(client, marketer):
    client.force_login(marketer)
    # when a marketer saves two rules typed as text
    response = client.post(reverse("segments:create"), _rules_post(
        [("country", "in", "DE, AT"), ("days_since_last_order", "gte", "180"), ("email_marketing_consent", "eq", "yes"),
         ("", "eq", "")]))
    # then the segment holds typed values, a slug made from the name, and an audit entry
    segment = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:detail", args=[segment.pk])
    assert (segment.slug, segment.kind, segment.match) == ("dormant-germans", "dynamic", "all")
    assert segment.rules == [
        {"field": "country", "op": "in", "value": ["DE", "AT"]},
        {"field": "days_since_last_order", "op": "gte", "value": 180},
        {"field": "email_marketing_consent", "op": "eq", "value": True},
    ]
    assert AuditEntry.objects.get(action="segment.created").actor_user == marketer


def test_metadata_rule_takes_its_key(client, marketer):
    client.force_login(marketer)
    client.post(reverse("segments:create"), _rules_post([("metadata.<key>", "eq", "gold")], key="tier"))
    assert Segment.objects.get().rules == [{"field": "metadata.tier", "op": "eq", "value": "gold"}]


def test_invalid_rule_is_shown_on_its_row_and_nothing_is_saved(client, marketer):
    client.force_login(marketer)
    # when the second rule's value is not a number
    response = client.post(reverse("segments:create"), _rules_post(
        [("country", "eq", "DE"), ("orders_count", "gt", "many")]))
    # then the page comes back with the error on that row, the typed values kept
    assert response.status_code == 400
    rows = response.context["rows"]
    assert rows[1]["errors"] == ["value: must be a whole number, 0 or more"]
    assert (rows[1]["field"], rows[1]["value"]) == ("orders_count", "many")
    assert rows[0]["errors"] == []
    assert Segment.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_taken_slug_and_missing_name_are_reported(client, marketer):
    SegmentFactory(slug="dormant")
    client.force_login(marketer)
    taken = client.post(reverse("segments:create"), _rules_post([], slug="dormant"))
    nameless = client.post(reverse("segments:create"), _rules_post([], name=""))
    assert taken.context["form"].errors == {"slug": ["a segment with this slug already exists"]}
    assert nameless.context["form"].errors["name"] == ["This field is required."]
    assert Segment.objects.count() == 1


def test_edit_changes_rules_and_keeps_the_kind(client, marketer):
    segment = SegmentFactory(name="Old", slug="old", rules=[{"field": "country", "op": "eq", "value": "DE"}])
    client.force_login(marketer)
    form = client.get(reverse("segments:edit", args=[segment.pk]))
    assert [row["value"] for row in form.context["rows"]] == ["DE", ""]
    client.post(reverse("segments:edit", args=[segment.pk]),
                _rules_post([("country", "eq", "FR")], name="New", slug="old", match="any", kind="static"))
    segment.refresh_from_db()
    assert (segment.name, segment.match, segment.kind) == ("New", "any", "dynamic")
    assert segment.rules == [{"field": "country", "op": "eq", "value": "FR"}]


def test_preview_answers_the_count_and_first_customers(client, marketer):
    # given three German customers and one French
    for index in range(3):
        CustomerFactory(country="DE", email=f"de{index}@shop.example")
    CustomerFactory(country="FR")
    client.force_login(marketer)
    # when the builder posts its rules
    response = client.post(reverse("segments:preview"), _rules_post([("country", "eq", "de")]),
                           HTTP_HX_REQUEST="true")
    # then a fragment with the count and the sample comes back
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-count="3"' in content
    assert [f"de{index}@shop.example" in content for index in range(3)] == [True, True, True]
    assert "<html" not in content


def test_preview_lists_errors_per_rule(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("segments:preview"), _rules_post(
        [("country", "eq", "DE"), ("orders_count", "contains", "2")]))
    content = response.content.decode()
    assert "Rule 2 — op: orders_count allows eq, ne, in, not_in, gt, gte, lt, lte" in content
    assert "data-count" not in content


def test_static_segment_from_pasted_list_reports_unknown_members(client, marketer):
    # given two customers
    ana = CustomerFactory(source_id="c-1", email="ana@shop.example")
    ben = CustomerFactory(source_id="c-2", email="ben@shop.example")
    client.force_login(marketer)
    # when a static segment is created from a list naming one by id, one by email, and a stranger
    upload = SimpleUploadedFile("list.csv", b"source_id\nc-1\nBEN@shop.example\nnobody-9\n", content_type="text/csv")
    response = client.post(reverse("segments:create"), {
        "name": "Fair visitors", "slug": "", "kind": "static", "match": "all", "members_file": upload,
    }, follow=True)
    # then the two are members and the stranger is listed back
    segment = Segment.objects.get()
    assert segment.kind == SegmentKind.STATIC
    assert set(StaticSegmentMember.objects.values_list("customer_id", flat=True)) == {ana.pk, ben.pk}
    assert [str(message) for message in response.context["messages"]][-1] == "1 not found, so not added: nobody-9"


def test_replace_static_members(client, marketer):
    old, new = CustomerFactory(source_id="old"), CustomerFactory(source_id="new")
    segment = StaticSegmentFactory(members=[old])
    client.force_login(marketer)
    client.post(reverse("segments:members", args=[segment.pk]), {"members_text": "new"})
    assert list(StaticSegmentMember.objects.values_list("customer_id", flat=True)) == [new.pk]


def test_detail_is_paginated_in_fixed_queries(client, agent, django_assert_max_num_queries):
    for _index in range(60):
        CustomerFactory(country="DE", tags=["vip"])
    segment = SegmentFactory(rules=[{"field": "country", "op": "eq", "value": "DE"}])
    client.force_login(agent)
    # session, user, groups, segment, count, page, tags
    with django_assert_max_num_queries(7):
        response = client.get(reverse("segments:detail", args=[segment.pk]))
    assert response.context["page_obj"].paginator.count == 60
    assert len(response.context["page_obj"]) == 50


def test_delete_asks_then_deletes(client, marketer):
    segment = SegmentFactory(name="Gone soon")
    client.force_login(marketer)
    assert client.get(reverse("segments:delete", args=[segment.pk])).status_code == 200
    assert Segment.objects.count() == 1
    response = client.post(reverse("segments:delete", args=[segment.pk]))
    assert response["Location"] == reverse("segments:list")
    assert Segment.objects.count() == 0
    assert AuditEntry.objects.get(action="segment.deleted").object_repr == "Gone soon"

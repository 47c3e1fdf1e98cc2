import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from retention import panels
from retention.models import AuditEntry, Customer
from retention.tests.factories import (
    ConsentRecordFactory,
    CustomerFactory,
    EventFactory,
    OrderFactory,
    OrderItemFactory,
    SegmentFactory,
    StaticSegmentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def _listed(response) -> list[str]:
    return [customer.source_id for customer in response.context["page_obj"]]


def test_search_matches_email_name_and_source_id(client, marketer):
    # given three customers
    CustomerFactory(source_id="c-1", email="ana@shop.example", first_name="Ana", last_name="Lopez")
    CustomerFactory(source_id="c-2", email="ben@shop.example", first_name="Ben", last_name="Meyer")
    CustomerFactory(source_id="vip-3", email="cleo@shop.example", first_name="Cleo", last_name="Ng")
    client.force_login(marketer)
    # when searching by part of an email, a last name, a source id
    by_email = client.get(reverse("customers:list"), {"q": "ANA@"})
    by_name = client.get(reverse("customers:list"), {"q": "meyer"})
    by_source = client.get(reverse("customers:list"), {"q": "vip"})
    # then each finds its customer
    assert (_listed(by_email), _listed(by_name), _listed(by_source)) == (["c-1"], ["c-2"], ["vip-3"])


def test_filters_by_country_tag_consent_and_dormancy(client, marketer):
    now = timezone.now()
    CustomerFactory(source_id="de-vip", country="DE", tags=["vip"], email_marketing_consent=True,
                    last_order_at=now - timedelta(days=200))
    CustomerFactory(source_id="de-recent", country="DE", tags=["vip"], email_marketing_consent=True,
                    last_order_at=now - timedelta(days=3))
    CustomerFactory(source_id="fr-vip", country="FR", tags=["vip"], email_marketing_consent=True)
    CustomerFactory(source_id="de-plain", country="DE", email_marketing_consent=False)
    client.force_login(marketer)
    vip = TagFactory(name="vip")
    # when filtering German VIPs with email consent and no order for 90 days
    response = client.get(reverse("customers:list"), {"country": "de", "tag": vip.pk, "email_consent": "true",
                                                      "days_since_last_order": "90"})
    # then only the dormant German VIP is listed
    assert _listed(response) == ["de-vip"]


def test_filters_by_last_order_dates(client, marketer):
    now = timezone.now()
    CustomerFactory(source_id="old", last_order_at=now - timedelta(days=100))
    CustomerFactory(source_id="mid", last_order_at=now - timedelta(days=50))
    CustomerFactory(source_id="new", last_order_at=now - timedelta(days=1))
    client.force_login(marketer)
    response = client.get(reverse("customers:list"), {
        "last_order_after": (now - timedelta(days=60)).date().isoformat(),
        "last_order_before": (now - timedelta(days=10)).date().isoformat(),
    })
    assert _listed(response) == ["mid"]


def test_filters_by_dynamic_and_static_segment(client, agent):
    # given a dynamic segment of French customers and a static one
    french = CustomerFactory(source_id="fr", country="FR")
    german = CustomerFactory(source_id="de", country="DE")
    dynamic = SegmentFactory(rules=[{"field": "country", "op": "eq", "value": "FR"}])
    static = StaticSegmentFactory(members=[german])
    client.force_login(agent)
    # when filtering by each
    by_dynamic = client.get(reverse("customers:list"), {"segment": dynamic.pk})
    by_static = client.get(reverse("customers:list"), {"segment": static.pk})
    # then each lists its members
    assert (_listed(by_dynamic), _listed(by_static)) == ([french.source_id], [german.source_id])


def test_list_is_paginated_by_fifty(client, marketer):
    CustomerFactory.create_batch(51)
    client.force_login(marketer)
    first = client.get(reverse("customers:list"))
    second = client.get(reverse("customers:list"), {"page": 2})
    assert (len(first.context["page_obj"]), len(second.context["page_obj"])) == (50, 1)
    assert b"Page 1 of 2" in first.content


def test_list_runs_a_fixed_number_of_queries(client, marketer, django_assert_max_num_queries):
    # given many customers with tags, and a segment filter
    for index in range(60):
        CustomerFactory(tags=["vip", f"tag-{index % 3}"], country="DE")
    segment = SegmentFactory(rules=[{"field": "country", "op": "eq", "value": "DE"}])
    client.force_login(marketer)
    # when the filtered list is shown, then the query count does not grow with the data
    # (session, user, groups, segment look-up, count, segment and tag options of the form, page, tags)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("customers:list"), {"segment": segment.pk, "q": "example"})
    assert len(response.context["page_obj"]) == 50


def test_invalid_filter_value_is_reported(client, marketer):
    client.force_login(marketer)
    response = client.get(reverse("customers:list"), {"days_since_last_order": "soon"})
    assert response.status_code == 200
    assert response.context["filter"].form.errors == {"days_since_last_order": ["Enter a number."]}


def test_detail_shows_profile_consents_orders_events_and_static_segments(client, agent):
    # given a customer with history
    customer = CustomerFactory(email="ana@shop.example", first_name="Ana", last_name="Lopez")
    ConsentRecordFactory(customer=customer, granted=True)
    order = OrderFactory(customer=customer, source_id="o-77", amount=4599)
    OrderItemFactory(order=order, name="Blue shoes", quantity=2)
    EventFactory(customer=customer, type="review_submitted")
    StaticSegmentFactory(name="Fair visitors", members=[customer])
    client.force_login(agent)
    # when an agent opens the profile
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    # then everything is there, without the marketers' GDPR buttons
    content = response.content.decode()
    for text in ["Ana Lopez", "ana@shop.example", "o-77", "2 × Blue shoes", "45.99 EUR", "review_submitted",
                 "Fair visitors", "granted"]:
        assert text in content
    assert "Erase personal data" not in content
    assert "GDPR export" not in content


def test_detail_shows_the_latest_twenty_orders_in_fixed_queries(client, marketer, django_assert_max_num_queries):
    customer = CustomerFactory()
    for index in range(25):
        order = OrderFactory(customer=customer, created_at=timezone.now() - timedelta(days=index))
        OrderItemFactory(order=order)
        EventFactory(customer=customer)
        ConsentRecordFactory(customer=customer)
    StaticSegmentFactory(members=[customer])
    client.force_login(marketer)
    # 12 for the page itself; each app's registered panel adds a fixed few (codes, calendar, messages, points).
    with django_assert_max_num_queries(12 + 2 * len(panels.customer_panels())):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert len(response.context["orders"]) == 20
    assert len(response.context["events"]) == 20


def test_detail_renders_registered_panels_in_order(client, marketer, monkeypatch):
    # given two panels contributed by other apps, registered out of order
    monkeypatch.setattr(panels, "_panels", {})
    calls = []

    def points(customer, request):
        calls.append(customer.pk)
        return {}

    panels.register_customer_panel(key="points", title="Loyalty points", template_name="pagination.html",
                                   context=points, order=200)
    panels.register_customer_panel(key="codes", title="Discount codes", template_name="pagination.html",
                                   context=lambda customer, request: {}, order=100)
    customer = CustomerFactory()
    client.force_login(marketer)
    # when the profile is shown
    content = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    # then each panel is a card, in order, and its context ran once
    assert content.index('id="panel-codes"') < content.index('id="panel-points"')
    assert "<h2>Loyalty points</h2>" in content
    assert calls == [customer.pk]


def test_unknown_customer_is_404(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("customers:detail", args=[999])).status_code == 404


def test_marketer_downloads_the_gdpr_export(client, marketer):
    customer = CustomerFactory(source_id="c-9", email="ana@shop.example")
    client.force_login(marketer)
    response = client.get(reverse("customers:export", args=[customer.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="customer-{customer.pk}-')
    data = json.loads(response.content)
    assert (data["profile"]["source_id"], data["profile"]["email"]) == ("c-9", "ana@shop.example")
    # who exported whose data is audited
    entry = AuditEntry.objects.get(action="customer.exported")
    assert (entry.actor_user, entry.object_id, entry.after["source_id"]) == (marketer, str(customer.pk), "c-9")


@pytest.mark.parametrize("name", ["customers:export", "customers:erase"])
def test_agent_cannot_export_or_erase(client, agent, name):
    customer = CustomerFactory()
    client.force_login(agent)
    assert client.get(reverse(name, args=[customer.pk])).status_code == 403
    assert client.post(reverse(name, args=[customer.pk])).status_code == 403
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_erase_asks_first_then_erases_on_post(client, marketer):
    # given a customer
    customer = CustomerFactory(email="ana@shop.example")
    client.force_login(marketer)
    # when the marketer opens the erase page, nothing happens yet
    confirm = client.get(reverse("customers:erase", args=[customer.pk]))
    assert confirm.status_code == 200
    assert Customer.objects.get(pk=customer.pk).email == "ana@shop.example"
    # when they confirm
    response = client.post(reverse("customers:erase", args=[customer.pk]))
    # then the personal data is gone, the erasure is audited, and they are back on the profile
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    customer.refresh_from_db()
    assert (customer.email, customer.is_erased) == ("", True)
    assert AuditEntry.objects.get(action="customer.erased").actor_user == marketer

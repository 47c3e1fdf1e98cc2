"""The core's back-office in Chromium: the parts that need a browser (htmx preview, JS rows, copy-once key)."""

import re

import pytest
from playwright.sync_api import expect

from retention.models import ApiKey, Segment
from retention.tests.factories import CustomerFactory, SegmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customers_list_filter_and_search(marketer, signed_in_page, live_server):
    # given customers in two countries
    CustomerFactory(source_id="de-1", email="anna@shop.example", country="DE")
    CustomerFactory(source_id="de-2", email="bernd@shop.example", country="DE")
    CustomerFactory(source_id="fr-1", email="chloe@shop.example", country="FR")
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator("#customers tbody tr")).to_have_count(3)
    # when the marketer filters by country and searches a name
    page.fill("#id_country", "de")
    page.fill("#id_q", "bernd")
    page.click(".filters button[type=submit]")
    # then only that customer is listed, and the filter stays in the address
    expect(page.locator("#customers tbody tr")).to_have_count(1)
    expect(page.locator("#customers tbody")).to_contain_text("bernd@shop.example")
    assert "country=de" in page.url and "q=bernd" in page.url


def test_segment_builder_previews_live_and_saves(marketer, signed_in_page, live_server):
    # given two German customers, one of them with two orders, and a French one
    CustomerFactory(country="DE", orders_count=2)
    CustomerFactory(country="DE", orders_count=0)
    CustomerFactory(country="FR", orders_count=2)
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/segments/new/")
    page.fill("#id_name", "German repeat buyers")
    # when a first rule is entered, the preview counts without a reload
    page.locator("[data-rule-field]").first.select_option("country")
    page.locator("[data-rule-value]").first.fill("DE")
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "2")
    # when a second rule is added with the builder's button
    page.click("#add-rule")
    page.locator("[data-rule-field]").nth(1).select_option("orders_count")
    page.locator("[data-rule-op]").nth(1).select_option("gte")
    page.locator("[data-rule-value]").nth(1).fill("1")
    # then the count changes, still on the same page
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "1")
    assert page.url.endswith("/segments/new/")
    # when saved, the segment page shows the count and the rules
    page.click("button:has-text('Save segment')")
    expect(page.locator("#segment-count")).to_have_text("1")
    segment = Segment.objects.get()
    assert segment.rules == [{"field": "country", "op": "eq", "value": "DE"},
                             {"field": "orders_count", "op": "gte", "value": 1}]


def test_segment_builder_shows_the_rule_error_live(marketer, signed_in_page, live_server):
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/segments/new/")
    page.locator("[data-rule-field]").first.select_option("orders_count")
    page.locator("[data-rule-value]").first.fill("lots")
    expect(page.locator(".preview-errors")).to_contain_text("Rule 1 — value: must be a whole number, 0 or more")


def test_api_key_is_shown_once(admin_user, signed_in_page, live_server):
    page = signed_in_page(admin_user)
    page.goto(f"{live_server.url}/settings/")
    # when an administrator creates a key
    page.fill("#id_api_key_name", "Shop production")
    page.click("button:has-text('Create key')")
    # then the full key is shown with a copy button and a warning
    secret = page.locator("#new-api-key").input_value()
    assert re.fullmatch(r"rk_live_[A-Za-z0-9_\-]{43}", secret)
    expect(page.locator(".message.warning")).to_contain_text("shown only once")
    expect(page.locator("[data-copy='#new-api-key']")).to_be_visible()
    # and back on Settings only the prefix remains
    page.click("text=back to Settings")
    expect(page.locator("#api-key-table")).to_contain_text(f"{secret[:12]}…")
    assert secret not in page.content()
    assert ApiKey.objects.get().prefix == secret[:12]


def test_support_agent_sees_no_segment_edit_button(agent, signed_in_page, live_server):
    segment = SegmentFactory(name="Dormant")
    page = signed_in_page(agent)
    page.goto(f"{live_server.url}/segments/{segment.pk}/")
    expect(page.locator("h1")).to_have_text("Dormant")
    expect(page.locator("#edit-segment")).to_have_count(0)
    expect(page.locator("text=New segment")).to_have_count(0)

"""The campaign pages in Chromium: one-click switches without reload, the form, the generation progress bar."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignType, GenerationJob
from campaigns.services.generation import run_generation
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.models import AuditEntry, JobStatus
from retention.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS", "/tmp")


def test_pause_then_resume_in_one_click_each_without_reload(marketer, signed_in_page, live_server):
    # given an active campaign in the list
    campaign = CampaignFactory(name="Winter 15")
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/campaigns/")
    row = page.locator(f"#campaign-{campaign.pk}")
    expect(row.locator(".badge").first).to_have_text("Active")
    page.evaluate("window.notReloaded = 'still here'")  # a full reload would drop this
    # when Pause is clicked
    row.get_by_role("button", name="Pause").click()
    # then the row shows the paused badge and the confirmation, in the same page
    expect(row.locator(".badge").first).to_have_text("Paused")
    expect(row.locator(".row-note")).to_have_text("Paused “Winter 15”.")
    # and Resume brings it back, still without a reload
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge").first).to_have_text("Active")
    expect(row.locator(".row-note")).to_have_text("Resumed “Winter 15”.")
    assert page.evaluate("window.notReloaded") == "still here"
    assert page.url == f"{live_server.url}/campaigns/"
    assert list(AuditEntry.objects.filter(object_id=str(campaign.pk)).order_by("pk").values_list("action", flat=True)) \
        == ["campaign.paused", "campaign.resumed"]


def test_create_a_percent_campaign_after_fixing_a_mistake(marketer, signed_in_page, live_server):
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/campaigns/new/")
    page.fill("#id_name", "Second order 15%")
    # the slug follows the name
    expect(page.locator("#id_slug")).to_have_value("second-order-15")
    page.select_option("#id_discount_type", "percent")
    expect(page.locator("#id_amount")).to_be_hidden()  # fields of other discount types are hidden
    # the randomness is computed while typing
    page.fill("#id_code_length", "6")
    expect(page.locator("#code-bits-value")).to_have_text("30.0")
    expect(page.locator("#field-weak_codes_confirmed")).to_be_visible()
    page.fill("#id_code_length", "12")
    expect(page.locator("#code-bits-value")).to_have_text("60.0")
    expect(page.locator("#field-weak_codes_confirmed")).to_be_hidden()
    # when saved without the percent
    page.get_by_role("button", name="Create campaign").click()
    # then the message sits next to the field
    expect(page.locator("#percent-errors")).to_have_text("Say how many percent off, from 1 to 100.")
    assert not Campaign.objects.exists()
    # when fixed and saved
    page.fill("#id_percent", "15")
    page.fill("#id_max_amount", "20.00")
    page.get_by_role("button", name="Create campaign").click()
    # then the detail page opens
    expect(page.locator("h1")).to_have_text("Second order 15%")
    assert page.url == f"{live_server.url}/campaigns/second-order-15/"
    expect(page.locator(".rules-line")).to_contain_text("15% off, at most 20.00 EUR")
    campaign = Campaign.objects.get()
    assert (campaign.percent, campaign.max_amount, campaign.is_draft) == (15, 2000, True)


def test_generation_progress_bar_reaches_done(marketer, signed_in_page, live_server):
    # given a generation job under way
    campaign = CampaignFactory(name="Bulk")
    job = GenerationJob.objects.create(campaign=campaign, count=40, generated=10, status=JobStatus.RUNNING)
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/")
    expect(page.locator("#generation")).to_contain_text("10 of 40 codes")
    assert page.locator("#generation .progress > span").get_attribute("style") == "width: 25%"
    page.evaluate("window.notReloaded = true")
    # when the worker finishes it
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    run_generation(job_id=job.pk)
    # then the polled panel shows it done, with the export link, without a reload
    expect(page.locator("#generation")).to_contain_text("40 of 40 codes", timeout=5000)
    expect(page.get_by_role("link", name="Download all codes (CSV)")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_screenshots_of_the_pages(marketer, signed_in_page, live_server):
    """Not an assertion of looks: the pictures are for people to look at (see CAMPAIGN_SCREENSHOTS)."""
    now = timezone.now()
    customers = [CustomerFactory(country=country) for country in ("DE", "AT", "DE", "FR")]
    winter = CampaignFactory(name="Winter 15%", slug="winter-15", percent=15, max_amount=2000, min_order_amount=5000,
                             countries=["DE", "AT"], first_order_only=True, max_redemptions=500,
                             max_redemptions_per_customer=1, budget=100000, tags=["winter", "newsletter"],
                             starts_at=now - timedelta(days=20), ends_at=now + timedelta(days=25),
                             codes_issued=1200, redemptions_count=84, discount_total=82000)
    for day in range(30):
        for number in range((day * 7) % 5 + (3 if day > 20 else 0)):
            code = CodeFactory(campaign=winter, customer=customers[number % 4])
            RedemptionFactory(code=code, customer=customers[number % 4], created_at=now - timedelta(days=day, hours=2),
                              order_amount=8000 + 500 * number, discount_amount=1200)
    CampaignFactory(name="Instagram 500", type=CampaignType.PUBLIC, public_code="INSTA500", discount_type="amount",
                    percent=None, amount=500, max_redemptions=500, redemptions_count=431, codes_issued=1,
                    discount_total=215500, tags=["social"])
    CampaignFactory(name="Black Friday", starts_at=now + timedelta(days=4), ends_at=now + timedelta(days=8),
                    percent=25)
    CampaignFactory(name="Birthday treat", trigger={"type": "birthday", "days_before": 3, "send_time": "09:00"},
                    percent=10, codes_issued=320, redemptions_count=41, discount_total=30500)
    CampaignFactory(name="Spring preview", is_draft=True, percent=20)
    CampaignFactory(name="Sorry codes", is_paused=True, discount_type="amount", percent=None, amount=1000)
    page = signed_in_page(marketer)
    page.set_viewport_size({"width": 1360, "height": 900})
    for name, path in [("campaign-list", "/campaigns/"), ("campaign-detail", "/campaigns/winter-15/"),
                       ("dashboard", "/dashboard/"), ("campaign-calendar", "/campaigns/calendar/"),
                       ("campaign-form", "/campaigns/new/")]:
        page.goto(f"{live_server.url}{path}")
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)
        assert page.locator("h1").count() == 1

"""The trigger section in Chromium: each kind of trigger created from the campaign page, the fields of each type,
errors on save, next run, the preview without reload, dry run, pause and resume, runs and deliveries."""

import os
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from playwright.sync_api import expect

from campaigns.models import Campaign, CampaignRun, RunKind
from campaigns.services.calendar import schedule_name
from campaigns.tests.calendar_factories import calendar_campaign, customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS", "/tmp")


def _visible_fields(page) -> list[str]:
    return page.eval_on_selector_all(
        "#trigger-form .trigger-field", "boxes => boxes.filter(box => !box.hidden).map(box => box.dataset.field)")


def test_create_each_kind_of_trigger_from_the_campaign_page(marketer, signed_in_page, live_server):
    # given a campaign without a trigger
    campaign = calendar_campaign(None, slug="lifecycle", name="Lifecycle")
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/campaigns/lifecycle/")
    # when the marketer follows the campaign page's trigger card
    page.get_by_role("link", name="Add a trigger →").click()
    expect(page.locator("#next-run")).to_contain_text("No trigger")
    # then choosing a type shows only its fields
    page.select_option("#id_type", "birthday")
    assert _visible_fields(page) == ["type", "days_before", "send_time", "timezone", "segment"]
    page.fill("#id_days_before", "3")
    page.fill("#id_send_time", "08:30")
    page.select_option("#id_timezone", "Europe/Berlin")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator(".message.success")).to_contain_text("Saved the trigger of “Lifecycle”.")
    expect(page.locator("#next-run")).to_contain_text("UTC")
    expect(page.locator("h1 + p, .page-head p.muted")).to_contain_text("3 days before each birthday, at 08:30")
    campaign.refresh_from_db()
    assert campaign.trigger == {"type": "birthday", "days_before": 3, "send_time": "08:30",
                                "timezone": "Europe/Berlin"}
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is True

    # a win-back without its number of days is refused on save, with the field named
    page.select_option("#id_type", "win_back")
    assert _visible_fields(page) == ["type", "days_since_last_order", "cooldown_days", "send_time", "timezone",
                                     "segment"]
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator("#field-days_since_last_order .errorlist")).to_have_text(
        "Days since last order: A win-back needs the number of days.")
    expect(page.locator("#id_type")).to_have_value("win_back")
    page.fill("#id_days_since_last_order", "180")
    page.fill("#id_cooldown_days", "90")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator(".message.success")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.trigger == {"type": "win_back", "days_since_last_order": 180, "cooldown_days": 90,
                                "send_time": "08:30", "timezone": "Europe/Berlin"}  # shared fields are kept

    # an anniversary of a metadata date, once, six months on
    page.select_option("#id_type", "anniversary")
    page.fill("#id_attribute", "first_shoes_purchase")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator("#field-attribute .errorlist")).to_contain_text("signed_up_at or metadata.<key>.")
    page.fill("#id_attribute", "metadata.first_shoes_purchase")
    page.fill("#id_offset_days", "182")
    page.select_option("#id_repeat", "once")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator(".message.success")).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.trigger == {"type": "anniversary", "attribute": "metadata.first_shoes_purchase",
                                "offset_days": 182, "repeat": "once", "send_time": "08:30",
                                "timezone": "Europe/Berlin"}

    # welcome: fired by the signal, so no schedule and no clock
    page.select_option("#id_type", "welcome")
    assert _visible_fields(page) == ["type", "on", "segment"]
    page.select_option("#id_on", "first_order")
    page.get_by_role("button", name="Save trigger").click()
    expect(page.locator("#next-run")).to_contain_text("Fired when the customer places a first order")
    expect(page.locator("#new-customers")).to_contain_text("Nobody is waiting with an unused welcome code.")
    campaign.refresh_from_db()
    assert campaign.trigger == {"type": "welcome", "on": "first_order"}
    assert not PeriodicTask.objects.filter(name=schedule_name(campaign.pk)).exists()


def test_preview_dry_run_pause_and_resume_on_the_trigger_page(marketer, signed_in_page, live_server):
    # given a birthday campaign and birthdays in five days: one with consent, one without, one outside the rules
    campaign = calendar_campaign({"type": "birthday", "days_before": 0, "send_time": "09:00"},
                                 slug="birthdays", name="Birthday 15%", countries=["DE"])
    from campaigns.services.calendar import sync_calendar_schedule

    sync_calendar_schedule(campaign)
    day = timezone.localdate() + timedelta(days=5)
    born = date(1990, day.month, min(day.day, 28))
    customer(source_id="ana", first_name="Ana", last_name="Berg", country="DE", birthday=born)
    customer(source_id="ben", country="DE", birthday=born, email_marketing_consent=False)
    customer(source_id="cem", country="FR", birthday=born)
    today = timezone.localdate()
    customer(source_id="dan", email="dan@example.com", country="DE",
             birthday=date(1990, today.month, today.day) if (today.month, today.day) != (2, 29) else date(1992, 2, 29))
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/campaigns/birthdays/trigger/")
    expect(page.locator("#next-run")).to_contain_text("UTC")
    page.evaluate("window.notReloaded = 'still here'")
    # when the preview is asked for that day
    page.fill("#preview-date", born.replace(year=day.year).isoformat())
    page.get_by_role("button", name="Who would receive it?").click()
    # then only the real recipient is counted, the others by reason, in the same page
    expect(page.locator("#preview-count")).to_have_text("1")
    expect(page.locator("#preview .skip-reasons")).to_contain_text("1 no marketing consent")
    expect(page.locator("#preview .skip-reasons")).to_contain_text("1 a campaign rule failed")
    expect(page.locator("#preview")).to_contain_text("For example: Ana Berg")
    # when a dry run is started: a run row appears, nothing is issued
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#runs tr.run")).to_have_count(1)
    expect(page.locator("#runs tr.run").first).to_contain_text("Dry run")
    assert page.evaluate("window.notReloaded") == "still here"
    expect(page.locator("#runs tr.run").first).to_contain_text("1 would")
    assert list(CampaignRun.objects.values_list("kind", flat=True)) == [RunKind.DRY_RUN]
    # when run now: today's birthday gets the code, the run and the delivery are listed
    page.get_by_role("button", name="Run now").click()
    expect(page.locator(".message.success")).to_have_text("Run: 1 issued, 0 skipped.")
    expect(page.locator("#runs tr.run")).to_have_count(2)
    expect(page.locator("#runs tr.run").first).to_contain_text("Run now")
    expect(page.locator("#deliveries tbody tr")).to_have_count(1)
    expect(page.locator("#deliveries tbody tr")).to_contain_text("dan@example.com")
    page.screenshot(path=os.path.join(SCREENSHOTS, "trigger_page.png"), full_page=True)
    # when paused from the trigger page: no next run, the schedule is disabled
    page.get_by_role("button", name="❚❚ Pause").click()
    expect(page.locator("#campaign-status")).to_have_text("Paused")
    expect(page.locator("#next-run")).to_contain_text("None: the campaign is paused.")
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is False
    # and resumed: next run again
    page.get_by_role("button", name="▶ Resume").click()
    expect(page.locator("#campaign-status")).to_have_text("Active")
    expect(page.locator("#next-run")).to_contain_text("UTC")
    assert PeriodicTask.objects.get(name=schedule_name(campaign.pk)).enabled is True
    assert Campaign.objects.get(pk=campaign.pk).is_paused is False
    # and the campaign page shows the trigger with its next run
    page.get_by_role("link", name="Campaign page").click()
    expect(page.locator("#trigger-summary")).to_contain_text("On each birthday, at 09:00. Next run:")
    page.locator("#trigger-summary").screenshot(path=os.path.join(SCREENSHOTS, "trigger_card.png"))
    # and the message template opens from the trigger page and comes back to it
    page.get_by_role("link", name="Trigger, preview and runs →").click()
    page.locator("#message-templates").get_by_role("link", name="SMS").click()
    expect(page).to_have_url(f"{live_server.url}/messaging/templates/campaign/{campaign.pk}/sms/?next=/campaigns/"
                             "birthdays/trigger/")


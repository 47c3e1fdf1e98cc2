"""A landing page in Chromium: a visitor claims a code and sees it; at the cap the offer has ended."""

import os

import pytest
from django.core import mail

from campaigns.models import Code, LandingClaim
from campaigns.tests.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOT_DIR")  # set it to keep screenshots for a look


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "mobile"])
def test_visitor_claims_a_code_and_sees_it(page, live_server, viewport):
    # given
    CampaignFactory(slug="spring", percent=15, landing_enabled=True, landing_title="15% off your spring order",
                    landing_text="New here? Leave your address and we'll send you a code for your first order.",
                    max_redemptions=500)
    page.set_viewport_size(viewport)
    name = "desktop" if viewport["width"] > 800 else "mobile"
    # when
    page.goto(f"{live_server.url}/c/spring/")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/landing_{name}.png", full_page=True)
    page.get_by_label("Your email address").fill("Anna@Example.com")
    page.get_by_label("Yes, email me offers").check()
    page.get_by_role("button", name="Get my code").click()
    # then
    shown = page.locator("#landing-code .code")
    shown.wait_for()
    code = Code.objects.get()
    assert shown.inner_text() == code.code
    assert LandingClaim.objects.get().email == "anna@example.com"
    assert [message.to for message in mail.outbox] == [["anna@example.com"]]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/landing_{name}_claimed.png", full_page=True)


def test_offer_ended_page(page, live_server):
    CampaignFactory(slug="gone", landing_enabled=True, landing_title="Winter deal", is_paused=True)
    page.goto(f"{live_server.url}/c/gone/")
    assert page.get_by_role("heading", name="This offer has ended").is_visible()
    assert page.locator("input[name=email]").count() == 0
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/landing_ended.png", full_page=True)

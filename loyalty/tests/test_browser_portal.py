"""The customer portal in Chromium: request a link, open it from the mail, see the balance, redeem a
reward and see its code, on a desktop and on a phone-sized screen."""

import os
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from campaigns.tests.factories import CampaignFactory, CodeFactory
from loyalty.models import RewardRedemption, RewardType
from loyalty.services.earning import earn_for_order
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("LOYALTY_SCREENSHOTS", "/tmp")


@pytest.fixture
def shop(settings, live_server):
    settings.SITE_URL = live_server.url  # the mailed link points at the test server
    program = LoyaltyProgramFactory(name="Sunny Club", is_default=True, points_expire_after_days=25,
                                    portal_promotion="Double points on all shoes until Sunday!")
    TierFactory(program=program, name="Bronze", threshold=100, perks="Free returns")
    TierFactory(program=program, name="Gold", threshold=1000, perks="Early access")
    campaign = CampaignFactory(name="Loyalty 10% off", percent=10)
    RewardFactory(program=program, name="10% off your next order", description="On everything, once.",
                  type=RewardType.CODE, cost=200, campaign=campaign)
    RewardFactory(program=program, name="Free tote bag", description="Our organic cotton bag.", cost=600,
                  type=RewardType.CODE, campaign=campaign)
    customer = CustomerFactory(email="ana@example.com", first_name="Ana")
    earn_for_order(order_id=paid_order(customer, 48000, source_id="A-1001").pk)
    CodeFactory(customer=customer, code="WELCOME-5", campaign=CampaignFactory(name="Welcome"))
    return customer


def _sign_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/portal/sign-in/")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_text("If we know this address, a sign-in link is on its way")).to_be_visible()
    link = re.search(r"https?://\S+/portal/sign-in/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Show my rewards").click()


def test_sign_in_by_mailed_link_see_balance_redeem_and_see_the_code(page, live_server, shop):
    # given a customer with 480 points
    # when she asks for a link and opens it
    _sign_in(page, live_server)
    # then she sees her balance, tier progress and the rewards
    expect(page.get_by_test_id("balance")).to_have_text("480")
    expect(page.get_by_text("520 points to Gold")).to_be_visible()
    expect(page.get_by_text("120 points to go")).to_be_visible()
    expect(page.get_by_text("Your perks: Free returns. Gold adds: Early access.")).to_be_visible()
    expect(page.get_by_text("480 points expire on")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/portal_home.png", full_page=True)
    # when she redeems the reachable reward and confirms
    page.get_by_role("link", name="Redeem").click()
    page.screenshot(path=f"{SCREENSHOTS}/portal_confirm.png", full_page=True)
    page.get_by_role("button", name="Yes, redeem 200 points").click()
    # then the code is shown and the points are spent
    redemption = RewardRedemption.objects.select_related("code").get()
    expect(page.get_by_test_id("reward-code")).to_have_text(redemption.code.code)
    page.screenshot(path=f"{SCREENSHOTS}/portal_code.png", full_page=True)
    page.get_by_role("link", name="Back to my rewards").click()
    expect(page.get_by_test_id("balance")).to_have_text("280")
    # and the link cannot sign in twice
    link = re.search(r"https?://\S+/portal/sign-in/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()


def test_portal_on_a_phone(page, live_server, shop):
    # given a phone-sized screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/portal/sign-in/")
    page.screenshot(path=f"{SCREENSHOTS}/portal_sign_in_mobile.png", full_page=True)
    # when
    _sign_in(page, live_server)
    # then nothing is wider than the screen
    expect(page.get_by_test_id("balance")).to_have_text("480")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=f"{SCREENSHOTS}/portal_home_mobile.png", full_page=True)
    page.get_by_role("link", name="My codes", exact=True).click()
    expect(page.get_by_text("WELCOME-5")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/portal_codes_mobile.png", full_page=True)

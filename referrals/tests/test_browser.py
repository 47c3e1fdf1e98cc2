"""The referral pages in Chromium: the program editor with its one-click switch, the leaderboard with its
period filter, and the referral section of the customer portal."""

import os
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from loyalty.tests.factories import LoyaltyProgramFactory
from referrals.models import Invitation, Referral, ReferralProgram
from referrals.services.conversions import convert_for_order
from referrals.services.referrals import register_referral
from referrals.tests.factories import ReferralCodeFactory, ReferralProgramFactory, ReferralTierFactory
from retention.actors import Actor
from retention.emails import email_hash
from retention.messaging.models import MessageTemplate
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("REFERRAL_SCREENSHOTS", "/tmp")
ACTOR = Actor.system("test")


def test_program_editor_create_fix_a_mistake_then_switch_off_and_on(marketer, signed_in_page, live_server):
    LoyaltyProgramFactory(name="Club", is_default=True)
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/referrals/")
    page.get_by_role("link", name="Create a program").click()
    # when saved with a link lacking {code}
    page.fill("#id_name", "Bring a friend")
    page.fill("#id_link_template", "https://shop.example/")
    page.fill("#id_min_order_amount", "2500")
    page.fill("#id_tiers-0-referrals", "1")
    page.select_option("#id_tiers-0-kind", "points")
    page.fill("#id_tiers-0-amount", "500")
    page.get_by_role("button", name="Save program").click()
    # then the field says why, and nothing is saved
    expect(page.locator(".errorlist li")).to_have_text("Must contain {code}.")
    assert ReferralProgram.objects.count() == 0
    # when fixed
    page.fill("#id_link_template", "https://shop.example/?ref={code}")
    page.get_by_role("button", name="Save program").click()
    # then the dashboard shows the enabled program
    expect(page.locator('[data-figure="program-status"]')).to_have_text("Enabled")
    program = ReferralProgram.objects.get()
    assert (program.min_order_amount, list(program.tiers.values_list("points", flat=True))) == (2500, [500])
    page.screenshot(path=f"{SCREENSHOTS}/referrals_dashboard.png", full_page=True)
    # when switched off and on, one click each, without a reload
    page.evaluate("window.notReloaded = 'still here'")
    page.get_by_role("button", name="Disable").click()
    expect(page.locator('[data-figure="program-status"]')).to_have_text("Disabled")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator('[data-figure="program-status"]')).to_have_text("Enabled")
    assert page.evaluate("window.notReloaded") == "still here"
    assert list(AuditEntry.objects.filter(action__startswith="referral.program_").order_by("pk")
                .values_list("action", flat=True)) == ["referral.program_created", "referral.program_disabled",
                                                       "referral.program_enabled"]


def test_leaderboard_with_period_filter(marketer, signed_in_page, live_server):
    # given Anna converted two friends 60 days ago and Bea one friend this week
    LoyaltyProgramFactory(is_default=True)
    program = ReferralProgramFactory(name="Friends", is_default=True, within_days=None)
    ReferralTierFactory(program=program, points=100)
    anna = ReferralCodeFactory(program=program, customer=CustomerFactory(first_name="Anna", last_name="A"))
    bea = ReferralCodeFactory(program=program, customer=CustomerFactory(first_name="Bea", last_name="B"))
    long_ago = timezone.now() - timedelta(days=60)
    for code, when in [(anna, long_ago), (anna, long_ago + timedelta(hours=3)), (bea, timezone.now())]:
        friend = CustomerFactory()
        register_referral(code=code.code, friend=friend, actor=ACTOR, now=when)
        convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk, now=when)
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/referrals/programs/{program.pk}/leaderboard/")
    rows = page.get_by_test_id("leaderboard").locator("tbody tr")
    # then all time: Anna first with 2
    expect(rows.first).to_contain_text("Anna A")
    expect(rows.first).to_contain_text("2")
    # when the last 30 days are chosen
    page.select_option("#id_period", "30d")
    page.get_by_role("button", name="Show").click()
    # then only Bea
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bea B")


def test_portal_referral_section_copy_share_and_invite(page, live_server, settings):
    # given Ana, whose friend converted, and an invitation template
    settings.SITE_URL = live_server.url
    LoyaltyProgramFactory(name="Sunny Club", is_default=True)
    program = ReferralProgramFactory(name="Friends", is_default=True)
    ReferralTierFactory(program=program, points=500)
    ana = CustomerFactory(email="ana@example.com", first_name="Ana")
    ReferralCodeFactory(program=program, customer=ana, code="ANA-7KQ2")
    friend = CustomerFactory()
    register_referral(code="ANA-7KQ2", friend=friend, actor=ACTOR)
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    MessageTemplate.objects.create(name="referral_invitation", channel="email", subject="{{ discount_text }}",
                                   html_body="<p>{{ portal_url }}</p>", text_body="{{ portal_url }}")
    # when she signs in with the mailed link
    page.goto(f"{live_server.url}/portal/sign-in/")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_text("If we know this address, a sign-in link is on its way")).to_be_visible()
    link = re.search(r"https?://\S+/portal/sign-in/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Show my rewards").click()
    # then the section shows her link, share links, counts and rewards
    section = page.get_by_test_id("referral-section")
    expect(section.get_by_test_id("referral-link")).to_have_value("https://shop.example/?ref=ANA-7KQ2")
    expect(section.get_by_role("link", name="WhatsApp")).to_have_attribute("href", re.compile(r"^https://wa\.me/"))
    expect(section.get_by_role("link", name="Facebook")).to_have_attribute("href", re.compile("facebook.com/sharer"))
    expect(section.get_by_role("link", name="X")).to_have_attribute("href", re.compile("twitter.com/intent/tweet"))
    expect(section.get_by_role("link", name="Email")).to_have_attribute("href", re.compile("^mailto:"))
    expect(section.get_by_test_id("referral-invited")).to_have_text("1")
    expect(section.get_by_test_id("referral-converted")).to_have_text("1")
    expect(section.get_by_test_id("referral-rewards")).to_contain_text("500 points")
    section.get_by_role("button", name="Copy link").click()
    expect(section.get_by_role("button", name="Copied!")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/portal_referrals.png", full_page=True)
    # when she invites a friend by email
    page.get_by_label("Invite a friend by email").fill("pal@example.org")
    page.get_by_role("button", name="Send invitation").click()
    # then
    expect(page.get_by_text("Invitation sent to pal@example.org")).to_be_visible()
    assert Invitation.objects.get().email_hash == email_hash("pal@example.org")
    assert Referral.objects.count() == 1

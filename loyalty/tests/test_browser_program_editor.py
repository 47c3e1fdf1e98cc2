"""The program editor and the dashboard in Chromium: a marketer builds a program (rules, tiers, rewards,
then a milestone), fixes what the editor points out, reads the dashboard, and adjusts a member's points
from the customer page with a second marketer's approval."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.tests.factories import CampaignFactory
from loyalty.models import EntryKind, LedgerEntry, LoyaltyProgram, RewardRedemption, RewardType
from loyalty.services.earning import earn_for_order
from loyalty.services.ledger import account_for
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("LOYALTY_SCREENSHOTS", "/tmp")


def test_marketer_builds_a_program_in_the_editor(marketer, signed_in_page, live_server):
    CampaignFactory(name="Loyalty 10% off")
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/loyalty/")
    page.get_by_role("link", name="Create a program").click()
    # the basics
    page.fill("#id_name", "Sunny Club")
    page.fill("#id_points_per_unit", "2")
    page.fill("#id_signup_bonus", "50")
    page.fill("#id_points_expire_after_days", "365")
    page.check("#id_is_default")
    page.fill("#id_portal_promotion", "Double points on shoes this week!")
    # a points rule for reviews, once per order
    page.fill("#id_earning_rules-0-event_type", "review_submitted")
    page.fill("#id_earning_rules-0-points", "20")
    page.fill("#id_earning_rules-0-once_per_property", "order_id")
    # two tiers: the second row comes from "+ Add a row"
    page.fill("#id_tiers-0-name", "Silver")
    page.fill("#id_tiers-0-threshold", "0")
    page.locator("#set-tiers").get_by_role("button", name="+ Add a row").click()
    page.fill("#id_tiers-1-name", "Gold")
    page.fill("#id_tiers-1-threshold", "1000")
    page.fill("#id_tiers-1-multiplier_percent", "150")
    page.fill("#id_tiers-1-perks", "Free express shipping")
    # a discount-code reward, first without its campaign
    page.fill("#id_rewards-0-name", "10% off your next order")
    page.select_option("#id_rewards-0-type", "code")
    page.fill("#id_rewards-0-cost", "200")
    page.get_by_role("button", name="Create program").click()
    # then the editor says what is missing, next to the field, and keeps what was typed
    expect(page.get_by_text("Pick the campaign whose codes this reward gives out.")).to_be_visible()
    expect(page.locator("#id_tiers-1-name")).to_have_value("Gold")
    assert not LoyaltyProgram.objects.exists()
    # when the campaign is picked and a donation added
    page.select_option("#id_rewards-0-campaign", label="Loyalty 10% off")
    page.locator("#set-rewards").get_by_role("button", name="+ Add a row").click()
    page.fill("#id_rewards-1-name", "Plant a tree")
    page.select_option("#id_rewards-1-type", "donation")
    page.fill("#id_rewards-1-cost", "100")
    page.get_by_role("button", name="Create program").click()
    # then the dashboard of the new program
    expect(page.get_by_text("Saved “Sunny Club”.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sunny Club")).to_be_visible()
    program = LoyaltyProgram.objects.get()
    assert (program.points_per_unit, program.signup_bonus, program.is_default) == (2, 50, True)
    assert list(program.tiers.values_list("name", "threshold", "multiplier_percent")) == [
        ("Silver", 0, 100), ("Gold", 1000, 150)]
    assert sorted(program.rewards.values_list("name", "type")) == [
        ("10% off your next order", RewardType.CODE), ("Plant a tree", RewardType.DONATION)]
    assert list(program.earning_rules.values_list("event_type", "points", "once_per_property")) == [
        ("review_submitted", 20, "order_id")]
    # when a milestone giving the tree is added, and the discount limited to Gold (rows are by cost)
    page.get_by_role("link", name="Edit program").first.click()
    expect(page.locator("#id_rewards-1-name")).to_have_value("10% off your next order")
    page.select_option("#id_rewards-1-min_tier", label="Gold")
    page.fill("#id_milestones-0-name", "First 500 points")
    page.select_option("#id_milestones-0-kind", "points")
    page.fill("#id_milestones-0-threshold", "500")
    page.select_option("#id_milestones-0-reward", label="Plant a tree")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved “Sunny Club”.")).to_be_visible()
    milestone = program.milestones.get()
    assert (milestone.threshold, milestone.reward.name) == (500, "Plant a tree")
    assert program.rewards.get(name="10% off your next order").min_tier.name == "Gold"
    assert AuditEntry.objects.filter(action__startswith="loyalty.program").count() == 2


def test_dashboard_shows_the_months_and_the_members(marketer, signed_in_page, live_server):
    # given a program with a few months of earning, spending and expiry, and a requested experience
    program = LoyaltyProgramFactory(name="Sunny Club", is_default=True)
    TierFactory(program=program, name="Gold", threshold=300)
    now = timezone.now()
    for index in range(8):
        customer = CustomerFactory(email=f"member{index}@x.test")
        earn_for_order(order_id=paid_order(customer, 12000 + index * 5000).pk)
        account = account_for(program=program, customer=customer)
        for months_ago in range(1, 6):
            moment = now - timedelta(days=30 * months_ago)
            LedgerEntry.objects.create(account=account, kind=EntryKind.EARN, points=40 * months_ago + index * 7,
                                       balance_after=0, source_type="history", source_id=f"{index}-{months_ago}",
                                       created_at=moment)
            LedgerEntry.objects.create(account=account, kind=EntryKind.SPEND, points=-(25 * months_ago),
                                       balance_after=0, source_type="history-spend",
                                       source_id=f"{index}-{months_ago}", created_at=moment)
            if months_ago % 2:
                LedgerEntry.objects.create(account=account, kind=EntryKind.EXPIRE, points=-10, balance_after=0,
                                           source_type="history-expire", source_id=f"{index}-{months_ago}",
                                           created_at=moment)
    lounge = RewardFactory(program=program, name="Early access to the sale", type=RewardType.EXPERIENCE, cost=50)
    redeem_reward(account_or_customer=account.customer, reward=lounge,
                  actor=Actor.system("test"))
    page = signed_in_page(marketer)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/loyalty/")
    expect(page.locator("[data-figure=members]")).to_have_text("8")
    expect(page.locator("svg").first).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/loyalty_dashboard.png", full_page=True)
    # when the marketer follows "1 to fulfil" and marks it done
    page.locator("[data-figure=to-fulfil]").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Early access to the sale")
    row.get_by_role("button", name="Mark fulfilled").click()
    expect(page.get_by_text("is marked fulfilled.")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/loyalty_redemptions.png", full_page=True)
    assert RewardRedemption.objects.get().status == "fulfilled"


def test_member_ledger_and_a_large_adjustment_approved_by_a_second_marketer(marketer, signed_in_page, live_server):
    from django.contrib.auth.models import Group, User

    from retention.roles import MARKETING

    # given a member with 120 points, and a second marketer
    LoyaltyProgramFactory(name="Sunny Club", is_default=True, adjustment_approval_threshold=500)
    customer = CustomerFactory(email="ana@x.test")
    earn_for_order(order_id=paid_order(customer, 12000, source_id="A-1").pk)
    dora = User.objects.create_user(username="dora", password="pw-dora")
    dora.groups.add(Group.objects.get_or_create(name=MARKETING)[0])
    page = signed_in_page(marketer)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    panel = page.locator("#panel-loyalty")
    expect(panel.locator("[data-figure=panel-balance]")).to_have_text("120")
    expect(panel.get_by_text("Order A-1")).to_be_visible()
    # when alice gives 40 points, then asks for 1,000
    panel.get_by_label("Points (+ or −)").fill("40")
    panel.get_by_label("Reason").fill("Late delivery")
    panel.get_by_role("button", name="Adjust points").click()
    expect(page.get_by_text("+40 points recorded.")).to_be_visible()
    panel = page.locator("#panel-loyalty")
    expect(panel.locator("[data-figure=panel-balance]")).to_have_text("160")
    panel.get_by_label("Points (+ or −)").fill("1000")
    panel.get_by_label("Reason").fill("Influencer deal")
    panel.get_by_role("button", name="Adjust points").click()
    # then it waits: alice cannot approve her own request
    expect(page.get_by_text("+1000 points wait for a second person's approval.")).to_be_visible()
    expect(page.get_by_text("Waiting for another marketer")).to_be_visible()
    # when dora signs in and approves it
    page.context.clear_cookies()
    page = signed_in_page(dora)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.locator("#panel-loyalty").get_by_role("button", name="Approve").click()
    # then the points are there, with both reasons in the ledger
    expect(page.get_by_text("Adjustment of +1000 points approved.")).to_be_visible()
    panel = page.locator("#panel-loyalty")
    expect(panel.locator("[data-figure=panel-balance]")).to_have_text("1,160")
    expect(panel.get_by_text("Influencer deal")).to_be_visible()
    expect(panel.get_by_text("Late delivery")).to_be_visible()

"""Loyalty back-office pages: roles, the program editor, the members list, the customer panel."""

import pytest
from django.urls import reverse

from campaigns.tests.factories import CampaignFactory
from loyalty.models import AdjustmentRequest, AdjustmentStatus, LedgerEntry, LoyaltyProgram, Reward
from loyalty.panels import register_panels
from loyalty.services.adjustments import adjust_points
from loyalty.services.ledger import account_for
from loyalty.tests.factories import LoyaltyProgramFactory, TierFactory
from retention.actors import Actor
from retention.panels import customer_panels
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PAGES = ["loyalty:home", "loyalty:program_create", "loyalty:members"]


@pytest.fixture
def loyalty_panel():
    # Registered by loyalty's AppConfig.ready(); again here in case another test replaced the registry.
    register_panels()


@pytest.mark.parametrize("name", PAGES)
def test_marketer_opens_every_page(client, marketer, name):
    # given
    LoyaltyProgramFactory()
    client.force_login(marketer)
    # when
    response = client.get(reverse(name))
    # then
    assert response.status_code == 200


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_agents_and_outsiders_are_refused(client, request, name, role):
    # given
    client.force_login(request.getfixturevalue(role))
    # when
    response = client.get(reverse(name))
    # then
    assert response.status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    # when
    response = client.get(reverse(name))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_program_edit_page_per_role(client, marketer, agent):
    # given
    program = LoyaltyProgramFactory()
    url = reverse("loyalty:program_edit", args=[program.pk])
    # when
    client.force_login(agent)
    refused = client.get(url)
    client.force_login(marketer)
    allowed = client.get(url)
    # then
    assert (refused.status_code, allowed.status_code) == (403, 200)


def _management(prefix: str, total: int = 1, initial: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def _program_post(**overrides) -> dict:
    data = {
        "name": "Sunny Club", "currency": "eur", "points_per_unit": "2", "pending_days": "14",
        "points_expire_after_days": "365", "expiry_reminder_days": "14", "tier_basis": "rolling_12_months",
        "signup_bonus": "50", "adjustment_approval_threshold": "1000", "is_default": "on", "is_active": "on",
        "portal_promotion": "",
    }
    for prefix in ("earning_rules", "category_multipliers", "bonus_periods", "tiers", "rewards", "milestones"):
        data.update(_management(prefix))
    # What the browser posts for the untouched empty rows: their rendered defaults.
    data.update({"earning_rules-0-is_active": "on", "category_multipliers-0-multiplier_percent": "100",
                 "bonus_periods-0-multiplier_percent": "200", "tiers-0-multiplier_percent": "100",
                 "rewards-0-type": "code", "rewards-0-is_active": "on", "milestones-0-bonus_points": "0"})
    data.update(overrides)
    return data


def test_marketer_creates_a_program_with_a_tier_and_a_reward(client, marketer):
    # given
    campaign = CampaignFactory(slug="loyalty-ten")
    client.force_login(marketer)
    # when
    response = client.post(reverse("loyalty:program_create"), _program_post(**{
        "tiers-0-name": "Gold", "tiers-0-threshold": "500", "tiers-0-multiplier_percent": "150",
        "rewards-0-name": "10% off", "rewards-0-type": "code", "rewards-0-cost": "200",
        "rewards-0-campaign": str(campaign.pk), "rewards-0-is_active": "on",
        "earning_rules-0-event_type": "review_submitted", "earning_rules-0-points": "25",
        "earning_rules-0-is_active": "on",
    }))
    # then
    program = LoyaltyProgram.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('loyalty:home')}?program={program.pk}"
    assert (program.name, program.currency, program.points_per_unit, program.is_default) == ("Sunny Club", "EUR",
                                                                                             2, True)
    assert list(program.tiers.values_list("name", "threshold", "multiplier_percent")) == [("Gold", 500, 150)]
    assert list(program.rewards.values_list("name", "cost", "campaign__slug")) == [("10% off", 200, "loyalty-ten")]
    assert list(program.earning_rules.values_list("event_type", "points")) == [("review_submitted", 25)]


def test_program_editor_explains_what_is_wrong(client, marketer):
    # given
    client.force_login(marketer)
    # when
    response = client.post(reverse("loyalty:program_create"), _program_post(**{
        "currency": "e1", "points_expire_after_days": "10", "expiry_reminder_days": "30",
        "tiers-TOTAL_FORMS": "2",
        "tiers-0-name": "Gold", "tiers-0-threshold": "500", "tiers-0-multiplier_percent": "100",
        "tiers-1-name": "Platinum", "tiers-1-threshold": "500", "tiers-1-multiplier_percent": "100",
        "rewards-0-name": "10% off", "rewards-0-type": "code", "rewards-0-cost": "200",
    }))
    # then
    assert response.status_code == 200
    page = response.content.decode()
    assert "Use a three-letter currency code, such as EUR or GBP." in page
    assert "The reminder must come before the points expire (less than 10 days)." in page
    assert "Another tier starts at 500 points: each tier needs its own threshold." in page
    assert "Pick the campaign whose codes this reward gives out." in page
    assert LoyaltyProgram.objects.count() == 0


def test_marketer_edits_a_program_and_removes_a_tier(client, marketer):
    # given
    program = LoyaltyProgramFactory(name="Club")
    gold = TierFactory(program=program, name="Gold", threshold=500)
    client.force_login(marketer)
    # when
    response = client.post(reverse("loyalty:program_edit", args=[program.pk]), _program_post(**{
        "name": "Club Plus", "is_default": "",
        **_management("tiers", total=2, initial=1),
        "tiers-0-id": str(gold.pk), "tiers-0-program": str(program.pk), "tiers-0-name": "Gold",
        "tiers-0-threshold": "500", "tiers-0-multiplier_percent": "100", "tiers-0-DELETE": "on",
        "tiers-1-name": "Silver", "tiers-1-threshold": "200", "tiers-1-multiplier_percent": "110",
    }))
    # then
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.name == "Club Plus"
    assert list(program.tiers.values_list("name", "threshold")) == [("Silver", 200)]


def _members_url(**params) -> str:
    from urllib.parse import urlencode

    return reverse("loyalty:members") + ("?" + urlencode(params) if params else "")


def test_members_filter_by_program_tier_and_balance(client, marketer):
    # given
    program = LoyaltyProgramFactory()
    gold = TierFactory(program=program, name="Gold", threshold=500)
    rich, poor, other = CustomerFactory(email="rich@x.test"), CustomerFactory(email="poor@x.test"), \
        CustomerFactory(email="other@x.test")
    for customer, points in ((rich, 800), (poor, 50)):
        adjust_points(account=account_for(program=program, customer=customer), points=points, reason="seed",
                      actor=Actor.system("test"))
    account_for(program=LoyaltyProgramFactory(), customer=other)
    rich_account = account_for(program=program, customer=rich)
    type(rich_account).objects.filter(pk=rich_account.pk).update(tier=gold)
    client.force_login(marketer)
    # when
    by_balance = client.get(_members_url(program=program.pk, min_points=100))
    by_tier = client.get(_members_url(tier=gold.pk))
    by_range = client.get(_members_url(program=program.pk, max_points=60))
    # then
    assert [account.customer.email for account in by_balance.context["page_obj"]] == ["rich@x.test"]
    assert [account.customer.email for account in by_tier.context["page_obj"]] == ["rich@x.test"]
    assert [account.customer.email for account in by_range.context["page_obj"]] == ["poor@x.test"]


def test_members_filter_points_expiring_within_days(client, marketer):
    # given: points expire 365 days after they were earned, one customer earned 360 days ago
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    program = LoyaltyProgramFactory(points_expire_after_days=365)
    soon, later = CustomerFactory(email="soon@x.test"), CustomerFactory(email="later@x.test")
    with time_machine.travel(timezone.now() - timedelta(days=360)):
        adjust_points(account=account_for(program=program, customer=soon), points=10, reason="old",
                      actor=Actor.system("test"))
    adjust_points(account=account_for(program=program, customer=later), points=10, reason="new",
                  actor=Actor.system("test"))
    client.force_login(marketer)
    # when
    response = client.get(_members_url(expiring_within=30))
    # then
    assert [account.customer.email for account in response.context["page_obj"]] == ["soon@x.test"]


@pytest.mark.parametrize("members", [3, 30])
def test_members_list_runs_a_fixed_number_of_queries(client, marketer, django_assert_max_num_queries, members):
    # given
    program = LoyaltyProgramFactory()
    tier = TierFactory(program=program)
    for _ in range(members):
        account = account_for(program=program, customer=CustomerFactory())
        type(account).objects.filter(pk=account.pk).update(tier=tier)
    client.force_login(marketer)
    client.get(_members_url())  # warm the session and the role cache
    # when / then: session, user, groups, count, page, filter choices (programs, tiers)
    with django_assert_max_num_queries(9):
        response = client.get(_members_url(program=program.pk, expiring_within=7))
    assert response.status_code == 200


def test_customer_panel_shows_balance_ledger_and_the_adjustment_form(client, marketer, loyalty_panel):
    # given
    program = LoyaltyProgramFactory(name="Sunny Club", is_default=True)
    customer = CustomerFactory()
    adjust_points(account=account_for(program=program, customer=customer), points=40, reason="Welcome gift",
                  actor=Actor.system("test"))
    client.force_login(marketer)
    # when
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="panel-balance">40<' in page
    assert "Welcome gift" in page
    assert reverse("loyalty:adjust", args=[customer.pk]) in page


def test_agent_sees_the_panel_without_the_adjustment_form(client, agent, loyalty_panel):
    # given
    LoyaltyProgramFactory(is_default=True)
    customer = CustomerFactory()
    client.force_login(agent)
    # when
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    # then
    assert response.status_code == 200
    assert reverse("loyalty:adjust", args=[customer.pk]) not in response.content.decode()


def test_small_adjustment_is_recorded_at_once(client, marketer):
    # given
    program = LoyaltyProgramFactory(adjustment_approval_threshold=100)
    customer = CustomerFactory()
    client.force_login(marketer)
    # when
    response = client.post(reverse("loyalty:adjust", args=[customer.pk]),
                           {"program": program.pk, "points": "-0", "reason": "x"})
    ok = client.post(reverse("loyalty:adjust", args=[customer.pk]),
                     {"program": program.pk, "points": "30", "reason": "Late parcel"})
    # then
    assert response.status_code == ok.status_code == 302
    entry = LedgerEntry.objects.get()
    assert (entry.points, entry.description, entry.actor_label) == (30, "Late parcel", "alice")
    assert account_for(program=program, customer=customer).points == 30


def test_large_adjustment_waits_and_another_marketer_approves_it(client, marketer, loyalty_panel):
    # given
    from django.contrib.auth.models import Group, User

    from retention.roles import MARKETING

    program = LoyaltyProgramFactory(adjustment_approval_threshold=100, is_default=True)
    customer = CustomerFactory()
    dora = User.objects.create_user("dora", password="pw-dora")
    dora.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(marketer)
    client.post(reverse("loyalty:adjust", args=[customer.pk]),
                {"program": program.pk, "points": "500", "reason": "Big apology"})
    request = AdjustmentRequest.objects.get()
    own_page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    own_try = client.post(reverse("loyalty:decide_adjustment", args=[request.pk, "approve"]))
    # when
    client.force_login(dora)
    client.post(reverse("loyalty:decide_adjustment", args=[request.pk, "approve"]))
    # then
    assert "Waiting for another marketer" in own_page
    assert own_try.status_code == 302
    request.refresh_from_db()
    assert request.status == AdjustmentStatus.APPROVED and request.decided_by == dora
    assert account_for(program=program, customer=customer).points == 500


def test_another_marketer_rejects_an_adjustment(client, marketer):
    # given
    from django.contrib.auth.models import Group, User

    from retention.roles import MARKETING

    program = LoyaltyProgramFactory(adjustment_approval_threshold=100)
    customer = CustomerFactory()
    request = adjust_points(account=account_for(program=program, customer=customer), points=-500,
                            reason="Fraud", actor=Actor.for_user(marketer))
    dora = User.objects.create_user("dora", password="pw-dora")
    dora.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(dora)
    # when
    client.post(reverse("loyalty:decide_adjustment", args=[request.pk, "reject"]))
    # then
    request.refresh_from_db()
    assert request.status == AdjustmentStatus.REJECTED
    assert LedgerEntry.objects.count() == 0


def test_agent_cannot_adjust(client, agent):
    # given
    program = LoyaltyProgramFactory()
    customer = CustomerFactory()
    client.force_login(agent)
    # when
    response = client.post(reverse("loyalty:adjust", args=[customer.pk]),
                           {"program": program.pk, "points": "30", "reason": "x"})
    # then
    assert response.status_code == 403
    assert LedgerEntry.objects.count() == 0
    assert Reward.objects.count() == 0


def test_admin_shows_programs_but_changes_go_through_the_editor(client, admin_user):
    program = LoyaltyProgramFactory()
    client.force_login(admin_user)
    assert client.get(reverse("admin:loyalty_loyaltyprogram_changelist")).status_code == 200
    # the change page is view-only: a POST changes nothing
    client.post(reverse("admin:loyalty_loyaltyprogram_change", args=[program.pk]), {"name": "Hacked"})
    program.refresh_from_db()
    assert program.name != "Hacked"
    assert client.get(reverse("admin:loyalty_loyaltyprogram_add")).status_code == 403


def test_the_loyalty_panel_is_registered_when_the_app_starts():
    assert "loyalty" in {panel.key for panel in customer_panels()}


def test_panel_shows_the_latest_twenty_entries_of_each_program(client, marketer, loyalty_panel):
    first, second = LoyaltyProgramFactory(name="First", is_default=True), LoyaltyProgramFactory(name="Second")
    customer = CustomerFactory()
    for program, count in ((first, 25), (second, 3)):
        account = account_for(program=program, customer=customer)
        for index in range(count):
            adjust_points(account=account, points=index + 1, reason=f"{program.name} #{index + 1}",
                          actor=Actor.system("test"))
    client.force_login(marketer)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "First #25<" in page and "First #6<" in page and "First #5<" not in page
    assert "Second #1<" in page and "Second #3<" in page

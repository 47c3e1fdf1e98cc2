"""The portal's pages: the signed-in customer's own points, tier progress, rewards, codes, history and
consents, and nothing of anybody else's."""

import pytest
from django.urls import reverse

from campaigns.tests.factories import CampaignFactory, CodeFactory
from loyalty.models import LedgerEntry, RewardRedemption, RewardType
from loyalty.portal.auth import PORTAL_SESSION_KEY
from loyalty.portal.forms import CONSENT_WORDING_VERSION
from loyalty.services.adjustments import adjust_points
from loyalty.services.earning import earn_for_order
from loyalty.services.ledger import account_for
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.actors import Actor
from retention.models import ConsentRecord
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _signed_in(client, customer):
    session = client.session
    session[PORTAL_SESSION_KEY] = customer.pk
    session.save()
    return client


def _earn(customer, amount: int, source_id: str):
    earn_for_order(order_id=paid_order(customer, amount, source_id=source_id).pk)


@pytest.fixture
def program():
    program = LoyaltyProgramFactory(name="Sunny Club", is_default=True, portal_promotion="Double points on shoes!")
    TierFactory(program=program, name="Bronze", threshold=100)
    TierFactory(program=program, name="Gold", threshold=500)
    return program


@pytest.fixture
def reward(program):
    return RewardFactory(program=program, name="10% off", type=RewardType.CODE, cost=200,
                         campaign=CampaignFactory(name="Loyalty 10"))


def test_home_shows_balance_tier_progress_and_rewards(client, program, reward):
    # given: 300 points earned (Bronze, 200 of the 400 to Gold), a 600-point reward out of reach
    customer = CustomerFactory(first_name="Ana")
    RewardFactory(program=program, name="Weekend away", cost=600)
    _earn(customer, 30000, "o-1")
    # when
    response = _signed_in(client, customer).get("/portal/")
    # then
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.points == 300
    assert (overview.progress.current, overview.progress.next_name) == ("Bronze", "Gold")
    assert (overview.progress.points_to_go, overview.progress.percent) == (200, 50)
    assert [offer.name for offer in overview.redeemable] == ["10% off"]
    assert [(offer.name, offer.points_to_go) for offer in overview.later] == [("Weekend away", 300)]
    page = response.content.decode()
    assert "300 points to go" in page
    assert "Double points on shoes!" in page
    assert 'aria-valuenow="50"' in page


def test_redeem_from_the_portal_spends_points_and_shows_the_code(client, program, reward):
    # given
    customer = CustomerFactory()
    _earn(customer, 30000, "o-1")
    _signed_in(client, customer)
    # when
    confirm = client.get(f"/portal/rewards/{reward.pk}/")
    response = client.post(f"/portal/rewards/{reward.pk}/redeem/")
    # then
    assert confirm.status_code == 200 and "Yes, redeem 200 points" in confirm.content.decode()
    redemption = RewardRedemption.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/redemptions/{redemption.pk}/"
    assert account_for(program=program, customer=customer).points == 100
    page = client.get(response["Location"]).content.decode()
    assert redemption.code.code in page
    assert redemption.code.customer == customer


def test_redeem_without_enough_points_says_so_and_spends_nothing(client, program, reward):
    # given
    customer = CustomerFactory()
    _earn(customer, 15000, "o-1")
    _signed_in(client, customer)
    # when
    response = client.post(f"/portal/rewards/{reward.pk}/redeem/", follow=True)
    # then
    assert "You do not have enough points for this reward yet." in response.content.decode()
    assert RewardRedemption.objects.count() == 0
    assert account_for(program=program, customer=customer).points == 150


def test_reward_of_another_program_answers_404(client, program, reward):
    # given
    other = RewardFactory(program=LoyaltyProgramFactory(name="Other"), cost=1)
    customer = CustomerFactory()
    _earn(customer, 30000, "o-1")
    _signed_in(client, customer)
    # when
    page = client.get(f"/portal/rewards/{other.pk}/")
    redeem = client.post(f"/portal/rewards/{other.pk}/redeem/")
    # then
    assert page.status_code == 404 and redeem.status_code == 404
    assert RewardRedemption.objects.count() == 0


def test_a_customer_never_reaches_another_customers_data(client, program, reward):
    # given: Ana redeemed a reward; Ben is signed in
    ana, ben = CustomerFactory(email="ana@example.com"), CustomerFactory(email="ben@example.com")
    _earn(ana, 30000, "o-ana")
    _signed_in(client, ana).post(f"/portal/rewards/{reward.pk}/redeem/")
    ana_redemption = RewardRedemption.objects.get()
    CodeFactory(customer=ana, code="ANA-PRIVATE")
    client.post("/portal/sign-out/")
    _signed_in(client, ben)
    # when
    home = client.get("/portal/")
    codes = client.get("/portal/codes/")
    history = client.get("/portal/history/")
    redemption = client.get(f"/portal/redemptions/{ana_redemption.pk}/")
    # then
    assert home.context["overview"].points == 0
    assert "ANA-PRIVATE" not in codes.content.decode()
    assert ana_redemption.code.code not in codes.content.decode()
    assert list(history.context["page_obj"]) == []
    assert redemption.status_code == 404


def test_codes_wallet_groups_active_used_and_expired(client, program):
    # given
    from datetime import timedelta

    from django.utils import timezone

    customer = CustomerFactory()
    CodeFactory(customer=customer, code="READY1")
    CodeFactory(customer=customer, code="USED1", uses_count=1)
    CodeFactory(customer=customer, code="OLD1", expires_at=timezone.now() - timedelta(days=1))
    # when
    response = _signed_in(client, customer).get("/portal/codes/")
    # then
    groups = {label: [entry.code for entry in entries] for label, entries in response.context["groups"]}
    assert groups == {"Ready to use": ["READY1"], "Used": ["USED1"], "Expired": ["OLD1"]}


def test_history_is_paginated_newest_first(client, program):
    # given: 25 adjustments of +1
    customer = CustomerFactory()
    account = account_for(program=program, customer=customer)
    for number in range(25):
        adjust_points(account=account, points=1, reason=f"gift {number}", actor=Actor.system("test"))
    _signed_in(client, customer)
    # when
    first = client.get("/portal/history/")
    second = client.get("/portal/history/?page=2")
    # then
    assert [entry.description for entry in first.context["page_obj"]][:2] == ["gift 24", "gift 23"]
    assert len(first.context["page_obj"]) == 20
    assert [entry.description for entry in second.context["page_obj"]] == [f"gift {n}" for n in range(4, -1, -1)]
    assert LedgerEntry.objects.count() == 25


def test_consent_toggles_are_recorded_from_the_portal(client, program):
    # given
    customer = CustomerFactory(email_marketing_consent=False, sms_marketing_consent=False)
    _signed_in(client, customer)
    # when
    response = client.post("/portal/preferences/", {"email_marketing": "on"}, REMOTE_ADDR="203.0.113.7",
                           HTTP_USER_AGENT="Phone/1.0")
    # then
    assert response.status_code == 302
    record = ConsentRecord.objects.get()
    assert (record.channel, record.granted, record.source) == ("email_marketing", True, "portal")
    assert (record.wording_version, record.ip_address, record.user_agent) == (CONSENT_WORDING_VERSION,
                                                                              "203.0.113.7", "Phone/1.0")
    customer.refresh_from_db()
    assert (customer.email_marketing_consent, customer.sms_marketing_consent) == (True, False)


def test_withdrawing_consent_records_only_the_changed_channel(client, program):
    # given
    customer = CustomerFactory(email_marketing_consent=True, sms_marketing_consent=True)
    _signed_in(client, customer)
    # when
    client.post("/portal/preferences/", {"sms_marketing": "on"})
    # then
    assert list(ConsentRecord.objects.values_list("channel", "granted")) == [("email_marketing", False)]


def test_pages_send_a_visitor_without_a_portal_session_to_sign_in(client, program, reward):
    # given: nobody signed in
    paths = ["/portal/", "/portal/codes/", "/portal/history/", "/portal/preferences/",
             f"/portal/rewards/{reward.pk}/"]
    # when
    responses = [client.get(path) for path in paths]
    # then
    assert {response.status_code for response in responses} == {302}
    assert {response["Location"] for response in responses} == {reverse("loyalty:portal:sign_in")}


def test_an_erased_customer_is_signed_out(client, program):
    # given
    from django.utils import timezone

    customer = CustomerFactory()
    _signed_in(client, customer)
    customer.erased_at = timezone.now()
    customer.save()
    # when
    response = client.get("/portal/")
    # then
    assert response.status_code == 302
    assert PORTAL_SESSION_KEY not in client.session


def test_home_shows_perks_points_expiring_soon_and_explains_a_negative_balance(client):
    # given a program whose points expire, with perks on its tiers, and a member at Bronze
    from loyalty.services.earning import reverse_order_points
    from loyalty.services.rewards import redeem_reward
    from loyalty.tests.factories import refund

    program = LoyaltyProgramFactory(is_default=True, points_expire_after_days=30)
    TierFactory(program=program, name="Bronze", threshold=100, perks="Free returns")
    TierFactory(program=program, name="Gold", threshold=500, perks="Early access to sales")
    customer = CustomerFactory()
    _earn(customer, 15000, "o-1")
    _signed_in(client, customer)
    # when
    page = client.get("/portal/").content.decode()
    # then the perks of her tier and of the next, and when her points go
    assert "Your perks: Free returns. Gold adds: Early access to sales." in page
    assert "<strong>150 points</strong> expire on" in page
    # and points further away than the reminder window (or 30 days) are not "soon"
    type(program).objects.filter(pk=program.pk).update(points_expire_after_days=31)
    _earn(customer, 7000, "o-later")
    page = client.get("/portal/").content.decode()
    assert "<strong>150 points</strong> expire on" in page and "<strong>70 points</strong>" not in page
    assert 'data-testid="negative-balance"' not in page
    # given she spends them, then the order is refunded
    order = paid_order(customer, 100, source_id="o-2")
    earn_for_order(order_id=order.pk)
    redeem_reward(account_or_customer=customer, reward=RewardFactory(program=program, cost=151),
                  actor=Actor.system("test"))
    reverse_order_points(order_id=refund(type(order).objects.get(source_id="o-1")).pk)
    # when / then the page says why the balance is below zero and what happens next
    page = client.get("/portal/").content.decode()
    assert 'data-testid="balance">-80<' in page  # 150 + 70 + 1 - 151, then the 150 taken back
    assert "the next points you earn pay it off first" in page

"""The back-office's reward redemptions list (experiences fulfilled by hand), and the fixed number of
queries of the loyalty pages, the portal and the summary API: the same count for a small and a large
history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.tests.factories import CampaignFactory, CodeFactory
from loyalty.models import RewardRedemption, RewardRedemptionStatus, RewardType
from loyalty.panels import register_panels
from loyalty.portal.auth import PORTAL_SESSION_KEY
from loyalty.services.adjustments import adjust_points
from loyalty.services.earning import earn_for_order
from loyalty.services.ledger import account_for
from loyalty.services.rewards import redeem_reward
from loyalty.tests.factories import LoyaltyProgramFactory, RewardFactory, TierFactory, paid_order
from retention.actors import Actor
from retention.models import AuditEntry
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


@pytest.fixture
def program():
    program = LoyaltyProgramFactory(name="Sunny Club", is_default=True, points_expire_after_days=365,
                                    portal_promotion="Double points on shoes!")
    TierFactory(program=program, name="Bronze", threshold=100)
    TierFactory(program=program, name="Gold", threshold=5000)
    return program


def _experience_redemption(program, email: str) -> RewardRedemption:
    customer = CustomerFactory(email=email)
    earn_for_order(order_id=paid_order(customer, 10000).pk)
    reward = RewardFactory(program=program, name="Early access", type=RewardType.EXPERIENCE, cost=50)
    return redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM)


# The redemptions list ---------------------------------------------------------------------------------

def test_requested_experiences_are_listed_and_fulfilled_once(client, marketer, program):
    # given an experience waiting to be handed over and a donation already issued
    waiting = _experience_redemption(program, "ana@x.test")
    donor = CustomerFactory(email="ben@x.test")
    earn_for_order(order_id=paid_order(donor, 10000).pk)
    redeem_reward(account_or_customer=donor, reward=RewardFactory(program=program, name="Plant a tree", cost=20),
                  actor=SYSTEM)
    client.force_login(marketer)
    # when the marketer filters on "requested"
    url = reverse("loyalty:redemptions") + "?status=requested"
    response = client.get(url)
    # then only the experience is listed, with its button
    assert [row.pk for row in response.context["page_obj"]] == [waiting.pk]
    assert reverse("loyalty:fulfil_redemption", args=[waiting.pk]) in response.content.decode()
    # when it is marked fulfilled, and then again (a second click or a second marketer)
    first = client.post(reverse("loyalty:fulfil_redemption", args=[waiting.pk]), {"next": url}, follow=True)
    second = client.post(reverse("loyalty:fulfil_redemption", args=[waiting.pk]), {"next": url}, follow=True)
    # then it is fulfilled once, audited once, and the list is back with its filter
    assert first.redirect_chain[-1][0] == url
    assert "“Early access” for ana@x.test is marked fulfilled." in first.content.decode()
    assert "Only a requested redemption can be fulfilled" in second.content.decode()
    assert RewardRedemption.objects.get(pk=waiting.pk).status == RewardRedemptionStatus.FULFILLED
    assert AuditEntry.objects.filter(action="loyalty.reward_fulfilled").count() == 1
    assert list(second.context["page_obj"]) == []


def test_redemptions_filter_by_reward_type_and_email(client, marketer, program):
    _experience_redemption(program, "ana@x.test")
    _experience_redemption(program, "ben@x.test")
    client.force_login(marketer)
    response = client.get(reverse("loyalty:redemptions"), {"type": "experience", "q": "ben@"})
    assert [row.account.customer.email for row in response.context["page_obj"]] == ["ben@x.test"]
    response = client.get(reverse("loyalty:redemptions"), {"type": "donation"})
    assert list(response.context["page_obj"]) == []


def test_dashboard_links_to_what_is_left_to_fulfil(client, marketer, program):
    _experience_redemption(program, "ana@x.test")
    client.force_login(marketer)
    page = client.get(reverse("loyalty:home")).content.decode()
    assert 'data-figure="to-fulfil"><strong>1 to fulfil</strong>' in page


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_only_marketing_sees_and_fulfils_redemptions(client, request, program, role):
    redemption = _experience_redemption(program, "ana@x.test")
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("loyalty:redemptions")).status_code == 403
    assert client.post(reverse("loyalty:fulfil_redemption", args=[redemption.pk])).status_code == 403
    assert RewardRedemption.objects.get().status == RewardRedemptionStatus.REQUESTED


def test_a_foreign_next_address_is_ignored(client, marketer, program):
    redemption = _experience_redemption(program, "ana@x.test")
    client.force_login(marketer)
    response = client.post(reverse("loyalty:fulfil_redemption", args=[redemption.pk]),
                           {"next": "https://evil.example/loyalty/redemptions/"})
    assert response["Location"] == reverse("loyalty:redemptions")


# Fixed numbers of queries ------------------------------------------------------------------------------

def _grow(program, customer, orders: int) -> None:
    """`orders` paid orders, a redemption, a code and an adjustment: a history of some length."""
    reward = RewardFactory(program=program, name=f"Reward of {customer.source_id}", type=RewardType.CODE, cost=10,
                           campaign=CampaignFactory())
    for _ in range(orders):
        earn_for_order(order_id=paid_order(customer, 2500).pk)
    redeem_reward(account_or_customer=customer, reward=reward, actor=SYSTEM)
    CodeFactory(customer=customer)
    adjust_points(account=account_for(program=program, customer=customer), points=5, reason="Sorry",
                  actor=SYSTEM)


def _queries(client, url: str) -> int:
    client.get(url)  # warm the session, the role and the content-type caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _portal(client, customer):
    session = client.session
    session[PORTAL_SESSION_KEY] = customer.pk
    session.save()
    return client


@pytest.mark.parametrize("url", ["/portal/", "/portal/codes/", "/portal/history/", "/portal/history/?page=2"])
def test_portal_pages_run_the_same_queries_for_a_short_and_a_long_history(client, program, url):
    short, long = CustomerFactory(), CustomerFactory()
    _grow(program, short, 1)
    _grow(program, long, 30)
    RewardFactory(program=program, name="Gold only", cost=1, min_tier=program.tiers.get(name="Gold"))
    # history page 2 needs more than one page: both have it (30 orders; 1 order + ... is padded below)
    for _ in range(20):
        adjust_points(account=account_for(program=program, customer=short), points=1, reason="pad", actor=SYSTEM)
    assert _queries(_portal(client, short), url) == _queries(_portal(client, long), url)


def test_back_office_pages_run_the_same_queries_for_few_and_many_members(client, marketer, program):
    register_panels()  # registered at start-up; again in case another test replaced the registry
    customer = CustomerFactory()
    _grow(program, customer, 2)
    _experience_redemption(program, "first@x.test")
    client.force_login(marketer)
    urls = [reverse("loyalty:home"), reverse("loyalty:members") + "?expiring_within=30",
            reverse("loyalty:redemptions"), reverse("customers:detail", args=[customer.pk]),
            reverse("loyalty:program_edit", args=[program.pk])]
    few = [_queries(client, url) for url in urls]
    for index in range(15):
        other = CustomerFactory()
        _grow(program, other, 3)
        _experience_redemption(program, f"more{index}@x.test")
    _grow(program, customer, 20)
    account_for(program=LoyaltyProgramFactory(name="Second"), customer=customer)  # a second account too
    many = [_queries(client, url) for url in urls]
    assert dict(zip(urls, many, strict=True)) == dict(zip(urls, few, strict=True))


def test_summary_api_runs_the_same_queries_for_a_new_member_and_a_long_ledger(api, program):
    RewardFactory(program=program, name="Gold only", cost=1, min_tier=program.tiers.get(name="Gold"))
    new, old = CustomerFactory(), CustomerFactory()
    _grow(program, old, 40)

    def count(customer) -> int:
        url = f"/api/v1/customers/{customer.source_id}/loyalty"
        api.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    # key; customer + program + account + tiers in one statement; lots; rewards
    assert count(new) == count(old) <= 4


def test_dashboard_says_what_the_first_reward_takes(client, marketer):
    program = LoyaltyProgramFactory(points_per_unit=3, currency="EUR", signup_bonus=50)
    RewardFactory(program=program, name="Free coffee", cost=200)
    RewardFactory(program=program, name="Weekend away", cost=9000)
    client.force_login(marketer)
    page = client.get(reverse("loyalty:home")).content.decode()
    # 200 points at 3 per 1.00: 66.67 EUR (rounded up, so the spend really earns the cost)
    assert "<strong>Free coffee</strong> at 200 points, about 66.67 EUR of orders" in page
    assert "less the 50-point sign-up bonus" in page

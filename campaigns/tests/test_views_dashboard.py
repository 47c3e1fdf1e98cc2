"""The marketer's dashboard at /dashboard/ (campaigns:dashboard)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CampaignType
from campaigns.tests.factories import CampaignFactory, CodeFactory, RedemptionFactory
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_marketer_sees_the_dashboard(client, marketer):
    CampaignFactory(name="Winter sale", budget=10000, discount_total=9000)
    client.force_login(marketer)
    response = client.get(reverse("campaigns:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Dashboard</h1>" in body
    assert "“Winter sale” has spent 90 % of its budget." in body
    assert '<svg viewBox=' in body


@pytest.mark.parametrize("who", ["agent", "outsider"])
def test_others_are_refused(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("campaigns:dashboard")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("campaigns:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_dashboard_shows_a_leak_alert(client, marketer):
    campaign = CampaignFactory(name="Insta", type=CampaignType.PUBLIC, public_code="INSTA")
    for minutes in range(12):
        RedemptionFactory(code=CodeFactory(campaign=campaign), created_at=timezone.now() - timedelta(minutes=minutes))
    client.force_login(marketer)
    body = client.get(reverse("campaigns:dashboard")).content.decode()
    assert "12 redemptions of “Insta” in the last 24 hours" in body


@pytest.mark.parametrize("size", [1, 25])
def test_dashboard_runs_a_fixed_number_of_queries(client, marketer, django_assert_max_num_queries, size):
    customer = CustomerFactory()
    for number in range(size):
        campaign = CampaignFactory(type=CampaignType.PUBLIC if number % 2 else CampaignType.UNIQUE,
                                   public_code=f"PUB{number}" if number % 2 else "", budget=10000,
                                   trigger={"type": "birthday"} if number % 3 == 0 else None,
                                   starts_at=timezone.now() + timedelta(days=1) if number % 5 == 0 else None)
        for _ in range(3):
            RedemptionFactory(code=CodeFactory(campaign=campaign), customer=customer)
    client.force_login(marketer)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("campaigns:dashboard")).status_code == 200

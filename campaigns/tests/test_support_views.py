"""The support desk's pages, for each role."""

import pytest
from django.core import mail
from django.urls import NoReverseMatch, reverse

from campaigns.models import Code, DiscountType, SupportAgentLimit
from campaigns.tests.factories import CampaignFactory
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sorry_campaign():
    return CampaignFactory(name="Sorry", slug="sorry", discount_type=DiscountType.AMOUNT, percent=None, amount=500,
                           is_support=True, support_amount_options=[500, 1000, 5000])


@pytest.fixture
def anna():
    return CustomerFactory(email="anna@example.com", first_name="Anna", last_name="Berg", source_id="shop-4821")


def test_desk_is_open_to_agents_and_marketers(client, agent, marketer):
    for user in (agent, marketer):
        client.force_login(user)
        assert client.get(reverse("support:desk")).status_code == 200


def test_desk_refuses_outsiders_and_sends_strangers_to_sign_in(client, outsider, anna):
    # when
    anonymous = client.get(reverse("support:desk"))
    client.force_login(outsider)
    # then
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert client.get(reverse("support:desk")).status_code == 403
    assert client.get(reverse("support:customer", args=[anna.pk])).status_code == 403
    assert client.post(reverse("support:issue", args=[anna.pk]), {}).status_code == 403


@pytest.mark.parametrize("query", ["anna@example.com", "ANNA@", "shop-4821", "shop-48"])
def test_search_finds_by_email_or_customer_id_exact_or_prefix(client, agent, anna, query):
    # given
    CustomerFactory(email="bert@example.com", source_id="other-1")
    client.force_login(agent)
    # when
    response = client.get(reverse("support:desk"), {"q": query})
    # then
    assert [customer.pk for customer in response.context["results"]] == [anna.pk]


def test_search_as_htmx_returns_only_the_results(client, agent, anna):
    client.force_login(agent)
    response = client.get(reverse("support:desk"), {"q": "anna@"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "anna@example.com" in body
    assert "<html" not in body


def test_customer_page_shows_the_offers_within_the_agents_cap(client, agent, anna, sorry_campaign):
    # given
    SupportAgentLimit.objects.create(user=agent, max_amount=1000)
    client.force_login(agent)
    # when
    response = client.get(reverse("support:customer", args=[anna.pk]))
    # then
    choices = [value for _group, options in response.context["form"].fields["offer"].choices[1:]
               for value, _label in options]
    assert choices == [f"{sorry_campaign.pk}:500", f"{sorry_campaign.pk}:1000"]


def test_issuing_from_the_desk_mails_the_code_and_shows_it(client, agent, anna, sorry_campaign,
                                                           django_capture_on_commit_callbacks):
    client.force_login(agent)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("support:issue", args=[anna.pk]),
                               {"offer": f"{sorry_campaign.pk}:1000", "reason": "Late parcel"}, follow=True)
    # then
    code = Code.objects.get()
    assert (code.customer_id, code.amount_override) == (anna.pk, 1000)
    assert f"Code {code.code} (10.00 EUR off) sent to anna@example.com." in response.content.decode()
    assert [message.to for message in mail.outbox] == [["anna@example.com"]]


def test_issuing_with_htmx_returns_the_panel_with_the_updated_codes(client, agent, anna, sorry_campaign):
    client.force_login(agent)
    # when
    response = client.post(reverse("support:issue", args=[anna.pk]),
                           {"offer": f"{sorry_campaign.pk}:500", "reason": "Late parcel",
                            "apply_to_next_order": "on"}, HTTP_HX_REQUEST="true")
    # then
    code = Code.objects.get()
    body = response.content.decode()
    assert code.is_automatic is True
    assert f"Discount {code.code} (5.00 EUR off) will apply automatically to the next order." in body
    assert body.count(code.code) == 2  # the result line and the codes list
    assert "<html" not in body


def test_refusal_is_shown_and_nothing_is_issued(client, agent, anna, sorry_campaign):
    # given an agent whose cap is below the option sent (a forged form: the page does not offer it)
    SupportAgentLimit.objects.create(user=agent, max_amount=500)
    client.force_login(agent)
    # when
    response = client.post(reverse("support:issue", args=[anna.pk]),
                           {"offer": f"{sorry_campaign.pk}:5000", "reason": "Late parcel"})
    # then
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    assert Code.objects.count() == 0


def test_service_refusal_is_shown_on_the_page(client, agent, anna, sorry_campaign):
    # given the agent used up the day (the form cannot know: the service counts)
    SupportAgentLimit.objects.create(user=agent, max_codes_per_day=0)
    client.force_login(agent)
    # when
    response = client.post(reverse("support:issue", args=[anna.pk]),
                           {"offer": f"{sorry_campaign.pk}:500", "reason": "Late parcel"})
    # then
    assert response.status_code == 422
    assert "You have issued your 0 codes for today." in response.content.decode()
    assert Code.objects.count() == 0


def test_reason_is_required_in_the_form(client, agent, anna, sorry_campaign):
    client.force_login(agent)
    response = client.post(reverse("support:issue", args=[anna.pk]), {"offer": f"{sorry_campaign.pk}:500"})
    assert response.status_code == 422
    assert "Say why the customer gets this code." in response.content.decode()
    assert Code.objects.count() == 0


@pytest.mark.parametrize("name", ["campaigns:list", "campaigns:create", "ab:compare"])
def test_agents_cannot_open_campaign_pages(client, agent, name):
    try:
        url = reverse(name)
    except NoReverseMatch:
        pytest.skip(f"{name} is not mounted yet")
    client.force_login(agent)
    assert client.get(url).status_code == 403

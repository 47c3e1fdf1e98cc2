"""Every back-office page of the core, for every role: who gets 200, who gets 403, who is sent to sign in."""

import pytest
from django.urls import reverse

from retention.models import WebhookEndpoint
from retention.tests.factories import CustomerFactory, SegmentFactory

MARKETER_PAGES = ["audit:list", "segments:create"]
READ_PAGES = ["customers:list", "customers:detail", "segments:list", "segments:detail", "segments:count"]
ADMIN_PAGES = ["settings:home", "settings:webhook_create", "settings:webhook"]


@pytest.fixture
def objects(db):
    return {
        "customers:detail": CustomerFactory().pk,
        "segments:detail": SegmentFactory().pk,
        "segments:count": SegmentFactory().pk,
        "segments:edit": SegmentFactory().pk,
        "settings:webhook": WebhookEndpoint.objects.create(url="https://shop.example/hook", secret="s").pk,
    }


def _url(name: str, objects: dict) -> str:
    return reverse(name, args=[objects[name]]) if name in objects else reverse(name)


def test_marketer_is_sent_from_home_to_the_campaign_dashboard(client, marketer):
    client.force_login(marketer)
    response = client.get(reverse("dashboard"))
    assert (response.status_code, response["Location"]) == (302, reverse("campaigns:dashboard"))


@pytest.mark.parametrize("name", [*READ_PAGES, *MARKETER_PAGES, "segments:edit"])
def test_marketer_opens_the_page(client, marketer, objects, name):
    # given a signed-in marketer
    client.force_login(marketer)
    # when they open the page
    response = client.get(_url(name, objects))
    # then it is shown
    assert response.status_code == 200


@pytest.mark.parametrize("name", [*READ_PAGES, "dashboard"])
def test_agent_reads_customers_and_segments(client, agent, objects, name):
    client.force_login(agent)
    assert client.get(_url(name, objects)).status_code == 200


@pytest.mark.parametrize("name", [*MARKETER_PAGES, "segments:edit", *ADMIN_PAGES])
def test_agent_is_refused_marketing_and_settings_pages(client, agent, objects, name):
    client.force_login(agent)
    assert client.get(_url(name, objects)).status_code == 403


@pytest.mark.parametrize("name", [*READ_PAGES, *MARKETER_PAGES, *ADMIN_PAGES])
def test_outsider_is_refused_everywhere_but_the_dashboard(client, outsider, objects, name):
    client.force_login(outsider)
    assert client.get(_url(name, objects)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_marketer_is_refused_settings(client, marketer, objects, name):
    client.force_login(marketer)
    assert client.get(_url(name, objects)).status_code == 403


@pytest.mark.parametrize("name", [*ADMIN_PAGES, *READ_PAGES, *MARKETER_PAGES])
def test_superuser_opens_every_page(client, admin_user, objects, name):
    client.force_login(admin_user)
    assert client.get(_url(name, objects)).status_code == 200


@pytest.mark.parametrize("name", [*READ_PAGES, *MARKETER_PAGES, *ADMIN_PAGES, "dashboard"])
def test_anonymous_visitor_is_sent_to_sign_in(client, objects, name):
    # given nobody signed in
    url = _url(name, objects)
    # when they open the page
    response = client.get(url)
    # then they are redirected to the login page, coming back afterwards
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_outsider_sees_only_the_greeting_on_the_dashboard(client, outsider):
    # given a signed-in user without a role, and some customers
    CustomerFactory.create_batch(2)
    client.force_login(outsider)
    # when they open the dashboard
    response = client.get(reverse("dashboard"))
    # then they are greeted, without any figures
    assert response.status_code == 200
    assert response.context["figures"] is None
    assert b"Ask an administrator" in response.content
    assert b'href="/customers/"' not in response.content

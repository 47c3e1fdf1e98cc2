"""Landing pages: one code per address, consent, honeypot, cap, eligibility, rate limit."""

import pytest
from django.core import mail
from django.urls import reverse

from campaigns.models import Campaign, Code, CodeSource, LandingClaim
from campaigns.services.landing import (
    CONSENT_WORDING_VERSION,
    RATE_LIMIT_CLAIMS,
    LandingRefused,
    OfferEnded,
    claim_landing_code,
    landing_source_id,
)
from campaigns.tests.factories import CampaignFactory
from retention.models import ConsentRecord, ConsentSource, Customer
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Test)"


@pytest.fixture
def spring():
    return CampaignFactory(name="Spring", slug="spring", percent=15, landing_enabled=True,
                           landing_title="15% off your spring order", landing_text="For our new friends.")


def _claim(campaign, email, consent=False, ip="203.0.113.7"):
    return claim_landing_code(campaign=campaign, email=email, consent=consent, ip_address=ip, user_agent=BROWSER)


def _post(client, campaign, email="anna@example.com", ip="203.0.113.7", **extra):
    data = {"email": email, **extra}
    return client.post(reverse("landing:page", args=[campaign.slug]), data, REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER)


def test_page_shows_the_campaigns_look_and_a_form(client, spring):
    # when
    response = client.get(reverse("landing:page", args=["spring"]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "15% off your spring order" in body
    assert "For our new friends." in body
    assert 'name="email"' in body


def test_page_is_not_found_without_landing_enabled(client):
    CampaignFactory(slug="hidden", landing_enabled=False)
    assert client.get(reverse("landing:page", args=["hidden"])).status_code == 404


def test_new_address_gets_a_code_on_the_page_and_by_mail(client, spring, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, spring, email=" Anna@Example.com ")
    # then
    code = Code.objects.get()
    claim = LandingClaim.objects.get()
    customer = Customer.objects.get()
    assert code.code in response.content.decode()
    assert (code.source, code.customer_id) == (CodeSource.LANDING, None)  # a new address: not assigned
    assert (claim.email, claim.customer_id, claim.code_id, claim.ip_address) == (
        "anna@example.com", customer.pk, code.pk, "203.0.113.7")
    assert (customer.email, customer.source_id) == ("anna@example.com", landing_source_id("anna@example.com"))
    assert [message.to for message in mail.outbox] == [["anna@example.com"]]
    assert code.code in mail.outbox[0].body
    assert Campaign.objects.get(pk=spring.pk).codes_issued == 1


def test_known_customer_gets_a_code_assigned_to_them(spring):
    # given
    anna = CustomerFactory(email="anna@example.com", source_id="shop-1", country="")
    # when
    code = _claim(spring, "ANNA@example.com")
    # then
    assert code.customer_id == anna.pk
    assert Customer.objects.count() == 1


def test_one_code_per_normalised_address(client, spring, django_capture_on_commit_callbacks):
    # given
    first = _claim(spring, "Anna@X.com")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        again = _claim(spring, "anna@x.com")
        response = _post(client, spring, email="ANNA@x.com ")
    # then
    assert again.pk == first.pk
    assert (first.is_new_claim, again.is_new_claim) == (True, False)
    assert Code.objects.count() == 1
    assert LandingClaim.objects.count() == 1
    body = response.content.decode()
    assert "This address already has a code for this offer" in body
    assert first.code not in body  # whoever types someone's address does not see their code
    assert [message.to for message in mail.outbox] == [["anna@x.com"], ["anna@x.com"]]  # mailed again


def test_consent_is_recorded_with_source_wording_ip_and_browser(client, spring):
    # when
    _post(client, spring, consent="on")
    # then
    customer = Customer.objects.get()
    record = ConsentRecord.objects.get()
    assert customer.email_marketing_consent is True
    assert (record.channel, record.granted, record.source, record.wording_version) == (
        "email_marketing", True, ConsentSource.LANDING_PAGE, CONSENT_WORDING_VERSION)
    assert (record.ip_address, record.user_agent) == ("203.0.113.7", BROWSER)


def test_no_consent_ticked_records_none_and_still_gives_the_code(client, spring):
    # when
    _post(client, spring)
    # then
    assert ConsentRecord.objects.count() == 0
    assert Customer.objects.get().email_marketing_consent is False
    assert Code.objects.count() == 1


def test_honeypot_pretends_success_and_issues_nothing(client, spring):
    # when
    response = _post(client, spring, website="http://spam.example")
    # then
    assert response.status_code == 200
    assert "Your code is on its way" in response.content.decode()
    assert (Code.objects.count(), LandingClaim.objects.count(), Customer.objects.count()) == (0, 0, 0)
    assert mail.outbox == []


def test_cap_reached_ends_the_offer(client, spring):
    # given the first 1 shopper
    spring.max_redemptions = 1
    spring.save()
    _claim(spring, "first@example.com")
    # when
    page = client.get(reverse("landing:page", args=["spring"]))
    response = _post(client, spring, email="second@example.com")
    # then
    for answer in (page, response):
        body = answer.content.decode()
        assert "This offer has ended" in body
        assert 'name="email"' not in body
    assert Code.objects.count() == 1
    assert LandingClaim.objects.count() == 1
    assert Campaign.objects.get(pk=spring.pk).codes_issued == 1
    with pytest.raises(OfferEnded):
        _claim(spring, "third@example.com")


def test_paused_campaign_shows_the_offer_has_ended(client, spring):
    spring.is_paused = True
    spring.save()
    body = client.get(reverse("landing:page", args=["spring"])).content.decode()
    assert "This offer has ended" in body
    assert 'name="email"' not in body


def test_country_rule_refuses_a_known_customer_from_elsewhere(client, spring):
    # given
    spring.countries = ["DE"]
    spring.save()
    CustomerFactory(email="pierre@example.fr", country="FR")
    # when
    response = _post(client, spring, email="pierre@example.fr")
    # then
    assert response.status_code == 422
    assert "not available in your country" in response.content.decode()
    assert (Code.objects.count(), LandingClaim.objects.count()) == (0, 0)


def test_country_rule_lets_an_unknown_country_through(spring):
    spring.countries = ["DE"]
    spring.save()
    assert _claim(spring, "new@example.com").pk is not None


def test_first_time_only_refuses_a_customer_who_ordered(spring):
    # given
    spring.landing_first_time_only = True
    spring.save()
    CustomerFactory(email="loyal@example.com", orders_count=3, country="DE")
    # when / then
    with pytest.raises(LandingRefused) as refusal:
        _claim(spring, "loyal@example.com")
    assert refusal.value.code == "first_order_only"
    assert (Code.objects.count(), LandingClaim.objects.count()) == (0, 0)


def test_claims_are_rate_limited_per_ip(client, spring):
    # given
    for number in range(RATE_LIMIT_CLAIMS):
        assert _post(client, spring, email=f"visitor{number}@example.com").status_code == 200
    # when
    response = _post(client, spring, email="one-more@example.com")
    other_ip = _post(client, spring, email="elsewhere@example.com", ip="198.51.100.2")
    # then
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert not LandingClaim.objects.filter(email="one-more@example.com").exists()
    assert other_ip.status_code == 200
    assert LandingClaim.objects.count() == RATE_LIMIT_CLAIMS + 1

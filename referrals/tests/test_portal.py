"""The portal's referral section, the invite action, and the back-office customer panel."""

import pytest
from django.core import mail
from django.urls import reverse

from loyalty.portal.auth import PORTAL_SESSION_KEY
from referrals.models import Invitation, ReferralCode
from referrals.services.conversions import convert_for_order
from referrals.services.invitations import INVITES_PER_DAY, InvitationRateLimited, invite_by_email
from referrals.services.referrals import register_referral
from retention.actors import Actor
from retention.emails import email_hash
from retention.messaging.models import Delivery, MessageTemplate
from retention.models import Customer
from retention.signals import customer_created
from retention.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def signed_in(client, customer):
    session = client.session
    session[PORTAL_SESSION_KEY] = customer.pk
    session.save()
    return client


@pytest.fixture
def invitation_template(db):
    return MessageTemplate.objects.create(name="referral_invitation", channel="email", subject="{{ discount_text }}",
                                          html_body="<p>Use {{ code }}: {{ portal_url }}</p>",
                                          text_body="Use {{ code }}: {{ portal_url }}")


def test_portal_home_shows_link_share_buttons_and_counts(client, anna_code, anna):
    # given a converted friend
    friend = CustomerFactory()
    register_referral(code="ANNA-7KQ2", friend=friend, actor=Actor.system("t"))
    convert_for_order(order_id=OrderFactory(customer=friend, amount=5000).pk)
    # when
    page = signed_in(client, anna).get(reverse("loyalty:portal:home")).content.decode()
    # then
    assert 'value="https://shop.example/?ref=ANNA-7KQ2"' in page
    assert "https://wa.me/?text=" in page and "https://www.facebook.com/sharer/sharer.php?u=" in page
    assert "https://twitter.com/intent/tweet?" in page and "mailto:?subject=" in page
    assert 'data-testid="referral-invited">1<' in page and 'data-testid="referral-converted">1<' in page
    assert "500 points" in page


def test_portal_creates_the_code_on_first_view(client, program, ben):
    signed_in(client, ben).get(reverse("loyalty:portal:home"))
    assert ReferralCode.objects.get(customer=ben).code.startswith("BEN-")


def test_disabled_program_hides_the_section(client, program, ben):
    program.is_enabled = False
    program.save()
    page = signed_in(client, ben).get(reverse("loyalty:portal:home")).content.decode()
    assert "referral-section" not in page


def test_invite_by_email_queues_one_message_and_refuses_a_second(anna_code, invitation_template,
                                                                  django_capture_on_commit_callbacks):
    # when
    customers = Customer.objects.count()
    sent = []
    customer_created.connect(receiver := lambda **kwargs: sent.append(kwargs), weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the invitation is sent, signals run
            delivery = invite_by_email(code=anna_code, email="New.Friend@Example.org")
    finally:
        customer_created.disconnect(receiver)
    # then: a bare-address delivery, nobody became a customer, nothing announced a new customer
    assert (Customer.objects.count(), sent) == (customers, [])
    assert (delivery.customer_id, delivery.address, delivery.kind, delivery.channel) == (
        None, "new.friend@example.org", "transactional", "email")
    assert delivery.address_hash == email_hash("new.friend@example.org")
    assert "ANNA-7KQ2" in delivery.payload["text"]
    assert "Anna asked us to send you their invitation" in delivery.payload["text"]
    assert "unsubscribe_url" not in delivery.payload and "Unsubscribe" not in delivery.payload["html"]
    assert [message.to for message in mail.outbox] == [["new.friend@example.org"]]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.address) == ("sent", "")  # the address is not kept once sent
    with pytest.raises(Exception) as caught:
        invite_by_email(code=anna_code, email="new.friend@example.org")
    assert caught.value.code == "invitation_refused"
    assert Invitation.objects.count() == 1 and Delivery.objects.count() == 1


def test_invitations_are_rate_limited(anna_code, invitation_template):
    for index in range(INVITES_PER_DAY):
        invite_by_email(code=anna_code, email=f"f{index}@example.org")
    with pytest.raises(InvitationRateLimited):
        invite_by_email(code=anna_code, email="one-more@example.org")
    assert Invitation.objects.count() == INVITES_PER_DAY


def test_invite_from_the_portal(client, anna_code, anna, invitation_template):
    answer = signed_in(client, anna).post(reverse("referrals:portal_invite"), {"email": "pal@example.org"},
                                          follow=True)
    assert "Invitation sent to pal@example.org" in answer.content.decode()
    assert Invitation.objects.get().email_hash == email_hash("pal@example.org")


def test_invite_needs_a_portal_session(client, anna_code):
    answer = client.post(reverse("referrals:portal_invite"), {"email": "pal@example.org"})
    assert answer.status_code == 302 and Invitation.objects.count() == 0


def test_customer_page_panel_shows_code_and_referrer(client, marketer, anna_code, anna, ben):
    register_referral(code="ANNA-7KQ2", friend=ben, actor=Actor.system("t"))
    client.force_login(marketer)
    anna_page = client.get(reverse("customers:detail", args=[anna.pk])).content.decode()
    ben_page = client.get(reverse("customers:detail", args=[ben.pk])).content.decode()
    assert 'data-figure="referral-code">ANNA-7KQ2<' in anna_page
    assert 'data-figure="referral-invited">1<' in anna_page
    assert "Referred by" in ben_page and ">anna<" in ben_page


def test_gdpr_export_has_the_referral_section(api, anna_code, anna, ben):
    register_referral(code="ANNA-7KQ2", friend=ben, actor=Actor.system("t"), ip_address="10.1.2.3")
    exported = api.get("/api/v1/customers/ben/export").json()
    assert exported["referrals"]["referrals_received"][0]["code_code"] == "ANNA-7KQ2"
    assert exported["referrals"]["referrals_received"][0]["ip_address"] == "10.1.2.3"
    assert api.get("/api/v1/customers/anna/export").json()["referrals"]["codes"] == [
        {"program": anna_code.program.name, "code": "ANNA-7KQ2"}]


def test_erasure_renames_the_code_and_clears_the_sign_up_traces(anna_code, anna, ben,
                                                               django_capture_on_commit_callbacks):
    from retention.services.gdpr import erase_customer

    referral = register_referral(code="ANNA-7KQ2", friend=ben, actor=Actor.system("t"), ip_address="10.1.2.3",
                                 device_id="dev-1")
    with django_capture_on_commit_callbacks(execute=True):
        erase_customer(customer=anna, actor=Actor.system("t"))
        erase_customer(customer=ben, actor=Actor.system("t"))
    anna_code.refresh_from_db()
    referral.refresh_from_db()
    assert anna_code.code.startswith("FRIEND-") and "ANNA" not in anna_code.code
    assert (referral.ip_address, referral.device_id, referral.status) == (None, "", "pending")

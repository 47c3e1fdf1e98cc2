"""Portal sign-in: one answer for every address, single-use links valid 15 minutes, rate limits, and
portal sessions that stay apart from staff sessions."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from loyalty.models import PortalLoginToken
from loyalty.portal.auth import PORTAL_SESSION_KEY
from loyalty.portal.services import read_token
from retention.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SIGN_IN = "/portal/sign-in/"
ANSWER = "If we know this address, a sign-in link is on its way"


def _request_link(client, email, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(SIGN_IN, {"email": email}, **extra)


def _link_path(message) -> str:
    line = next(line for line in message.body.splitlines() if "/portal/sign-in/" in line)
    return line[line.index("/portal/sign-in/"):].strip()


def test_known_address_gets_a_single_link_by_mail(client, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(email="ana@example.com", first_name="Ana")
    # when
    response = _request_link(client, " Ana@Example.com ", django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 200
    assert ANSWER in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.com"]
    token = PortalLoginToken.objects.get()
    assert token.customer == customer
    assert token.expires_at - token.created_at == timedelta(minutes=15)
    # the link carries the token's nonce, signed (the signature holds a timestamp: compare what it reads)
    assert read_token(_link_path(mail.outbox[0]).split("/")[3]) == token.nonce


def test_unknown_address_gets_the_same_answer_and_no_mail(client, django_capture_on_commit_callbacks):
    # given
    CustomerFactory(email="ana@example.com")
    known = _request_link(client, "ana@example.com", django_capture_on_commit_callbacks)
    mail.outbox.clear()
    # when
    unknown = _request_link(client, "nobody@example.com", django_capture_on_commit_callbacks)
    # then
    assert unknown.status_code == known.status_code == 200
    assert unknown.content == known.content
    assert mail.outbox == []
    assert PortalLoginToken.objects.count() == 1


def test_suppressed_and_erased_addresses_get_no_mail(client, django_capture_on_commit_callbacks):
    # given
    CustomerFactory(email="gone@example.com", erased_at=timezone.now())
    CustomerFactory(email="bounced@example.com")
    _suppress("bounced@example.com")
    # when
    first = _request_link(client, "gone@example.com", django_capture_on_commit_callbacks)
    second = _request_link(client, "bounced@example.com", django_capture_on_commit_callbacks)
    # then
    assert ANSWER in first.content.decode() and ANSWER in second.content.decode()
    assert mail.outbox == []


def _suppress(address):
    from retention.emails import email_hash
    from retention.models import EmailSuppression

    EmailSuppression.objects.create(email_hash=email_hash(address), reason="hard_bounce")


def test_link_signs_in_once_then_shows_expired(client, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(email="ana@example.com")
    _request_link(client, "ana@example.com", django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    # when
    confirm = client.get(path)
    first = client.post(path)
    second = client.post(path)
    # then
    assert confirm.status_code == 200
    assert first.status_code == 302 and first["Location"] == "/portal/"
    assert client.session[PORTAL_SESSION_KEY] == customer.pk
    assert second.status_code == 410
    assert "This link has expired" in second.content.decode()
    assert PortalLoginToken.objects.get().used_at is not None


def test_opening_the_link_does_not_use_it(client, django_capture_on_commit_callbacks):
    # given: a mail scanner fetches the link before the customer
    CustomerFactory(email="ana@example.com")
    _request_link(client, "ana@example.com", django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    client.get(path)
    # when
    response = client.post(path)
    # then
    assert response.status_code == 302


def test_link_expires_after_15_minutes(client, django_capture_on_commit_callbacks):
    # given
    CustomerFactory(email="ana@example.com")
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        _request_link(client, "ana@example.com", django_capture_on_commit_callbacks)
    path = _link_path(mail.outbox[0])
    # when
    with time_machine.travel("2026-03-01 10:14:59+00:00", tick=False):
        still_valid = client.get(path)
    with time_machine.travel("2026-03-01 10:15:01+00:00", tick=False):
        expired_page = client.get(path)
        expired_claim = client.post(path)
    # then
    assert still_valid.status_code == 200
    assert expired_page.status_code == 410 and expired_claim.status_code == 410
    assert "get a new one" in expired_claim.content.decode()
    assert PORTAL_SESSION_KEY not in client.session
    assert PortalLoginToken.objects.get().used_at is None


def test_forged_link_is_refused(client):
    # given
    customer = CustomerFactory()
    PortalLoginToken.objects.create(nonce="n" * 43, customer=customer, created_at=timezone.now(),
                                    expires_at=timezone.now() + timedelta(minutes=15))
    # when
    response = client.post("/portal/sign-in/" + "n" * 43 + ":forged:signature/")
    # then
    assert response.status_code == 410
    assert PORTAL_SESSION_KEY not in client.session


def test_rate_limit_per_email_answers_429(client, django_capture_on_commit_callbacks):
    # given
    CustomerFactory(email="ana@example.com")
    for number in range(3):
        _request_link(client, "ana@example.com", django_capture_on_commit_callbacks,
                      REMOTE_ADDR=f"10.0.0.{number}")
    # when
    response = _request_link(client, "ana@example.com", django_capture_on_commit_callbacks, REMOTE_ADDR="10.0.0.9")
    # then
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(mail.outbox) == 3


def test_rate_limit_per_ip_answers_429(client, django_capture_on_commit_callbacks):
    # given
    for number in range(10):
        _request_link(client, f"someone{number}@example.com", django_capture_on_commit_callbacks)
    # when
    response = _request_link(client, "someone-else@example.com", django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 429
    assert "try again in" in response.content.decode()


def test_staff_login_grants_nothing_in_the_portal(client, marketer):
    # given
    client.force_login(marketer)
    # when
    response = client.get("/portal/")
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("loyalty:portal:sign_in")


def test_portal_session_grants_nothing_in_the_back_office(client):
    # given
    customer = CustomerFactory()
    session = client.session
    session[PORTAL_SESSION_KEY] = customer.pk
    session.save()
    # when
    response = client.get(reverse("loyalty:home"))
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_sign_in_cycles_the_session_key_and_sign_out_keeps_the_staff_login(client, marketer,
                                                                            django_capture_on_commit_callbacks):
    # given
    CustomerFactory(email="ana@example.com")
    client.force_login(marketer)
    key_before = client.session.session_key
    _request_link(client, "ana@example.com", django_capture_on_commit_callbacks)
    client.post(_link_path(mail.outbox[0]))
    key_after = client.session.session_key
    # when
    client.post("/portal/sign-out/")
    # then
    assert key_after != key_before
    assert PORTAL_SESSION_KEY not in client.session
    assert client.session["_auth_user_id"] == str(marketer.pk)
    assert client.get("/portal/").status_code == 302

"""Sign-in links of the customer portal: a signed, single-use nonce valid 15 minutes.

The link carries `signing.dumps(nonce)`: the signature proves we made it and dates it, the nonce row
(PortalLoginToken) makes it single-use. Claiming is one conditional UPDATE (`used_at IS NULL`), so two
clicks on the same link, even at once, sign in at most once.
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from loyalty.models import PortalLoginToken
from retention.emails import normalise_email
from retention.models import Customer

SALT = "loyalty.portal.sign-in"
LINK_LIFETIME = timedelta(minutes=15)


def make_token(nonce: str) -> str:
    return signing.dumps(nonce, salt=SALT, compress=False)


def read_token(token: str) -> str | None:
    """The nonce of a link we signed less than 15 minutes ago; None for anything else."""
    try:
        return signing.loads(token, salt=SALT, max_age=LINK_LIFETIME)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None


def customer_for_email(email: str) -> Customer | None:
    """The customer a sign-in link for `email` goes to: the newest profile with that address, never an
    erased one (the address is not unique: the shop may have sent two profiles with it)."""
    email = normalise_email(email)
    if not email:
        return None
    return Customer.objects.filter(email=email, erased_at__isnull=True).order_by("-created_at", "-id").first()


@transaction.atomic(durable=True)
def request_sign_in_link(*, email: str, now: datetime | None = None) -> PortalLoginToken | None:
    """Store a new nonce for the customer holding `email` and mail the link after commit.

    Returns None, and sends nothing, when no customer has this address; the caller answers the same
    either way, so the page never tells whether an address is known.
    """
    customer = customer_for_email(email)
    if customer is None:
        return None
    now = now or timezone.now()
    login_token = PortalLoginToken.objects.create(
        nonce=secrets.token_urlsafe(32), customer=customer, created_at=now, expires_at=now + LINK_LIFETIME,
    )
    link = settings.SITE_URL + reverse("loyalty:portal:open_link", args=[make_token(login_token.nonce)])

    from loyalty.portal.tasks import send_sign_in_link_task

    transaction.on_commit(lambda: send_sign_in_link_task.delay(customer.pk, link))
    return login_token


def usable_token(token: str, *, now: datetime | None = None) -> PortalLoginToken | None:
    """The unused, unexpired token behind a link, without using it (for the confirmation page)."""
    nonce = read_token(token)
    if nonce is None:
        return None
    now = now or timezone.now()
    return PortalLoginToken.objects.filter(nonce=nonce, used_at__isnull=True, expires_at__gt=now).first()


def claim_sign_in_token(*, token: str, now: datetime | None = None) -> Customer | None:
    """Use the link's nonce once; return its customer, or None when the link is forged, expired or used."""
    nonce = read_token(token)
    if nonce is None:
        return None
    now = now or timezone.now()
    claimed = PortalLoginToken.objects.filter(nonce=nonce, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now)
    if claimed != 1:
        return None
    customer_id = PortalLoginToken.objects.filter(nonce=nonce).values_list("customer_id", flat=True).first()
    return Customer.objects.filter(pk=customer_id, erased_at__isnull=True).first()

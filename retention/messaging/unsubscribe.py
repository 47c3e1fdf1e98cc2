"""Signed unsubscribe links: the token names a customer and a consent channel; no expiry, as RFC 8058 wants."""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, reverse

SALT = "retention.messaging.unsubscribe"


def make_unsubscribe_token(*, customer_id: int, consent_channel: str) -> str:
    return signing.dumps({"c": customer_id, "ch": consent_channel}, salt=SALT, compress=False)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(customer id, consent channel); raises signing.BadSignature for a forged or damaged token."""
    value = signing.loads(token, salt=SALT)
    if not isinstance(value, dict) or not isinstance(value.get("c"), int) or not isinstance(value.get("ch"), str):
        raise signing.BadSignature("Malformed unsubscribe token.")
    return value["c"], value["ch"]


def unsubscribe_url(*, customer_id: int, consent_channel: str) -> str:
    token = make_unsubscribe_token(customer_id=customer_id, consent_channel=consent_channel)
    return settings.SITE_URL + _unsubscribe_path(get_script_prefix()).replace(_TOKEN_SLOT, token)


_TOKEN_SLOT = "TOKEN-SLOT"


@lru_cache(maxsize=8)
def _unsubscribe_path(script_prefix: str) -> str:
    # reverse() once per prefix: a run renders thousands of messages, and each reverse() costs about a
    # millisecond. Tokens are URL-safe base64 and ":", which reverse() would leave unquoted too.
    return reverse("messaging:unsubscribe", args=[_TOKEN_SLOT])

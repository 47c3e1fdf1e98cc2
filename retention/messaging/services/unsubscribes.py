"""The consent withdrawal behind an unsubscribe link or a mail client's one-click POST."""

from datetime import datetime

from retention.actors import Actor
from retention.messaging.unsubscribe import read_unsubscribe_token
from retention.models import ConsentSource, Customer


class UnknownRecipient(Exception):
    """The token is valid but names no customer (any more)."""


def unsubscribe_customer(
    *, token: str, ip_address: str | None = None, user_agent: str = "", now: datetime | None = None
) -> Customer:
    """Withdraw the consent that `token` names. Raises signing.BadSignature or UnknownRecipient.

    Idempotent: a customer who already has no consent for the channel gets no new record, so a
    mail client that posts twice leaves one withdrawal in the consent history.
    """
    from retention.services.customers import record_consent  # the core's consent service

    customer_id, consent_channel = read_unsubscribe_token(token)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise UnknownRecipient(customer_id)
    if customer.has_consent(consent_channel):
        record_consent(
            customer=customer, channel=consent_channel, granted=False, source=ConsentSource.UNSUBSCRIBE,
            actor=Actor.customer(customer.source_id), ip_address=ip_address, user_agent=user_agent[:500], now=now,
        )
    return customer

"""Who may receive what: the consent check for one customer and its set-based twin for a batch."""

from retention.emails import email_hash
from retention.messaging.models import Channel
from retention.models import ConsentChannel, Customer, EmailSuppression

CONSENT_CHANNELS = {Channel.EMAIL: ConsentChannel.EMAIL_MARKETING, Channel.SMS: ConsentChannel.SMS_MARKETING}


def may_send_marketing(customer: Customer, channel: str) -> bool:
    """Marketing permission for `channel`; webhook messages leave push opt-in to the shop's own app."""
    consent_channel = CONSENT_CHANNELS.get(channel)
    if consent_channel is None:
        return not customer.is_erased
    try:
        from retention.queries import can_send_marketing
    except ImportError:  # the core's check has not landed yet: the same rules, locally
        return customer.has_consent(consent_channel) and not is_suppressed(customer.email)
    return can_send_marketing(customer, consent_channel)


def is_suppressed(email: str) -> bool:
    return bool(email) and EmailSuppression.objects.filter(email_hash=email_hash(email)).exists()


def suppressed_emails(emails: list[str]) -> set[str]:
    """The subset of `emails` on the suppression list, in one query."""
    hashes = {email_hash(email): email for email in emails if email}
    found = EmailSuppression.objects.filter(email_hash__in=list(hashes)).values_list("email_hash", flat=True)
    return {hashes[value] for value in found}


def marketing_allowed_ids(customers: list[Customer], channel: str) -> set[int]:
    """Ids of `customers` with marketing permission for `channel`: may_send_marketing, set-based."""
    consent_channel = CONSENT_CHANNELS.get(channel)
    live = [customer for customer in customers if not customer.is_erased]
    if consent_channel is None:
        return {customer.pk for customer in live}
    consented = [customer for customer in live if customer.has_consent(consent_channel)]
    if channel == Channel.EMAIL:
        blocked = suppressed_emails([customer.email for customer in consented])
        consented = [customer for customer in consented if customer.email not in blocked]
    return {customer.pk for customer in consented}

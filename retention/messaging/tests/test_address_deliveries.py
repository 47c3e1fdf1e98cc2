"""queue_to_address: a transactional email to someone who is not a customer."""

import pytest
from django.core import mail

from retention.emails import email_hash
from retention.messaging.models import Delivery, DeliveryStatus, SkipReason
from retention.messaging.services.deliveries import queue_to_address
from retention.models import Customer, EmailSuppression

from .factories import EmailTemplateFactory, SmsTemplateFactory

pytestmark = pytest.mark.django_db
WHY = "You receive this because Ada asked us to invite you."


def _queue(address="Pal@Example.org", **kwargs):
    return queue_to_address(address=address, template=kwargs.pop("template", None) or EmailTemplateFactory(),
                            context={"code": "ADA-7KQ2"}, why=WHY, **kwargs)


def test_sent_to_the_address_with_the_why_footer_and_no_unsubscribe(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _queue()
    delivery.refresh_from_db()
    assert (delivery.customer_id, delivery.kind, delivery.status) == (None, "transactional", DeliveryStatus.SENT)
    assert Customer.objects.count() == 0
    message = mail.outbox[0]
    assert message.to == ["pal@example.org"]
    assert WHY in message.body and WHY in message.alternatives[0][0]
    assert "Unsubscribe" not in message.body and "List-Unsubscribe" not in message.extra_headers
    # the address is dropped once the message is final; its hash stays for the occasion key
    assert (delivery.address, delivery.address_hash) == ("", email_hash("pal@example.org"))
    assert str(delivery) == "email to an address (sent)"


def test_a_suppressed_address_is_skipped_and_not_kept(django_capture_on_commit_callbacks):
    EmailSuppression.objects.create(email_hash=email_hash("pal@example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _queue()
    assert (delivery.status, delivery.skip_reason, delivery.address) == ("skipped", SkipReason.SUPPRESSED, "")
    assert mail.outbox == []


def test_suppressed_after_queueing_is_skipped_at_send(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = _queue()
    EmailSuppression.objects.create(email_hash=email_hash("pal@example.org"))
    for callback in callbacks:
        callback()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.skip_reason, delivery.address) == ("skipped", SkipReason.SUPPRESSED, "")
    assert mail.outbox == []


def test_an_occasion_is_queued_once_per_address():
    template = EmailTemplateFactory()
    first = _queue(template=template, occasion_key="invite:1")
    again = _queue("pal@example.org", template=template, occasion_key="invite:1")
    other = _queue("friend@example.org", template=template, occasion_key="invite:1")
    assert again.pk == first.pk and other.pk != first.pk
    assert Delivery.objects.count() == 2


def test_only_email_to_a_valid_address():
    with pytest.raises(ValueError):
        _queue(template=SmsTemplateFactory())
    with pytest.raises(ValueError):
        _queue("not-an-address")

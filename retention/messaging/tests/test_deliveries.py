from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from retention.emails import email_hash
from retention.messaging import channels
from retention.messaging.errors import PermanentSendError, TransientSendError
from retention.messaging.models import Channel, Delivery, DeliveryStatus, MessageKind, SkipReason
from retention.messaging.services.deliveries import (
    Recipient,
    queue_message,
    queue_messages,
    send_delivery,
    sweep_deliveries,
)
from retention.messaging.tasks import send_delivery_task
from retention.models import EmailSuppression

from .factories import CustomerFactory, DeliveryFactory, EmailTemplateFactory, SmsTemplateFactory

pytestmark = pytest.mark.django_db
CONTEXT = {"code": "BDAY-42", "discount_text": "15% off"}


def _queue(customer, template=None, kind=MessageKind.MARKETING, **kwargs):
    template = template or EmailTemplateFactory()
    return queue_message(customer=customer, channel=template.channel, template=template, context=CONTEXT, kind=kind,
                         **kwargs)


def test_queued_marketing_email_is_sent_after_commit(django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(consenting=True, first_name="Ada", email="ada@example.com")

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = _queue(customer, occasion_key="campaign:1:birthday:2026")

    # then
    delivery.refresh_from_db()
    assert len(callbacks) == 1
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.payload["subject"] == "Happy birthday, Ada!"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Happy birthday, Ada!"
    assert message.body.startswith("Hi Ada, your code is BDAY-42.")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<b>BDAY-42</b>" in html
    # the QR code is drawn at send time: the stored payload keeps a marker and the code
    assert delivery.payload["qr_code"] == "BDAY-42"
    assert "<!--retention:qr_code-->" in delivery.payload["html"]
    assert '<img src="data:image/png;base64,' in html and 'alt="QR code of BDAY-42"' in html
    assert "<!--retention:qr_code-->" not in html


def test_marketing_email_carries_one_click_unsubscribe_headers(django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(consenting=True)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _queue(customer)

    # then
    headers = mail.outbox[0].extra_headers
    url = delivery.payload["unsubscribe_url"]
    assert url.startswith("http://127.0.0.1:8000/u/")
    assert headers["List-Unsubscribe"] == f"<{url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in mail.outbox[0].body


def test_transactional_email_has_no_unsubscribe_headers(django_capture_on_commit_callbacks):
    # given: no marketing consent at all
    customer = CustomerFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _queue(customer, kind=MessageKind.TRANSACTIONAL)

    # then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers
    assert "List-Unsubscribe-Post" not in mail.outbox[0].extra_headers
    assert "Unsubscribe" not in mail.outbox[0].body


def test_marketing_without_consent_is_skipped(django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(email_marketing_consent=False)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        delivery = _queue(customer)

    # then
    delivery.refresh_from_db()
    assert (delivery.status, delivery.skip_reason) == (DeliveryStatus.SKIPPED, SkipReason.NO_CONSENT)
    assert delivery.payload == {}
    assert callbacks == []
    assert mail.outbox == []


def test_frequency_cap_skips_the_fourth_marketing_message_in_seven_days(django_capture_on_commit_callbacks):
    # given: three marketing messages in the last week, one older than a week, one transactional
    customer = CustomerFactory(consenting=True)
    now = timezone.now()
    for days_ago in (1, 3, 6):
        DeliveryFactory(customer=customer, status=DeliveryStatus.SENT, created_at=now - timedelta(days=days_ago))
    DeliveryFactory(customer=customer, status=DeliveryStatus.SENT, created_at=now - timedelta(days=8))
    DeliveryFactory(customer=customer, status=DeliveryStatus.SENT, kind=MessageKind.TRANSACTIONAL, created_at=now)

    # when
    with override_settings(RETENTION={"FREQUENCY_CAP_PER_7_DAYS": 3}), django_capture_on_commit_callbacks(execute=True):
        capped = _queue(customer, now=now)
        transactional = _queue(customer, kind=MessageKind.TRANSACTIONAL, now=now)

    # then
    capped.refresh_from_db()
    assert (capped.status, capped.skip_reason) == (DeliveryStatus.SKIPPED, SkipReason.FREQUENCY_CAP)
    transactional.refresh_from_db()
    assert transactional.status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_frequency_cap_counts_messages_of_the_same_batch(django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(consenting=True)
    template = EmailTemplateFactory()

    # when
    with override_settings(RETENTION={"FREQUENCY_CAP_PER_7_DAYS": 2}), django_capture_on_commit_callbacks(execute=True):
        deliveries = queue_messages(
            recipients=[Recipient(customer, CONTEXT, f"occasion:{n}") for n in range(3)],
            channel=Channel.EMAIL, template=template, kind=MessageKind.MARKETING,
        )

    # then
    assert [(d.status, d.skip_reason) for d in Delivery.objects.order_by("occasion_key")] == [
        (DeliveryStatus.SENT, ""), (DeliveryStatus.SENT, ""), (DeliveryStatus.SKIPPED, SkipReason.FREQUENCY_CAP),
    ]
    assert len(deliveries) == 3


def test_suppressed_address_and_missing_address_are_skipped():
    # given
    suppressed = CustomerFactory(consenting=True, email="gone@example.com")
    EmailSuppression.objects.create(email_hash=email_hash("gone@example.com"), reason="hard_bounce")
    no_phone = CustomerFactory(consenting=True, phone="")

    # when
    first = _queue(suppressed, kind=MessageKind.TRANSACTIONAL)
    second = _queue(no_phone, template=SmsTemplateFactory())

    # then
    assert (first.status, first.skip_reason) == (DeliveryStatus.SKIPPED, SkipReason.SUPPRESSED)
    assert (second.status, second.skip_reason) == (DeliveryStatus.SKIPPED, SkipReason.NO_ADDRESS)


def test_same_occasion_is_queued_once(django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(consenting=True)
    template = EmailTemplateFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        first = _queue(customer, template, occasion_key="campaign:1:birthday:2026")
        second = _queue(customer, template, occasion_key="campaign:1:birthday:2026")

    # then
    assert first.pk == second.pk
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_bulk_queue_uses_a_fixed_number_of_queries(django_assert_max_num_queries):
    # given
    template = EmailTemplateFactory()
    customers = CustomerFactory.create_batch(40, consenting=True) + CustomerFactory.create_batch(10)

    # when
    with django_assert_max_num_queries(8):
        deliveries = queue_messages(
            recipients=[Recipient(c, CONTEXT, "campaign:1:birthday:2026") for c in customers],
            channel=Channel.EMAIL, template=template, kind=MessageKind.MARKETING,
        )

    # then
    statuses = [d.status for d in deliveries]
    assert statuses.count(DeliveryStatus.QUEUED) == 40
    assert statuses.count(DeliveryStatus.SKIPPED) == 10
    assert Delivery.objects.count() == 50


def test_task_run_twice_sends_one_email():
    # given
    delivery = DeliveryFactory()

    # when
    send_delivery_task.delay(delivery.pk)
    send_delivery_task.delay(delivery.pk)

    # then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert len(mail.outbox) == 1


def test_consent_withdrawn_after_queueing_skips_the_send():
    # given
    delivery = DeliveryFactory()
    delivery.customer.email_marketing_consent = False
    delivery.customer.save()

    # when
    send_delivery(delivery_id=delivery.pk)

    # then
    delivery.refresh_from_db()
    assert (delivery.status, delivery.skip_reason) == (DeliveryStatus.SKIPPED, SkipReason.NO_CONSENT)
    assert mail.outbox == []


def test_transient_failures_back_off_then_die_after_the_bound(monkeypatch):
    # given
    def refuse(**kwargs):
        raise TransientSendError("SMTP 421: busy")

    monkeypatch.setattr(channels, "send_email", refuse)
    delivery = DeliveryFactory()
    now = delivery.created_at
    delays = []

    # when
    with override_settings(RETENTION={"MESSAGE_MAX_ATTEMPTS": 3}):
        for _ in range(3):
            send_delivery(delivery_id=delivery.pk, now=now)
            delivery.refresh_from_db()
            if delivery.status == DeliveryStatus.FAILED:
                delays.append((delivery.next_attempt_at - now).total_seconds())
                assert send_delivery(delivery_id=delivery.pk, now=now) is None  # not due yet
                now = delivery.next_attempt_at

    # then
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == 3
    assert delivery.last_error == "Gave up after 3 attempts: SMTP 421: busy"
    assert delivery.next_attempt_at is None
    assert 15 <= delays[0] <= 30 and 30 <= delays[1] <= 60  # base 30 s, doubled, jitter in [0.5, 1]
    assert send_delivery(delivery_id=delivery.pk, now=now + timedelta(days=1)) is None


def test_permanent_failure_is_dead_at_once(monkeypatch):
    # given
    def refuse(**kwargs):
        raise PermanentSendError("SMTP 550: no such user")

    monkeypatch.setattr(channels, "send_email", refuse)
    delivery = DeliveryFactory()

    # when
    send_delivery(delivery_id=delivery.pk)

    # then
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.DEAD, 1, "SMTP 550: no such user"
    )


def test_sweep_sends_a_queued_delivery_whose_task_was_lost():
    # given: written two minutes ago, its task never ran; a fresh one still has its task in flight
    now = timezone.now()
    lost = DeliveryFactory(created_at=now - timedelta(minutes=2))
    fresh = DeliveryFactory(created_at=now - timedelta(seconds=10))

    # when
    count = sweep_deliveries(now=now)

    # then
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert count == 1
    assert lost.status == DeliveryStatus.SENT
    assert fresh.status == DeliveryStatus.QUEUED
    assert len(mail.outbox) == 1


def test_sweep_retries_a_due_failure_and_a_send_whose_worker_died():
    # given
    now = timezone.now()
    failed = DeliveryFactory(status=DeliveryStatus.FAILED, attempts=1, next_attempt_at=now - timedelta(seconds=1))
    stuck = DeliveryFactory(status=DeliveryStatus.SENDING, attempts=1, next_attempt_at=now - timedelta(seconds=1))
    leased = DeliveryFactory(status=DeliveryStatus.SENDING, attempts=1, next_attempt_at=now + timedelta(minutes=5))

    # when
    count = sweep_deliveries(now=now)

    # then
    assert count == 2
    assert [Delivery.objects.get(pk=d.pk).status for d in (failed, stuck, leased)] == [
        DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.SENDING,
    ]
    assert len(mail.outbox) == 2


def test_sms_is_posted_to_the_provider(receiver, django_capture_on_commit_callbacks):
    # given
    customer = CustomerFactory(consenting=True, first_name="Ada", phone="+4915100000001")

    # when
    with override_settings(SMS_PROVIDER_URL=receiver.url, SMS_PROVIDER_TOKEN="tok"), \
            django_capture_on_commit_callbacks(execute=True):
        delivery = _queue(customer, template=SmsTemplateFactory())

    # then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["Authorization"] == "Bearer tok"
    assert receiver.requests[0]["body"] == (
        b'{"to": "+4915100000001", "text": "Hi Ada, 15% off with BDAY-42", "from": "Retention"}'
    )


def test_sms_provider_500_is_retried_and_400_is_dead(receiver):
    # given
    receiver.statuses = [503, 400]
    first, second = DeliveryFactory(channel=Channel.SMS, payload={"text": "a"}), DeliveryFactory(
        channel=Channel.SMS, payload={"text": "b"})

    # when
    with override_settings(SMS_PROVIDER_URL=receiver.url):
        send_delivery(delivery_id=first.pk)
        send_delivery(delivery_id=second.pk)

    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_error) == (DeliveryStatus.FAILED, "SMS provider answered 503: answer 503")
    assert (second.status, second.last_error) == (DeliveryStatus.DEAD, "SMS provider answered 400: answer 400")

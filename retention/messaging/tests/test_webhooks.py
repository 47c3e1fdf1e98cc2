import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from retention.actors import Actor
from retention.messaging.models import (
    Channel,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
)
from retention.messaging.services.deliveries import send_delivery
from retention.messaging.services.webhooks import (
    emit_webhook,
    send_test_event,
    send_webhook_delivery,
    sign,
    verify_signature,
)
from retention.models import AuditEntry

from .factories import DeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_delivery_is_signed_as_api_md_says(receiver, django_capture_on_commit_callbacks):
    # given
    WebhookEndpointFactory(url=receiver.url, secret="whsec_abc")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        event = emit_webhook(type="code.issued", data={"code": "WB-1", "customer": "c-1"}, now=NOW)

    # then
    request = receiver.requests[0]
    body = request["body"]
    assert json.loads(body) == {
        "id": str(event.id), "type": "code.issued", "created_at": "2026-03-01T09:00:00+00:00",
        "data": {"code": "WB-1", "customer": "c-1"},
    }
    header = request["headers"]["Retention-Signature"]
    timestamp = header.split(",")[0].removeprefix("t=")
    expected = hmac.new(b"whsec_abc", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={expected}"
    assert abs(int(timestamp) - time.time()) < 60
    assert verify_signature("whsec_abc", header, body) is True
    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.response_body) == (
        WebhookDeliveryStatus.DELIVERED, 1, 200, "answer 200"
    )


def test_verify_signature_rejects_wrong_secret_tampered_body_and_old_time():
    # given
    body = b'{"id":"1"}'
    now = 1_800_000_000
    header = sign(secret="s3cret", body=body, timestamp=now)

    # then
    assert verify_signature("s3cret", header, body, now=now + 299) is True
    assert verify_signature("other", header, body, now=now) is False
    assert verify_signature("s3cret", header, b'{"id":"2"}', now=now) is False
    assert verify_signature("s3cret", header, body, now=now + 301) is False
    assert verify_signature("s3cret", "garbage", body, now=now) is False


def test_event_goes_to_active_subscribed_endpoints_only():
    # given
    everything = WebhookEndpointFactory(event_types=[])
    subscribed = WebhookEndpointFactory(event_types=["code.redeemed"])
    WebhookEndpointFactory(event_types=["code.issued"])
    WebhookEndpointFactory(is_active=False)

    # when
    event = emit_webhook(type="code.redeemed", data={}, now=NOW)

    # then
    assert set(event.deliveries.values_list("endpoint_id", flat=True)) == {everything.pk, subscribed.pk}


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        emit_webhook(type="code.exploded", data={})
    assert WebhookEvent.objects.count() == 0


def test_non_2xx_is_retried_with_back_off_then_dead(receiver):
    # given
    receiver.statuses = [500, 404, 502]
    endpoint = WebhookEndpointFactory(url=receiver.url)
    event = emit_webhook(type="campaign.paused", data={"campaign": "spring"}, now=NOW)
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    now = NOW

    # when
    with override_settings(RETENTION={"WEBHOOK_MAX_ATTEMPTS": 3}):
        for expected_attempt in (1, 2, 3):
            send_webhook_delivery(delivery_id=delivery.pk, now=now)
            delivery.refresh_from_db()
            assert delivery.attempts == expected_attempt
            if delivery.status == WebhookDeliveryStatus.FAILED:
                assert 30 * 2 ** (expected_attempt - 1) <= (delivery.next_attempt_at - now).total_seconds() <= (
                    60 * 2 ** (expected_attempt - 1))
                assert send_webhook_delivery(delivery_id=delivery.pk, now=now) is None  # not due yet
                now = delivery.next_attempt_at

    # then
    assert delivery.status == WebhookDeliveryStatus.DEAD
    assert delivery.last_error == "Gave up after 3 attempts: HTTP 502"
    assert delivery.response_status == 502
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "response_status")) == [
        (1, 500), (2, 404), (3, 502)
    ]
    assert len(receiver.requests) == 3


def test_unreachable_endpoint_is_retried():
    # given: nothing listens on port 9 (discard) of 127.0.0.1
    endpoint = WebhookEndpointFactory(url="http://127.0.0.1:9/hook")
    event = emit_webhook(type="code.issued", data={}, now=NOW)
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)

    # when
    send_webhook_delivery(delivery_id=delivery.pk, now=NOW)

    # then
    delivery.refresh_from_db()
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.response_status is None
    assert "Connection refused" in delivery.last_error
    assert attempt.error == delivery.last_error


def test_second_run_of_a_delivered_webhook_posts_nothing(receiver):
    # given
    endpoint = WebhookEndpointFactory(url=receiver.url)
    event = emit_webhook(type="code.issued", data={}, now=NOW)
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)

    # when
    first = send_webhook_delivery(delivery_id=delivery.pk, now=NOW)
    second = send_webhook_delivery(delivery_id=delivery.pk, now=NOW + timedelta(hours=1))

    # then
    assert first.status == WebhookDeliveryStatus.DELIVERED
    assert second is None
    assert len(receiver.requests) == 1


def test_test_event_goes_to_one_endpoint_and_is_audited(receiver, admin_user, django_capture_on_commit_callbacks):
    # given
    endpoint = WebhookEndpointFactory(url=receiver.url, event_types=["code.issued"])
    WebhookEndpointFactory(url=receiver.url)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        delivery = send_test_event(endpoint=endpoint, actor=Actor.for_user(admin_user))

    # then
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert WebhookDelivery.objects.count() == 1
    assert json.loads(receiver.requests[0]["body"])["type"] == "webhook.test"
    audit = AuditEntry.objects.get(action="webhook.test_sent")
    assert (audit.actor_label, audit.object_id) == ("root", str(endpoint.pk))


def test_webhook_channel_message_is_handed_to_the_webhooks():
    # given
    endpoint = WebhookEndpointFactory()
    delivery = DeliveryFactory(channel=Channel.WEBHOOK, payload={"json": {"title": "Hi"}}, occasion_key="k:1")

    # when
    send_delivery(delivery_id=delivery.pk)

    # then
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    event = WebhookEvent.objects.get()
    assert event.type == "message.requested"
    assert event.data == {"delivery_id": delivery.pk, "customer": delivery.customer.source_id, "kind": "marketing",
                          "occasion_key": "k:1", "message": {"title": "Hi"}}
    assert list(event.deliveries.values_list("endpoint_id", flat=True)) == [endpoint.pk]

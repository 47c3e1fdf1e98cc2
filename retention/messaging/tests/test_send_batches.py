"""Many queued messages travel in a few broker messages (batches), each delivery still claimed on its own; the
unsubscribe link is reversed once, not per message."""

import pytest
from django.core import mail
from django.urls import reverse

from retention.messaging.models import Delivery, DeliveryStatus, MessageKind
from retention.messaging.services import deliveries as delivery_services
from retention.messaging.services.deliveries import Recipient, queue_messages
from retention.messaging.tasks import send_deliveries_task, send_delivery_task
from retention.messaging.unsubscribe import make_unsubscribe_token, unsubscribe_url

from .factories import CustomerFactory, DeliveryFactory, EmailTemplateFactory

pytestmark = pytest.mark.django_db


def test_a_run_of_many_messages_is_enqueued_in_batches_and_all_are_sent(monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    # given
    monkeypatch.setattr(delivery_services, "SEND_BATCH", 2)
    batches: list[list[int]] = []
    original = send_deliveries_task.delay
    monkeypatch.setattr(send_deliveries_task, "delay", lambda ids: (batches.append(ids), original(ids)))
    customers = [CustomerFactory(consenting=True) for _ in range(5)]
    template = EmailTemplateFactory()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        queued = queue_messages(recipients=[Recipient(customer=c, context={"code": f"C{c.pk}"}) for c in customers],
                                channel=template.channel, template=template, kind=MessageKind.MARKETING)
    # then
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert sorted(pk for batch in batches for pk in batch) == sorted(d.pk for d in queued)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert len(mail.outbox) == 5


def test_a_single_message_keeps_its_own_task(monkeypatch, django_capture_on_commit_callbacks):
    # given
    singles: list[int] = []
    original = send_delivery_task.delay
    monkeypatch.setattr(send_delivery_task, "delay", lambda pk: (singles.append(pk), original(pk)))
    template = EmailTemplateFactory()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        queued = queue_messages(recipients=[Recipient(customer=CustomerFactory(consenting=True), context={})],
                                channel=template.channel, template=template, kind=MessageKind.MARKETING)
    # then
    assert singles == [queued[0].pk]


def test_batch_task_run_twice_sends_each_once():
    # given
    first, second = DeliveryFactory(), DeliveryFactory()
    # when
    send_deliveries_task.delay([first.pk, second.pk])
    send_deliveries_task.delay([first.pk, second.pk])
    # then
    assert list(Delivery.objects.order_by("pk").values_list("status", "attempts")) == [
        (DeliveryStatus.SENT, 1), (DeliveryStatus.SENT, 1)]
    assert len(mail.outbox) == 2


def test_unsubscribe_url_is_the_reversed_link_with_the_token(settings):
    # given
    token = make_unsubscribe_token(customer_id=42, consent_channel="email")
    # when
    first = unsubscribe_url(customer_id=42, consent_channel="email")
    again = unsubscribe_url(customer_id=7, consent_channel="sms")
    # then
    assert first == settings.SITE_URL + reverse("messaging:unsubscribe", args=[token])
    assert again == settings.SITE_URL + reverse(
        "messaging:unsubscribe", args=[make_unsubscribe_token(customer_id=7, consent_channel="sms")])


def test_many_webhook_events_in_one_call_reach_the_subscribed_endpoints_in_batches(
        monkeypatch, django_capture_on_commit_callbacks):
    # given: one endpoint for code.issued, one for something else
    from retention.messaging import channels
    from retention.messaging.channels import HttpResponse
    from retention.messaging.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEvent
    from retention.messaging.services import webhooks
    from retention.messaging.tasks import send_webhook_deliveries_task
    from retention.models import WebhookEndpoint

    posted = []
    monkeypatch.setattr(channels, "post", lambda url, *, body, headers: posted.append(body) or HttpResponse(200, ""))
    monkeypatch.setattr(webhooks, "SEND_BATCH", 2)
    batches = []
    original = send_webhook_deliveries_task.delay
    monkeypatch.setattr(send_webhook_deliveries_task, "delay", lambda ids: (batches.append(ids), original(ids)))
    subscribed = WebhookEndpoint.objects.create(url="https://a.example/h", secret="s1", event_types=["code.issued"])
    WebhookEndpoint.objects.create(url="https://b.example/h", secret="s2", event_types=["code.redeemed"])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        events = webhooks.emit_webhooks(type="code.issued", items=[{"code": f"C{n}"} for n in range(3)])
    # then
    assert sorted(event.data["code"] for event in WebhookEvent.objects.all()) == ["C0", "C1", "C2"]
    assert len(events) == 3
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "status")) == {
        (subscribed.pk, WebhookDeliveryStatus.DELIVERED)}
    assert [len(batch) for batch in batches] == [2, 1] and len(posted) == 3


def test_emit_webhooks_refuses_an_unknown_type_and_does_nothing_for_no_items():
    # when / then
    from retention.messaging.models import WebhookEvent
    from retention.messaging.services.webhooks import emit_webhooks

    with pytest.raises(ValueError, match="Unknown webhook event type"):
        emit_webhooks(type="code.lost", items=[{}])
    assert emit_webhooks(type="code.issued", items=[]) == []
    assert WebhookEvent.objects.count() == 0

"""factory-boy factories of messaging, and a customer factory of its own (no dependency on other tests)."""

import factory
from django.utils import timezone

from retention.messaging.models import Channel, Delivery, DeliveryStatus, MessageKind, MessageTemplate
from retention.models import ConsentChannel, ConsentRecord, ConsentSource, Customer, WebhookEndpoint


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    source_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Jane"
    last_name = "Doe"
    phone = factory.Sequence(lambda n: f"+4915100{n:05d}")

    class Params:
        # Consent as the core records it: a ConsentRecord per channel and the current-choice flags.
        consenting = factory.Trait(email_marketing_consent=True, sms_marketing_consent=True)

    @factory.post_generation
    def consent_records(obj, create, extracted, **kwargs):
        if not create:
            return
        for channel in (ConsentChannel.EMAIL_MARKETING, ConsentChannel.SMS_MARKETING):
            if obj.has_consent(channel):
                ConsentRecord.objects.create(
                    customer=obj, channel=channel, granted=True, source=ConsentSource.API, recorded_at=timezone.now()
                )


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    owner_type = "campaign"
    owner_id = factory.Sequence(str)
    channel = Channel.EMAIL
    subject = "Happy birthday, {{ customer.first_name }}!"
    html_body = "<p>Hi {{ customer.first_name }}, your code is <b>{{ code }}</b>.</p>{{ qr_code }}"
    text_body = "Hi {{ customer.first_name }}, your code is {{ code }}."


class SmsTemplateFactory(EmailTemplateFactory):
    channel = Channel.SMS
    subject = html_body = text_body = ""
    body = "Hi {{ customer.first_name }}, {{ discount_text }} with {{ code }}"


class WebhookTemplateFactory(EmailTemplateFactory):
    channel = Channel.WEBHOOK
    subject = html_body = text_body = ""
    json_body = '{"title": "Hi {{ customer.first_name }}", "code": "{{ code }}"}'


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    customer = factory.SubFactory(CustomerFactory, consenting=True)
    channel = Channel.EMAIL
    template = None
    kind = MessageKind.MARKETING
    payload = factory.LazyFunction(lambda: {"subject": "Hello", "html": "<p>Hello</p>", "text": "Hello"})
    status = DeliveryStatus.QUEUED
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.SelfAttribute("created_at")


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    url = "http://127.0.0.1:9/hook"
    secret = "whsec_test_secret"
    event_types = factory.LazyFunction(list)

"""Shared set-up of the calendar trigger tests: a live calendar campaign with an email template."""

from campaigns.tests.factories import CampaignFactory
from retention.messaging.models import Channel, MessageTemplate
from retention.tests.factories import CustomerFactory


def calendar_campaign(trigger: dict, *, template: bool = True, **fields):
    campaign = CampaignFactory(trigger=trigger, timezone=fields.pop("timezone", "Europe/Berlin"), **fields)
    if template:
        MessageTemplate.objects.create(
            owner_type="campaign", owner_id=str(campaign.pk), channel=Channel.EMAIL,
            subject="For you, {{ customer.first_name }}", html_body="<p>Your code {{ code }}</p>",
            text_body="Your code {{ code }}, {{ discount_text }}")
    return campaign


def customer(**fields):
    fields.setdefault("email_marketing_consent", True)
    return CustomerFactory(**fields)


BIRTHDAY = {"type": "birthday", "days_before": 0, "send_time": "09:00"}

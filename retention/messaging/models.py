"""Message templates, deliveries (one row per message to one customer) and outgoing webhooks."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from retention.models import Customer, WebhookEndpoint


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook (push / in-app through the shop)"


class MessageKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    TRANSACTIONAL = "transactional", "Transactional"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead"
    SKIPPED = "skipped", "Skipped"


class SkipReason(models.TextChoices):
    NO_CONSENT = "no_consent", "No consent"
    FREQUENCY_CAP = "frequency_cap", "Frequency cap"
    SUPPRESSED = "suppressed", "Address suppressed"
    NO_ADDRESS = "no_address", "No address"


class WebhookEventType(models.TextChoices):
    # API.md's binding list, then this app's own additions.
    CODE_ISSUED = "code.issued"
    CODE_REDEEMED = "code.redeemed"
    REDEMPTION_ROLLED_BACK = "redemption.rolled_back"
    LOYALTY_POINTS_EARNED = "loyalty.points_earned"
    LOYALTY_TIER_CHANGED = "loyalty.tier_changed"
    LOYALTY_REWARD_REDEEMED = "loyalty.reward_redeemed"
    REFERRAL_CONVERTED = "referral.converted"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    MESSAGE_REQUESTED = "message.requested"  # a webhook-channel message for the shop to push
    WEBHOOK_TEST = "webhook.test"  # the "send test event" button


class WebhookDeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (will retry)"
    DEAD = "dead", "Dead"


class MessageTemplate(models.Model):
    """A message for one channel, owned by e.g. ("campaign", "42"), or shared under a `name`."""

    owner_type = models.CharField(max_length=50, blank=True)
    owner_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200, null=True, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    subject = models.CharField(max_length=500, blank=True)
    html_body = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    body = models.TextField(blank=True)  # SMS
    json_body = models.TextField(blank=True)  # webhook: JSON text with placeholders inside its strings
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_type", "owner_id", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id", "channel"],
                condition=~Q(owner_type=""),
                name="message_template_owner_channel_unique",
            ),
            models.UniqueConstraint(
                fields=["name", "channel"], condition=Q(name__isnull=False), name="message_template_name_unique"
            ),
            models.CheckConstraint(
                condition=(~Q(owner_type="") & ~Q(owner_id="")) | Q(name__isnull=False),
                name="message_template_owner_or_name",
            ),
        ]

    def __str__(self) -> str:
        owner = self.name or f"{self.owner_type}:{self.owner_id}"
        return f"{owner} ({self.channel})"


class Delivery(models.Model):
    """One message to one customer; `occasion_key` makes a send happen at most once per channel.

    A transactional message to someone who is not a customer (a referral invitation) has no customer but an
    `address`, kept only until the message is final (sent, dead, skipped), and its hash for the occasion key."""

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    address = models.CharField(max_length=254, blank=True)
    address_hash = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    occasion_key = models.CharField(max_length=200, null=True, blank=True)
    # Rendered at queue time: {"subject", "html", "text", "unsubscribe_url"} | {"text"} | {"json"}.
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    skip_reason = models.CharField(max_length=32, choices=SkipReason.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the row may next be claimed: due time while queued/failed, lease expiry while sending.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "channel", "occasion_key"],
                condition=Q(occasion_key__isnull=False),
                name="delivery_occasion_unique",
            ),
            models.CheckConstraint(
                condition=Q(status="skipped") | Q(skip_reason=""), name="delivery_skip_reason_only_when_skipped"
            ),
            models.UniqueConstraint(
                fields=["address_hash", "channel", "occasion_key"],
                condition=Q(customer__isnull=True, occasion_key__isnull=False),
                name="delivery_address_occasion_unique",
            ),
            # A bare-address message is transactional and carries its address's hash.
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | (Q(kind="transactional") & ~Q(address_hash="")),
                name="delivery_customer_or_address",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["customer", "kind", "created_at"], name="delivery_customer_recent"),
            models.Index(fields=["created_at"], name="delivery_created"),
        ]

    def __str__(self) -> str:
        recipient = self.customer_id if self.customer_id else "an address"
        return f"{self.channel} to {recipient} ({self.status})"


class WebhookEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, choices=WebhookEventType.choices)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # as Delivery.next_attempt_at
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # truncated
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_event_endpoint_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a webhook delivery and what came back, kept for the deliveries page."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

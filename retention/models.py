"""The shared core: customers, consents, orders, events, segments, API keys, audit."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import ExtractDay, ExtractMonth


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerQuerySet(models.QuerySet):
    def consented_to(self, channel: str) -> "CustomerQuerySet":
        """Customers whose latest consent record for `channel` grants it."""
        return self.filter(**{Customer.CONSENT_FIELDS[channel]: True}, erased_at__isnull=True)


class Customer(models.Model):
    CONSENT_FIELDS = {
        "email_marketing": "email_marketing_consent",
        "sms_marketing": "sms_marketing_consent",
    }

    source_id = models.CharField(max_length=255, unique=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)  # normalised: trimmed, lower case
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    birthday = models.DateField(null=True, blank=True)
    # Stored month and day of the birthday make "birthdays on date X" an index look-up.
    birthday_month = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    birthday_day = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    country = models.CharField(max_length=2, blank=True, db_index=True)
    locale = models.CharField(max_length=20, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    metadata = models.JSONField(default=dict, blank=True)

    # The latest consent record per channel, kept in step by retention.services.record_consent.
    email_marketing_consent = models.BooleanField(default=False)
    sms_marketing_consent = models.BooleanField(default=False)

    # Derived from paid orders by retention.services.record_order.
    orders_count = models.PositiveIntegerField(default=0)
    total_spent = models.BigIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["birthday_month", "birthday_day"], name="customer_birthday_md"),
            models.Index(fields=["last_order_at"], name="customer_last_order"),
            models.Index(fields=["first_order_at"], name="customer_first_order"),
            models.Index(fields=["signed_up_at"], name="customer_signed_up"),
            models.Index(fields=["orders_count"], name="customer_orders_count"),
            models.Index(fields=["total_spent"], name="customer_total_spent"),
            models.Index(fields=["locale"], name="customer_locale"),
            # Sign-up anniversaries: the rule engine filters on the UTC month and day of signed_up_at.
            models.Index(ExtractMonth("signed_up_at"), ExtractDay("signed_up_at"), name="customer_signup_md"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(orders_count__gte=0), name="customer_orders_count_gte_0"),
        ]

    def __str__(self) -> str:
        return self.email or self.source_id

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def has_consent(self, channel: str) -> bool:
        return not self.is_erased and getattr(self, self.CONSENT_FIELDS[channel])


class ConsentChannel(models.TextChoices):
    EMAIL_MARKETING = "email_marketing", "Email marketing"
    SMS_MARKETING = "sms_marketing", "SMS marketing"


class ConsentSource(models.TextChoices):
    API = "api", "API"
    PORTAL = "portal", "Customer portal"
    LANDING_PAGE = "landing_page", "Landing page"
    IMPORT = "import", "Import"
    BACKOFFICE = "backoffice", "Back-office"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe link"


class ConsentRecord(models.Model):
    """One grant or withdrawal; the latest per channel is the customer's current choice."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(max_length=32, choices=ConsentChannel.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=32, choices=ConsentSource.choices)
    wording_version = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "channel", "-recorded_at"], name="consent_latest")]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.customer} {verb} {self.channel}"


class OrderStatus(models.TextChoices):
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    source_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PAID)
    created_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_created")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_gte_0")]

    def __str__(self) -> str:
        return self.source_id


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=100)
    name = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["sku"], name="order_item_sku"),
            models.Index(fields=["category"], name="order_item_category"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class Event(models.Model):
    """A custom event sent by the shop (`review_submitted`, `newsletter_signup`, ...)."""

    event_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "type", "-occurred_at"], name="event_customer_type")]

    def __str__(self) -> str:
        return f"{self.type} by {self.customer}"


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (rules)"
    STATIC = "static", "Static (uploaded list)"


class SegmentMatch(models.TextChoices):
    ALL = "all", "All rules"
    ANY = "any", "Any rule"


class Segment(models.Model):
    """A set of customers: rules evaluated by one query (dynamic) or a stored list (static)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    match = models.CharField(max_length=8, choices=SegmentMatch.choices, default=SegmentMatch.ALL)
    rules = models.JSONField(default=list, blank=True)  # [{"field", "op", "value"}]
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaticSegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="static_members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="static_segments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="static_member_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class EmailSuppression(models.Model):
    """A hashed address that must never be mailed again (GDPR erasure, hard bounce)."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class ApiKey(models.Model):
    """A shop's key. Only the SHA-256 of the key is stored; `prefix` lets people recognise it."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF's IsAuthenticated checks request.user; the key acts as the API's user.
    is_authenticated = True


class IdempotencyRecord(models.Model):
    """The first answer to a creating POST, replayed when the same key comes again."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    is_complete = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return self.key


class AuditEntry(models.Model):
    """Who changed what, when, with the state before and after."""

    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=100, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_repr}"


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    event_types = models.JSONField(default=list, blank=True)  # empty: every type
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CustomerImport(models.Model):
    """A CSV import job. It keeps its own progress so a crashed worker resumes where it stopped."""

    file_name = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line": 7, "field": "email", "message": "..."}]
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

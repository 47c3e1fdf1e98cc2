"""Campaigns, their codes, redemptions, bulk generation jobs, support limits and landing-page claims."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from retention.models import ApiKey, Customer, JobStatus, Segment

# Without look-alikes (0/O, 1/I/L): 32 symbols, so one random byte maps to one symbol without bias.
DEFAULT_CHARSET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DEFAULT_CODE_LENGTH = 12


class CampaignType(models.TextChoices):
    UNIQUE = "unique", "Unique codes"
    PUBLIC = "public", "Public code"


class DiscountType(models.TextChoices):
    PERCENT = "percent", "Percent off"
    AMOUNT = "amount", "Amount off"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    UNIT = "unit", "Free unit (buy one get one)"
    GIFT_CARD = "gift_card", "Gift card"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    type = models.CharField(max_length=16, choices=CampaignType.choices, default=CampaignType.UNIQUE)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)

    # Discount (API.md "discount").
    discount_type = models.CharField(max_length=16, choices=DiscountType.choices, default=DiscountType.PERCENT)
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    max_amount = models.BigIntegerField(null=True, blank=True)  # cap of a percent discount
    amount = models.BigIntegerField(null=True, blank=True)  # amount off
    unit_sku = models.CharField(max_length=100, blank=True)  # free unit of this SKU
    unit_quantity = models.PositiveIntegerField(null=True, blank=True)
    gift_card_balance = models.BigIntegerField(null=True, blank=True)  # starting balance of each code

    # Code configuration (API.md "code_config"); `code_pattern` wins over length when set: # digit, ? letter.
    code_length = models.PositiveSmallIntegerField(default=DEFAULT_CODE_LENGTH)
    code_charset = models.CharField(max_length=100, default=DEFAULT_CHARSET)
    code_prefix = models.CharField(max_length=30, blank=True)
    code_postfix = models.CharField(max_length=30, blank=True)
    code_pattern = models.CharField(max_length=60, blank=True)
    weak_codes_confirmed = models.BooleanField(default=False)  # a space under 40 bits was accepted knowingly
    max_uses_per_code = models.PositiveIntegerField(null=True, blank=True, default=1)  # null: unlimited
    public_code = models.CharField(max_length=64, blank=True)

    # Rules (API.md "rules").
    currency = models.CharField(max_length=3, blank=True)
    min_order_amount = models.BigIntegerField(null=True, blank=True)
    countries = models.JSONField(default=list, blank=True)
    segments = models.ManyToManyField(Segment, blank=True, related_name="campaigns")
    first_order_only = models.BooleanField(default=False)
    assigned_only = models.BooleanField(default=False)
    include_skus = models.JSONField(default=list, blank=True)
    exclude_skus = models.JSONField(default=list, blank=True)
    include_categories = models.JSONField(default=list, blank=True)
    exclude_categories = models.JSONField(default=list, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    max_redemptions_per_customer = models.PositiveIntegerField(null=True, blank=True)
    budget = models.BigIntegerField(null=True, blank=True)

    # Counters that guard the limits: changed only by conditional UPDATEs in campaigns.services.
    redemptions_count = models.PositiveIntegerField(default=0)
    discount_total = models.BigIntegerField(default=0)
    codes_issued = models.PositiveIntegerField(default=0)

    # Schedule and control; the status is derived from these (status_at), never stored.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    code_valid_days = models.PositiveIntegerField(null=True, blank=True)
    is_draft = models.BooleanField(default=False)
    is_paused = models.BooleanField(default=False)
    is_issuing_stopped = models.BooleanField(default=False)  # "stop issuing": given codes stay valid

    # Audience of triggers and landing pages; A/B split by a stable hash of the customer id.
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    split_buckets = models.PositiveSmallIntegerField(default=1)
    split_bucket = models.PositiveSmallIntegerField(default=0)
    holdout_percent = models.PositiveSmallIntegerField(default=0)
    trigger = models.JSONField(null=True, blank=True)  # calendar/lifecycle trigger (API.md "Triggers")

    # Support desk: agents may issue codes of this campaign, with one of these amounts (minor units) or percents.
    is_support = models.BooleanField(default=False)
    support_amount_options = models.JSONField(default=list, blank=True)

    # Public landing page /c/<slug>/.
    landing_enabled = models.BooleanField(default=False)
    landing_title = models.CharField(max_length=200, blank=True)
    landing_text = models.TextField(blank=True)
    landing_image_url = models.URLField(max_length=500, blank=True)
    landing_first_time_only = models.BooleanField(default=False)

    # Leak guard for public codes: alert above `leak_guard_factor` × the recent pace; pause when auto.
    leak_guard_factor = models.PositiveSmallIntegerField(null=True, blank=True)
    leak_guard_auto_pause = models.BooleanField(default=False)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["starts_at", "ends_at"], name="campaign_schedule"),
            models.Index(fields=["is_support"], name="campaign_support"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(percent__isnull=True) | Q(percent__gte=1, percent__lte=100),
                                   name="campaign_percent_1_100"),
            models.CheckConstraint(condition=Q(holdout_percent__lte=90), name="campaign_holdout_lte_90"),
            models.CheckConstraint(condition=Q(split_bucket__lt=F("split_buckets")), name="campaign_split_bucket"),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(redemptions_count__lte=F("max_redemptions")),
                name="campaign_redemptions_within_cap",
            ),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(discount_total__lte=F("budget")),
                                   name="campaign_discount_within_budget"),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(starts_at__isnull=True)
                                   | Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.name

    def status_at(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.is_draft:
            return CampaignStatus.DRAFT
        if self.ends_at and now >= self.ends_at:
            return CampaignStatus.ENDED
        if self.is_paused:
            return CampaignStatus.PAUSED
        if self.starts_at and now < self.starts_at:
            return CampaignStatus.SCHEDULED
        return CampaignStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at()

    @property
    def counters(self):
        """Redemptions and discount total as shown (row plus counter shards): campaigns.queries.redemption_counters.
        Read the counters through this, never `redemptions_count` / `discount_total` alone."""
        from campaigns.queries import redemption_counters  # queries imports this module

        return redemption_counters(self)


class CodeSource(models.TextChoices):
    BULK = "bulk", "Bulk generation"
    API = "api", "API"
    BACKOFFICE = "backoffice", "Back-office"
    PUBLIC = "public", "Public code"
    SUPPORT = "support", "Support desk"
    LANDING = "landing", "Landing page"
    CALENDAR = "calendar", "Calendar campaign"
    LOYALTY = "loyalty", "Loyalty reward"
    REFERRAL = "referral", "Referral"


class GenerationJob(models.Model):
    """Bulk generation of `count` codes; `generated` is committed with each batch, so a crash resumes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="generation_jobs")
    count = models.PositiveIntegerField()
    generated = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(generated__lte=F("count")), name="generation_within_count")]

    def __str__(self) -> str:
        return f"{self.count} codes for {self.campaign}"

    @property
    def percent(self) -> int:
        return 100 if not self.count else self.generated * 100 // self.count


class Code(models.Model):
    # Stored upper-case; input is upper-cased, so codes are case-insensitive. A plain UniqueConstraint
    # (not unique=True) avoids PostgreSQL's second varchar_pattern_ops index, which slows bulk inserts.
    code = models.CharField(max_length=64)
    # No automatic FK indexes: each foreign key is served by the first column of an index in Meta, and every
    # index here is upkeep on each of a bulk generation's million inserted rows.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="codes", db_index=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="codes",
                                 db_index=False)
    source = models.CharField(max_length=16, choices=CodeSource.choices, default=CodeSource.API)
    generation = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="codes", db_index=False)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)  # null: only the campaign's caps apply
    uses_count = models.PositiveIntegerField(default=0)
    balance = models.BigIntegerField(null=True, blank=True)  # gift cards: what is left to spend
    is_disabled = models.BooleanField(default=False)
    # Support codes may carry their own value and SKU limit, within the campaign's options.
    amount_override = models.BigIntegerField(null=True, blank=True)
    percent_override = models.PositiveSmallIntegerField(null=True, blank=True)
    sku_limit = models.CharField(max_length=100, blank=True)
    # "Apply to next order": the shop reads it from /auto-discounts and redeems it by this code.
    is_automatic = models.BooleanField(default=False)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="code_unique"),
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses_count__lte=F("max_uses")),
                                   name="code_uses_within_max"),
            models.CheckConstraint(condition=Q(balance__isnull=True) | Q(balance__gte=0), name="code_balance_gte_0"),
        ]
        indexes = [
            models.Index(fields=["campaign", "-issued_at"], name="code_campaign_issued"),
            # Partial: bulk codes (most rows) have no customer; `customer = x` (and the FK checks of a customer's
            # deletion) imply customer IS NOT NULL, so PostgreSQL still uses it for every customer look-up.
            models.Index(fields=["customer", "-issued_at"], name="code_customer_issued",
                         condition=Q(customer__isnull=False)),
            # Deleting a job (SET_NULL) and its foreign-key check look codes up by generation.
            models.Index(fields=["generation"], name="code_generation"),
        ]

    def __str__(self) -> str:
        return self.code


class RedemptionStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    ROLLED_BACK = "rolled_back", "Rolled back"


class Redemption(models.Model):
    code = models.ForeignKey(Code, on_delete=models.PROTECT, related_name="redemptions")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="redemptions")
    order_source_id = models.CharField(max_length=255)
    order_amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    discount_amount = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.SUCCEEDED)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rollback_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A retried order cannot use a code twice, even after its Idempotency-Key expired.
            models.UniqueConstraint(fields=["code", "order_source_id"], condition=Q(status="succeeded"),
                                    name="redemption_code_order_unique"),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="redemption_discount_gte_0"),
        ]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="redemption_campaign_created"),
            models.Index(fields=["customer", "-created_at"], name="redemption_customer_created"),
            models.Index(fields=["-created_at"], name="redemption_created"),
        ]

    def __str__(self) -> str:
        return f"{self.code} on {self.order_source_id}"


class CustomerCampaignUsage(models.Model):
    """Redemptions of one campaign by one customer: the per-customer cap is a conditional UPDATE on it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="customer_usages")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="campaign_usages")
    redemptions_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="usage_campaign_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} × {self.campaign_id}: {self.redemptions_count}"


class SupportAgentLimit(models.Model):
    """What one support agent may give: value caps per code and a daily number of codes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_limit")
    max_amount = models.BigIntegerField(default=2000)  # minor units per code
    max_percent = models.PositiveSmallIntegerField(default=20)
    max_codes_per_day = models.PositiveIntegerField(default=20)

    def __str__(self) -> str:
        return f"Limits of {self.user}"


class LandingClaim(models.Model):
    """One code per normalised email address per landing page."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="landing_claims")
    email = models.CharField(max_length=254)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="landing_claims")
    code = models.OneToOneField(Code, on_delete=models.PROTECT, related_name="landing_claim")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "email"], name="landing_claim_once_per_email")]

    def __str__(self) -> str:
        return f"{self.email} on {self.campaign}"


# --- Calendar and lifecycle triggers (campaigns.calendar, campaigns.services.calendar) -----------------------

class RunKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled tick"
    MANUAL = "manual", "Run now"
    DRY_RUN = "dry_run", "Dry run"
    SIGNAL = "signal", "Welcome signal"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class CampaignRun(models.Model):
    """One firing of a calendar campaign: what it issued and why it skipped the others."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=RunKind.choices, default=RunKind.SCHEDULED)
    for_date = models.DateField(null=True, blank=True)  # the UTC day of the tick (each zone has its own day)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    issued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    skip_reasons = models.JSONField(default=dict, blank=True)  # reason -> count

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["campaign", "-started_at"], name="campaign_run_started")]

    def __str__(self) -> str:
        return f"{self.kind} run of {self.campaign} at {self.started_at:%Y-%m-%d %H:%M}"


class SendStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    SKIPPED = "skipped", "Skipped"


class CalendarSend(models.Model):
    """One customer's occasion of one campaign, decided once: the unique constraint is the exactly-once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="calendar_sends")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="calendar_sends")
    occasion = models.CharField(max_length=100)  # "birthday:2026", "anniversary:signed_up_at:2027", "welcome"
    status = models.CharField(max_length=16, choices=SendStatus.choices)
    skip_reason = models.CharField(max_length=32, blank=True)
    code = models.ForeignKey(Code, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivery = models.ForeignKey("messaging.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    run = models.ForeignKey(CampaignRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="sends")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer", "occasion"], name="calendar_send_once"),
        ]
        indexes = [
            models.Index(fields=["run"], name="calendar_send_run"),
            models.Index(fields=["customer", "-created_at"], name="calendar_send_customer"),
            # Win-back cooldown: "sent by this campaign since ...".
            models.Index(fields=["campaign", "-created_at"], name="calendar_send_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}/{self.occasion}: {self.status}"


# --- Counters of campaigns without a cap or budget (campaigns.services.redemptions, campaigns.queries) ----------

COUNTER_SHARDS = 16


class CampaignCounterShard(models.Model):
    """Part of a campaign's redemptions and discount total, so that redemptions of an uncapped, unbudgeted
    campaign do not all queue on the campaign row's lock until COMMIT. A campaign's counters are its row's
    columns plus the sum of its shards (campaigns.queries.redemption_counters); capped or budgeted campaigns
    keep counting on the row, where the conditional UPDATE guards the limit. A rollback may take a shard
    below zero: only the sum means anything."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="counter_shards")
    shard = models.PositiveSmallIntegerField()
    redemptions_count = models.IntegerField(default=0)
    discount_total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "shard"], name="counter_shard_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.shard}: {self.redemptions_count}, {self.discount_total}"

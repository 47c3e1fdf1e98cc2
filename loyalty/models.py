"""Loyalty: programs and their rules, accounts, the append-only ledger, point lots, tiers, rewards."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from campaigns.models import Campaign, Code
from retention.models import Customer, Segment


class TierBasis(models.TextChoices):
    ROLLING_12_MONTHS = "rolling_12_months", "Points earned in the last 12 months"
    LIFETIME = "lifetime", "Points earned since joining"


class LoyaltyProgram(models.Model):
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="EUR")
    # Points per 1.00 of a paid order (100 minor units); fractions round half up (retention.money).
    points_per_unit = models.PositiveIntegerField(default=1)
    pending_days = models.PositiveIntegerField(default=0)  # the return window before points are spendable
    points_expire_after_days = models.PositiveIntegerField(null=True, blank=True)
    expiry_reminder_days = models.PositiveIntegerField(default=14)
    tier_basis = models.CharField(max_length=20, choices=TierBasis.choices, default=TierBasis.ROLLING_12_MONTHS)
    signup_bonus = models.PositiveIntegerField(default=0)
    # A manual adjustment larger than this (in absolute points) waits for a second person's approval.
    adjustment_approval_threshold = models.PositiveIntegerField(default=1000)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    portal_promotion = models.TextField(blank=True)  # a space where marketers promote an offer in the portal
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="loyalty_one_default_program"),
        ]

    def __str__(self) -> str:
        return self.name


class EarningRule(models.Model):
    """Fixed points for a custom event (`review_submitted`, `newsletter_signup`, ...)."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="earning_rules")
    event_type = models.CharField(max_length=100)
    points = models.PositiveIntegerField()
    max_per_month = models.PositiveIntegerField(null=True, blank=True)
    # When set, at most one award per distinct value of this event property (e.g. "order_id": one review per order).
    once_per_property = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "event_type"], name="earning_rule_per_event")]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.points} points"


class CategoryMultiplier(models.Model):
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="category_multipliers")
    category = models.CharField(max_length=100)
    multiplier_percent = models.PositiveIntegerField(default=100)  # 200 = double points

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "category"], name="category_multiplier_unique")]

    def __str__(self) -> str:
        return f"{self.category} × {self.multiplier_percent}%"


class BonusPeriod(models.Model):
    """Extra points for a date window, optionally only on some SKUs or categories (double points on new arrivals)."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="bonus_periods")
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    multiplier_percent = models.PositiveIntegerField(default=200)
    skus = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="bonus_period_order")]

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=100)
    threshold = models.PositiveIntegerField()  # points on the program's tier basis
    multiplier_percent = models.PositiveIntegerField(default=100)
    perks = models.TextField(blank=True)

    class Meta:
        ordering = ["threshold"]
        constraints = [models.UniqueConstraint(fields=["program", "threshold"], name="tier_threshold_unique")]

    def __str__(self) -> str:
        return self.name


class RewardType(models.TextChoices):
    CODE = "code", "Discount code"
    GIFT_CARD = "gift_card", "Gift card credit"
    PRODUCT = "product", "Free product"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    EXPERIENCE = "experience", "Experience"
    DONATION = "donation", "Charity donation"


class Reward(models.Model):
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=RewardType.choices, default=RewardType.CODE)
    cost = models.PositiveIntegerField()
    # Code-like rewards (code, gift card, product, free shipping) issue a code of this campaign.
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stock = models.PositiveIntegerField(null=True, blank=True)  # null: unlimited; decremented conditionally
    min_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["cost", "id"]

    def __str__(self) -> str:
        return self.name


class MilestoneKind(models.TextChoices):
    POINTS = "points", "Lifetime points"
    ORDERS = "orders", "Paid orders"
    SPEND = "spend", "Total spent"


class Milestone(models.Model):
    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MilestoneKind.choices)
    threshold = models.PositiveBigIntegerField()
    bonus_points = models.PositiveIntegerField(default=0)
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    """A customer in a program. Balances always equal the ledger's sums (check_loyalty_ledger proves it)."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="accounts")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="loyalty_accounts")
    points = models.BigIntegerField(default=0)  # spendable; may go negative after a refund of spent points
    pending_points = models.BigIntegerField(default=0)
    lifetime_points = models.BigIntegerField(default=0)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts")
    # Points on the program's tier basis, stored when the tier is evaluated so reads never sum the ledger.
    tier_points = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "customer"], name="loyalty_account_unique"),
            models.CheckConstraint(condition=Q(pending_points__gte=0), name="loyalty_pending_gte_0"),
        ]
        indexes = [models.Index(fields=["program", "points"], name="loyalty_account_points")]

    def __str__(self) -> str:
        return f"{self.customer} in {self.program}"


class EntryKind(models.TextChoices):
    EARN = "earn", "Earned"
    PENDING = "pending", "Pending"
    RELEASE = "release", "Became spendable"
    SPEND = "spend", "Spent"
    EXPIRE = "expire", "Expired"
    REVERSE = "reverse", "Reversed"
    ADJUST = "adjust", "Adjusted"


class LedgerEntry(models.Model):
    """Append-only: a correction is a new entry. On PostgreSQL a trigger refuses UPDATE and DELETE."""

    # No index of its own: ledger_once_per_source and ledger_account_newest both start with it (one index
    # less to write per entry).
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    points = models.BigIntegerField()  # change of the spendable balance (signed)
    pending_points = models.BigIntegerField(default=0)  # change of the pending balance (signed)
    balance_after = models.BigIntegerField()
    pending_after = models.BigIntegerField(default=0)
    # What caused it: ("order", "A-1001"), ("event", "ev-9"), ("reward_redemption", "12"), ("user", "alice")...
    source_type = models.CharField(max_length=30)
    source_id = models.CharField(max_length=255)
    description = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A replayed order or event cannot earn twice.
            models.UniqueConstraint(fields=["account", "kind", "source_type", "source_id"],
                                    name="ledger_once_per_source"),
        ]
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="ledger_account_newest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class PointLot(models.Model):
    """Earned points with their own dates; spending takes the oldest lots first (FIFO)."""

    # No index of its own: lot_account_fifo starts with it (one index less to write per lot).
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="lots", db_index=False)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    earned_at = models.DateTimeField()
    available_at = models.DateTimeField()  # after the pending window
    expires_at = models.DateTimeField(null=True, blank=True)
    is_reminded = models.BooleanField(default=False)
    # True while the points wait for the return window: they count in pending_points, not in points.
    is_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["earned_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")),
                                   name="lot_remaining_within_points"),
        ]
        indexes = [
            models.Index(fields=["account", "earned_at"], name="lot_account_fifo"),
            models.Index(fields=["expires_at"], name="lot_expires"),
            # Live lots only: FIFO spending and "expiring soon" read a handful of rows whatever the history.
            models.Index(fields=["account", "earned_at", "id"], condition=Q(remaining__gt=0, is_pending=False),
                         name="lot_live_fifo"),
            models.Index(fields=["account", "expires_at"], condition=Q(remaining__gt=0, is_pending=False),
                         name="lot_live_expiry"),
            # The release job's only read by available_at (a full index on it was dropped: written for nothing).
            models.Index(fields=["available_at"], condition=Q(is_pending=True), name="lot_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points}"


class QueuedOrder(models.Model):
    """A paid order waiting to earn: orders arriving one by one are earned in batches (earn_for_orders).

    The row is written after the order's commit and deleted in the transaction that earns it, so a crash
    in between leaves it queued (and earning it again is a no-op: ledger_once_per_source).
    """

    order = models.OneToOneField("retention.Order", on_delete=models.CASCADE, primary_key=True, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.order_id}"


class RewardRedemptionStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    REQUESTED = "requested", "Requested (to fulfil by hand)"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class RewardRedemption(models.Model):
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="reward_redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points_spent = models.PositiveIntegerField()
    code = models.OneToOneField(Code, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=RewardRedemptionStatus.choices,
                              default=RewardRedemptionStatus.ISSUED)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reward} for {self.account}"


class MilestoneAchievement(models.Model):
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="milestones")
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="achievements")
    achieved_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "milestone"], name="milestone_once")]

    def __str__(self) -> str:
        return f"{self.milestone} by {self.account}"


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class AdjustmentRequest(models.Model):
    """A manual adjustment above the program's threshold, applied once a second person approves it."""

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="adjustment_requests")
    points = models.BigIntegerField()
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.points:+d} for {self.account}"


class PortalLoginToken(models.Model):
    """A sign-in link's nonce: the link is single-use because `used_at` is set by a conditional UPDATE."""

    nonce = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.nonce[:8]

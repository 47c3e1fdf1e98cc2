"""Referral programs: who may refer, codes per referrer, referrals (one referrer per friend), their
conversion, the rewards they gave, fraud signals, and bulk code jobs."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from campaigns.models import Campaign, Code
from loyalty.models import LoyaltyProgram
from retention.models import Customer, Event, JobStatus, Order, Segment

FIRST_ORDER = "first_order"


class ReferralProgram(models.Model):
    name = models.CharField(max_length=200)
    link_template = models.CharField(max_length=500, default="https://shop.example/?ref={code}")
    is_enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    # Who may refer: everyone (no segment) or the members of one segment.
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    friend_campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    loyalty_program = models.ForeignKey(LoyaltyProgram, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    # Conversion: the friend's first paid order (FIRST_ORDER) or an event of this type.
    conversion_event = models.CharField(max_length=100, default=FIRST_ORDER)
    min_order_amount = models.BigIntegerField(default=0)
    within_days = models.PositiveIntegerField(null=True, blank=True)  # null: no time limit
    reward_hold_days = models.PositiveIntegerField(default=0)
    # A refund within this many days of the conversion cancels it and what it gave.
    return_window_days = models.PositiveIntegerField(default=14)
    max_rewards_per_referrer_per_month = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    budget = models.BigIntegerField(null=True, blank=True)  # minor units; null: no budget
    budget_spent = models.BigIntegerField(default=0)
    # What one point costs the shop, in hundredths of a minor unit (100 = 1 cent): values points rewards.
    point_value = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget_spent__lte=F("budget")),
                                   name="referral_program_budget_spent_within_budget"),
            models.CheckConstraint(condition=Q(budget_spent__gte=0), name="referral_program_budget_spent_gte_0"),
            models.CheckConstraint(condition=Q(min_order_amount__gte=0), name="referral_program_min_amount_gte_0"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="referral_program_one_default"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def converts_on_first_order(self) -> bool:
        return self.conversion_event == FIRST_ORDER

    def link_for(self, code: str) -> str:
        return self.link_template.replace("{code}", code)


class RewardType(models.TextChoices):
    POINTS = "points", "Points"
    CODE = "code", "Code"
    GIFT_CARD = "gift_card", "Gift card"
    CASH = "cash", "Cash payout"


class ReferralTier(models.Model):
    """The referrer's reward for the Nth converted referral onwards, until the next tier."""

    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="tiers")
    referrals = models.PositiveIntegerField()
    reward_type = models.CharField(max_length=16, choices=RewardType.choices)
    points = models.PositiveIntegerField(null=True, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cash_amount = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["program", "referrals"]
        constraints = [
            models.UniqueConstraint(fields=["program", "referrals"], name="referral_tier_unique"),
            models.CheckConstraint(condition=Q(referrals__gte=1), name="referral_tier_referrals_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.referrals}+ → {self.reward_type}"


class ReferralCode(models.Model):
    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="codes")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referral_codes")
    code = models.CharField(max_length=40)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code"], name="referral_code_unique"),
            models.UniqueConstraint(fields=["program", "customer"], name="referral_code_one_per_customer"),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # registered, waiting for the friend to convert
    HELD = "held", "Held"  # converted; the referrer's reward waits (hold period or review)
    REWARDED = "rewarded", "Rewarded"
    REJECTED = "rejected", "Rejected"  # by a marketer
    CANCELLED = "cancelled", "Cancelled"  # refunded inside the return window


CONVERTED_STATUSES = (ReferralStatus.HELD, ReferralStatus.REWARDED)


class Referral(models.Model):
    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="referrals")
    code = models.ForeignKey(ReferralCode, on_delete=models.CASCADE, related_name="referrals")
    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referrals_made")
    friend = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referrals_received")
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    device_id = models.CharField(max_length=255, blank=True)
    registered_at = models.DateTimeField()
    converted_at = models.DateTimeField(null=True, blank=True)
    conversion_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversion_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversion_amount = models.BigIntegerField(default=0)
    reward_due_at = models.DateTimeField(null=True, blank=True)  # a held referral is rewarded from then
    needs_review = models.BooleanField(default=False)  # fraud signals: a marketer decides
    # Why the referrer got nothing although the friend converted (limit_reached, budget_exhausted).
    skipped_reason = models.CharField(max_length=32, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "friend"], name="referral_one_referrer_per_friend"),
            models.CheckConstraint(condition=~Q(referrer=F("friend")), name="referral_not_self"),
        ]
        indexes = [
            models.Index(fields=["friend", "status"], name="referral_friend_status"),
            models.Index(fields=["code", "registered_at"], name="referral_code_registered"),
            models.Index(fields=["program", "status", "converted_at"], name="referral_program_converted"),
            models.Index(fields=["status", "reward_due_at"], name="referral_due"),
            models.Index(fields=["referrer", "status"], name="referral_referrer_status"),
        ]

    def __str__(self) -> str:
        return f"referral {self.pk}"


class QueuedConversion(models.Model):
    """A paid order waiting to convert its friend's referrals: orders arriving one by one are converted in
    batches by one collecting task (conversions.convert_queued_orders).

    Written after the order's commit, deleted in the transaction that converts it: a crash in between leaves
    it queued, and converting an order twice does nothing the second time (the claim is conditional)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, primary_key=True, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.order_id}"


class FraudSignalKind(models.TextChoices):
    SAME_EMAIL = "same_email", "Same normalised email as the referrer"
    SAME_PHONE = "same_phone", "Same phone as the referrer"
    SAME_DOMAIN = "same_domain", "Same company email domain as the referrer"
    SAME_DEVICE = "same_device", "Same device as the referrer's other referrals"
    SAME_IP = "same_ip", "Same IP address as the referrer's other referrals"
    BURST = "burst", "Burst of sign-ups on one code"


class FraudSignal(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="fraud_signals")
    kind = models.CharField(max_length=16, choices=FraudSignalKind.choices)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["referral", "kind"]
        constraints = [models.UniqueConstraint(fields=["referral", "kind"], name="fraud_signal_unique")]

    def __str__(self) -> str:
        return self.kind


class RewardRole(models.TextChoices):
    REFERRER = "referrer", "Referrer"
    FRIEND = "friend", "Friend"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    PAID = "paid", "Paid"


class ReferralReward(models.Model):
    """One reward a referral gave; unique per (referral, role), which makes rewarding exactly-once."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="rewards")
    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="rewards")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referral_rewards")
    role = models.CharField(max_length=16, choices=RewardRole.choices)
    type = models.CharField(max_length=16, choices=RewardType.choices)
    points = models.PositiveIntegerField(null=True, blank=True)
    code = models.ForeignKey(Code, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cash_amount = models.BigIntegerField(null=True, blank=True)
    cost = models.BigIntegerField(default=0)  # minor units, what the program's budget counts
    payout_status = models.CharField(max_length=16, choices=PayoutStatus.choices, blank=True)
    is_cancelled = models.BooleanField(default=False)
    # Set when a cancellation met a code reward: True if the code had been used (it stays), False if it was
    # withdrawn unused. Null: not a code, or never cancelled.
    code_was_used = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "role"], name="referral_reward_once_per_role"),
            models.CheckConstraint(condition=Q(type="cash") | Q(payout_status=""),
                                   name="referral_reward_payout_only_cash"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="referral_reward_cost_gte_0"),
        ]
        indexes = [
            models.Index(fields=["program", "created_at"], name="referral_reward_program"),
            models.Index(fields=["customer", "role", "created_at"], name="referral_reward_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for {self.role}"


class Invitation(models.Model):
    """An invitation email a referrer sent from the portal. Only the address's hash is kept: enough to
    refuse a second invitation, and nothing personal about someone who never signed up."""

    code = models.ForeignKey(ReferralCode, on_delete=models.CASCADE, related_name="invitations")
    email_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "email_hash"], name="invitation_once_per_address")]

    def __str__(self) -> str:
        return f"invitation {self.pk}"


class CodeJob(models.Model):
    """Bulk referral codes for a segment's members; progress kept here so a crashed job resumes."""

    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="code_jobs")
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    last_customer_id = models.BigIntegerField(default=0)  # resume point
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code job {self.pk}"

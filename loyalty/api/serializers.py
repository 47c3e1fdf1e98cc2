"""Input and output shapes of the loyalty API. Multipliers travel as decimals (1.5), are stored as percents."""

from decimal import Decimal

from rest_framework import serializers

from loyalty.models import LedgerEntry, LoyaltyProgram, MilestoneKind, RewardType, TierBasis

CODE_REWARDS = (RewardType.CODE, RewardType.GIFT_CARD, RewardType.PRODUCT, RewardType.FREE_SHIPPING)
MULTIPLIER = {"max_digits": 6, "decimal_places": 2, "min_value": Decimal("0"), "max_value": Decimal("100")}


def to_percent(multiplier) -> int:
    return int((Decimal(multiplier) * 100).to_integral_value())


def to_multiplier(percent: int) -> Decimal:
    return (Decimal(percent) / 100).normalize()


class TierInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    threshold = serializers.IntegerField(min_value=0)
    multiplier = serializers.DecimalField(required=False, default=Decimal("1"), **MULTIPLIER)
    perks = serializers.CharField(required=False, allow_blank=True, default="")


class EarningRuleInput(serializers.Serializer):
    event_type = serializers.CharField(max_length=100)
    points = serializers.IntegerField(min_value=1)
    max_per_month = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    once_per_property = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)


class RewardInput(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=200)
    cost = serializers.IntegerField(min_value=0)
    type = serializers.ChoiceField(choices=RewardType.choices)
    campaign = serializers.SlugField(required=False, allow_null=True, allow_blank=True, default=None)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    stock = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    min_tier = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    segment = serializers.SlugField(required=False, allow_null=True, allow_blank=True, default=None)
    is_active = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        if attrs["type"] in CODE_REWARDS and not attrs.get("campaign"):
            raise serializers.ValidationError({"campaign": ["A code-like reward needs the campaign issuing it."]})
        return attrs


class CategoryMultiplierInput(serializers.Serializer):
    category = serializers.CharField(max_length=100)
    multiplier = serializers.DecimalField(**MULTIPLIER)


class BonusPeriodInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    multiplier = serializers.DecimalField(required=False, default=Decimal("2"), **MULTIPLIER)
    skus = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    categories = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["After starts_at."]})
        return attrs


class MilestoneInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=MilestoneKind.choices)
    threshold = serializers.IntegerField(min_value=1)
    bonus_points = serializers.IntegerField(min_value=0, required=False, default=0)
    reward = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)


class ProgramInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    points_per_unit = serializers.IntegerField(min_value=0, required=False)
    pending_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    points_expire_after_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    expiry_reminder_days = serializers.IntegerField(min_value=0, required=False)
    tier_basis = serializers.ChoiceField(choices=TierBasis.choices, required=False)
    signup_bonus = serializers.IntegerField(min_value=0, required=False)
    adjustment_approval_threshold = serializers.IntegerField(min_value=0, required=False)
    default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    portal_promotion = serializers.CharField(required=False, allow_blank=True)
    tiers = TierInput(many=True, required=False)
    earning_rules = EarningRuleInput(many=True, required=False)
    rewards = RewardInput(many=True, required=False)
    category_multipliers = CategoryMultiplierInput(many=True, required=False)
    bonus_periods = BonusPeriodInput(many=True, required=False)
    milestones = MilestoneInput(many=True, required=False)

    def to_service_data(self) -> dict:
        """Multipliers become the model's percents."""
        data = dict(self.validated_data)
        for key in ("tiers", "category_multipliers", "bonus_periods"):
            if key in data:
                data[key] = [{**row, "multiplier_percent": to_percent(row.pop("multiplier"))}
                             if "multiplier" in row else row for row in map(dict, data[key])]
        return data


class ProgramOutput(serializers.ModelSerializer):
    default = serializers.BooleanField(source="is_default")
    tiers = serializers.SerializerMethodField()
    earning_rules = serializers.SerializerMethodField()
    rewards = serializers.SerializerMethodField()
    category_multipliers = serializers.SerializerMethodField()
    bonus_periods = serializers.SerializerMethodField()
    milestones = serializers.SerializerMethodField()

    class Meta:
        model = LoyaltyProgram
        fields = ["id", "name", "currency", "points_per_unit", "pending_days", "points_expire_after_days",
                  "expiry_reminder_days", "tier_basis", "signup_bonus", "adjustment_approval_threshold", "default",
                  "is_active", "portal_promotion", "tiers", "earning_rules", "rewards", "category_multipliers",
                  "bonus_periods", "milestones", "created_at", "updated_at"]

    def get_tiers(self, program) -> list:
        return [{"id": tier.pk, "name": tier.name, "threshold": tier.threshold,
                 "multiplier": to_multiplier(tier.multiplier_percent), "perks": tier.perks}
                for tier in sorted(program.tiers.all(), key=lambda tier: tier.threshold)]

    def get_earning_rules(self, program) -> list:
        return [{"event_type": rule.event_type, "points": rule.points, "max_per_month": rule.max_per_month,
                 "once_per_property": rule.once_per_property, "is_active": rule.is_active}
                for rule in program.earning_rules.all()]

    def get_rewards(self, program) -> list:
        return [{"id": reward.pk, "name": reward.name, "cost": reward.cost, "type": reward.type,
                 "campaign": reward.campaign.slug if reward.campaign_id else None, "description": reward.description,
                 "stock": reward.stock, "min_tier": reward.min_tier.name if reward.min_tier_id else None,
                 "segment": reward.segment.slug if reward.segment_id else None, "is_active": reward.is_active}
                for reward in sorted(program.rewards.all(), key=lambda reward: (reward.cost, reward.pk))]

    def get_category_multipliers(self, program) -> list:
        return [{"category": row.category, "multiplier": to_multiplier(row.multiplier_percent)}
                for row in program.category_multipliers.all()]

    def get_bonus_periods(self, program) -> list:
        return [{"name": row.name, "starts_at": row.starts_at, "ends_at": row.ends_at,
                 "multiplier": to_multiplier(row.multiplier_percent), "skus": row.skus, "categories": row.categories}
                for row in program.bonus_periods.all()]

    def get_milestones(self, program) -> list:
        return [{"name": row.name, "kind": row.kind, "threshold": row.threshold, "bonus_points": row.bonus_points,
                 "reward": row.reward.name if row.reward_id else None} for row in program.milestones.all()]


class AdjustmentInput(serializers.Serializer):
    points = serializers.IntegerField()
    reason = serializers.CharField(max_length=255)
    program = serializers.IntegerField(required=False)

    def validate_points(self, value):
        if value == 0:
            raise serializers.ValidationError("Not zero.")
        return value


class LedgerEntryOutput(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "points", "pending_points", "balance_after", "pending_after", "source_type",
                  "source_id", "description", "created_at"]


class RewardRedemptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reward = serializers.SerializerMethodField()
    points_spent = serializers.IntegerField()
    code = serializers.SerializerMethodField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_reward(self, redemption) -> dict:
        reward = redemption.reward
        return {"id": reward.pk, "name": reward.name, "type": reward.type}

    def get_code(self, redemption) -> str | None:
        return redemption.code.code if redemption.code_id else None

"""The members list's filters (django-filter)."""

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone

from loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    PointLot,
    RewardRedemption,
    RewardRedemptionStatus,
    RewardType,
    Tier,
)


class MemberFilter(django_filters.FilterSet):
    program = django_filters.ModelChoiceFilter(queryset=LoyaltyProgram.objects.all(), empty_label="All programs")
    tier = django_filters.ModelChoiceFilter(queryset=Tier.objects.select_related("program"), empty_label="Any tier")
    min_points = django_filters.NumberFilter(field_name="points", lookup_expr="gte", label="Points from")
    max_points = django_filters.NumberFilter(field_name="points", lookup_expr="lte", label="Points up to")
    expiring_within = django_filters.NumberFilter(method="filter_expiring", label="Points expiring within (days)",
                                                  widget=forms.NumberInput(attrs={"min": 1, "placeholder": "30"}))
    q = django_filters.CharFilter(field_name="customer__email", lookup_expr="icontains", label="Email contains")

    class Meta:
        model = LoyaltyAccount
        fields = ["q", "program", "tier", "min_points", "max_points", "expiring_within"]

    def filter_expiring(self, queryset, name, value):
        if value is None or value < 1:
            return queryset
        now = timezone.now()
        lots = PointLot.objects.filter(account=OuterRef("pk"), remaining__gt=0, expires_at__gt=now,
                                       expires_at__lte=now + timedelta(days=int(value)))
        return queryset.filter(Exists(lots))


class RedemptionFilter(django_filters.FilterSet):
    """Reward redemptions; "Requested" lists the experiences waiting to be fulfilled by hand."""

    program = django_filters.ModelChoiceFilter(field_name="account__program", queryset=LoyaltyProgram.objects.all(),
                                               empty_label="All programs", label="Program")
    status = django_filters.ChoiceFilter(choices=RewardRedemptionStatus.choices, empty_label="Any status")
    type = django_filters.ChoiceFilter(field_name="reward__type", choices=RewardType.choices, empty_label="Any reward",
                                       label="Reward type")
    q = django_filters.CharFilter(field_name="account__customer__email", lookup_expr="icontains",
                                  label="Email contains")

    class Meta:
        model = RewardRedemption
        fields = ["q", "program", "status", "type"]

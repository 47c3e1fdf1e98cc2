"""List filters (django-filter): the referrals review list and the leaderboard's period."""

from datetime import timedelta

import django_filters
from django.utils import timezone

from referrals.models import Referral, ReferralStatus

PERIODS = {"7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90),
           "365d": timedelta(days=365)}


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices, empty_label="Any status")
    needs_review = django_filters.BooleanFilter(label="Flagged for review")
    q = django_filters.CharFilter(method="filter_q", label="Email or code contains")

    class Meta:
        model = Referral
        fields = ["status", "needs_review"]

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(friend__email__icontains=value) | Q(referrer__email__icontains=value)
                               | Q(code__code__icontains=value.upper()))


class LeaderboardFilter(django_filters.FilterSet):
    """Only the period: the leaderboard's rows are computed by queries.leaderboard(since=...)."""

    period = django_filters.ChoiceFilter(
        choices=[("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"), ("365d", "Last year")],
        empty_label="All time", method="filter_period")

    class Meta:
        model = Referral
        fields = ["period"]

    def filter_period(self, queryset, name, value):
        return queryset

    def since(self):
        if not self.is_valid():
            return None
        period = self.form.cleaned_data.get("period")
        return timezone.now() - PERIODS[period] if period in PERIODS else None

"""The campaign list's filters. Status is derived from flags and the schedule, so it filters by expression."""

import django_filters
from django import forms
from django.db.models import Q

from campaigns.models import Campaign, CampaignStatus, CampaignType
from campaigns.queries import status_condition


class CampaignFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search",
                                  widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or slug"}))
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices, method="filter_status", empty_label="Any",
                                         label="Status")
    type = django_filters.ChoiceFilter(choices=CampaignType.choices, empty_label="Any", label="Type")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    # A campaign "runs within" the range when its schedule overlaps it; open ends count as unbounded.
    runs_from = django_filters.DateFilter(method="filter_runs_from", label="Runs from",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    runs_until = django_filters.DateFilter(method="filter_runs_until", label="Runs until",
                                           widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Campaign
        fields = ["q", "status", "type", "tag", "runs_from", "runs_until"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))

    def filter_status(self, queryset, name, value):
        return queryset.filter(status_condition(value))

    def filter_tag(self, queryset, name, value):
        # JSON list containment is not portable to SQLite, so match the quoted tag inside the JSON text.
        return queryset.filter(tags__icontains=f'"{value.strip()}"')

    def filter_runs_from(self, queryset, name, value):
        return queryset.filter(Q(ends_at__isnull=True) | Q(ends_at__date__gte=value))

    def filter_runs_until(self, queryset, name, value):
        return queryset.filter(Q(starts_at__isnull=True) | Q(starts_at__date__lte=value))

"""List filters of the back-office (django-filter). Each list page filters through one FilterSet."""

from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from retention.models import AuditEntry, Customer, Segment, Tag
from retention.segments import customers_in

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
CONSENT_CHOICES = [("true", "Consented"), ("false", "Not consented")]


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search",
                                  widget=forms.TextInput(attrs={"type": "search",
                                                                "placeholder": "Email, name or source id"}))
    country = django_filters.CharFilter(method="in_country", label="Country",
                                        widget=forms.TextInput(attrs={"placeholder": "DE", "maxlength": 2}))
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.all(), method="in_segment",
                                               label="Segment", empty_label="Any segment")
    tag = django_filters.ModelChoiceFilter(queryset=Tag.objects.all(), field_name="tags", label="Tag",
                                         empty_label="Any tag")
    email_consent = django_filters.ChoiceFilter(field_name="email_marketing_consent", choices=CONSENT_CHOICES,
                                                label="Email consent", empty_label="Any", method="consent")
    sms_consent = django_filters.ChoiceFilter(field_name="sms_marketing_consent", choices=CONSENT_CHOICES,
                                              label="SMS consent", empty_label="Any", method="consent")
    last_order_after = django_filters.DateFilter(field_name="last_order_at", lookup_expr="date__gte",
                                                 label="Last order from", widget=DATE_INPUT)
    last_order_before = django_filters.DateFilter(field_name="last_order_at", lookup_expr="date__lte",
                                                  label="Last order until", widget=DATE_INPUT)
    days_since_last_order = django_filters.NumberFilter(method="dormant_for", label="No order for (days)",
                                                        min_value=0)

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(email__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value)
            | Q(source_id__icontains=value)
        )

    def in_country(self, queryset, name, value):
        return queryset.filter(country=value.strip().upper()) if value.strip() else queryset

    def in_segment(self, queryset, name, segment):
        # A subquery keeps the list at one query whatever the segment's size.
        return queryset.filter(pk__in=customers_in(segment).values("pk"))

    def consent(self, queryset, name, value):
        return queryset.filter(**{name: value == "true"})

    def dormant_for(self, queryset, name, value):
        # "No order for N days": the last order is older than N days, or there has never been one.
        cutoff = timezone.now() - timedelta(days=int(value))
        return queryset.filter(Q(last_order_at__lt=cutoff) | Q(last_order_at__isnull=True))


def _audit_choices(field: str):
    def choices():
        values = AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct()
        return [(value, value) for value in values if value]

    return choices


class AuditEntryFilter(django_filters.FilterSet):
    actor = django_filters.ModelChoiceFilter(field_name="actor_user", queryset=User.objects.order_by("username"),
                                             empty_label="Anyone", label="User")
    actor_label = django_filters.CharFilter(lookup_expr="icontains", label="Actor name",
                                            widget=forms.TextInput(attrs={"placeholder": "api:shop, system…"}))
    action = django_filters.ChoiceFilter(choices=_audit_choices("action"), empty_label="Any action")
    object_type = django_filters.ChoiceFilter(choices=_audit_choices("object_type"), empty_label="Any type",
                                              label="Object type")
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From",
                                      widget=DATE_INPUT)
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Until",
                                      widget=DATE_INPUT)

    class Meta:
        model = AuditEntry
        fields: list[str] = []

import django_filters
from django.db.models import Q

from retention.messaging.models import Channel, Delivery, DeliveryStatus, MessageKind


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="Any channel")
    kind = django_filters.ChoiceFilter(choices=MessageKind.choices, empty_label="Any kind")
    customer = django_filters.CharFilter(method="search_customer", label="Customer")

    class Meta:
        model = Delivery
        fields = ["status", "channel", "kind"]

    def search_customer(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer__email__icontains=value) | Q(customer__source_id=value) | Q(customer__last_name__icontains=value)
        )

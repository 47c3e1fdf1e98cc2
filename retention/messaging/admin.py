"""Read-mostly admin: templates are edited in the back-office (validated), deliveries change only by services."""

from django.contrib import admin

from retention.messaging.models import Delivery, MessageTemplate, WebhookAttempt, WebhookDelivery, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "channel", "updated_at"]
    list_filter = ["channel"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "channel", "kind", "status", "skip_reason", "attempts", "created_at"]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "template"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created_at"]
    list_filter = ["type"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "response_status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    inlines = [WebhookAttemptInline]

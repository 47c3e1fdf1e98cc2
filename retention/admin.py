"""The Django admin shows the core's rows read-only: every write goes through a service (and its audit entry)."""

from django.contrib import admin

from retention import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderItemInline(admin.TabularInline):
    model = models.OrderItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["source_id", "email", "country", "orders_count", "total_spent", "last_order_at", "erased_at"]
    list_filter = ["country", "email_marketing_consent", "sms_marketing_consent"]
    search_fields = ["source_id", "email", "last_name"]


@admin.register(models.ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["customer", "channel", "granted", "source", "recorded_at"]
    list_filter = ["channel", "granted", "source"]
    list_select_related = ["customer"]


@admin.register(models.Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["source_id", "customer", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency"]
    list_select_related = ["customer"]
    search_fields = ["source_id", "customer__source_id"]
    inlines = [OrderItemInline]


@admin.register(models.Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["type", "customer", "event_id", "occurred_at"]
    list_filter = ["type"]
    list_select_related = ["customer"]


@admin.register(models.Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "kind", "match", "updated_at"]


@admin.register(models.EmailSuppression)
class EmailSuppressionAdmin(ReadOnlyAdmin):
    list_display = ["email_hash", "reason", "created_at"]


@admin.register(models.ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor_label"]


@admin.register(models.IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "api_key", "is_complete", "response_status", "created_at"]


admin.site.register([models.Tag, models.WebhookEndpoint, models.CustomerImport], ReadOnlyAdmin)

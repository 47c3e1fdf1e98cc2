"""Read-mostly admin: writes go through the services (counters, audit), so the admin changes nothing
that guards a limit."""

from django.contrib import admin

from campaigns.models import Campaign, Code, GenerationJob


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "type", "discount_type", "starts_at", "ends_at", "is_draft", "is_paused",
                    "codes_issued", "redemptions_count", "discount_total"]
    list_filter = ["type", "discount_type", "is_draft", "is_paused", "is_support"]
    search_fields = ["name", "slug", "public_code"]
    readonly_fields = ["codes_issued", "redemptions_count", "discount_total", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # create_campaign validates and audits; the back-office form calls it


@admin.register(Code)
class CodeAdmin(admin.ModelAdmin):
    list_display = ["code", "campaign", "customer", "source", "issued_at", "expires_at", "uses_count", "max_uses"]
    list_filter = ["source", "is_disabled", "is_automatic"]
    search_fields = ["=code", "customer__source_id"]
    list_select_related = ["campaign", "customer"]
    raw_id_fields = ["campaign", "customer", "generation"]
    show_full_result_count = False  # millions of rows: COUNT(*) on every page would be slow

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "count", "generated", "status", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["campaign"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

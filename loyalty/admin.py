"""Read-mostly admin: balances and the ledger change only through loyalty.services."""

from django.contrib import admin

from loyalty.models import AdjustmentRequest, LedgerEntry, LoyaltyAccount, LoyaltyProgram, PointLot, RewardRedemption


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(ReadOnlyAdmin):
    # Programs change in the back-office editor (Loyalty → Edit program), which validates and audits.
    list_display = ["name", "currency", "points_per_unit", "is_default", "is_active"]


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "program", "points", "pending_points", "lifetime_points", "tier"]
    list_select_related = ["customer", "program", "tier"]
    search_fields = ["customer__source_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["account", "kind", "points", "pending_points", "balance_after", "source_type", "source_id",
                    "created_at"]
    list_filter = ["kind"]
    list_select_related = ["account__customer", "account__program"]


@admin.register(PointLot)
class PointLotAdmin(ReadOnlyAdmin):
    list_display = ["account", "points", "remaining", "earned_at", "available_at", "expires_at", "is_pending"]
    list_select_related = ["account__customer", "account__program"]


@admin.register(RewardRedemption)
class RewardRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["account", "reward", "points_spent", "status", "created_at"]


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(ReadOnlyAdmin):
    list_display = ["account", "points", "reason", "status", "requested_by", "decided_by"]

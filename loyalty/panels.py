"""The "Loyalty" panel of the customer page. register_panels() is called from loyalty's AppConfig.ready()."""

from loyalty.forms import AdjustmentForm
from loyalty.models import AdjustmentRequest, AdjustmentStatus, LedgerEntry, LoyaltyAccount, LoyaltyProgram

ENTRIES_SHOWN = 20


def loyalty_panel_context(customer, request) -> dict:
    from retention.roles import MARKETING, has_role

    accounts = list(LoyaltyAccount.objects.filter(customer=customer).select_related("program", "tier")
                    .order_by("program__created_at", "program_id"))
    entries = {account.pk: list(LedgerEntry.objects.filter(account=account)[:ENTRIES_SHOWN]) for account in accounts}
    waiting = list(AdjustmentRequest.objects.filter(account__customer=customer, status=AdjustmentStatus.PENDING)
                   .select_related("account__program", "requested_by").order_by("created_at"))
    default = LoyaltyProgram.objects.filter(is_default=True).first()
    return {
        "accounts": [(account, entries[account.pk]) for account in accounts],
        "waiting": waiting,
        "may_adjust": has_role(request.user, MARKETING),
        "adjust_form": AdjustmentForm(initial={"program": default}),
        "has_programs": LoyaltyProgram.objects.exists(),
    }


def register_panels() -> None:
    from retention.panels import register_customer_panel

    register_customer_panel(key="loyalty", title="Loyalty", template_name="loyalty/customer_panel.html",
                            context=loyalty_panel_context, order=40)

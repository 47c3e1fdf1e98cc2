"""The "Loyalty" panel of the customer page. register_panels() is called from loyalty's AppConfig.ready()."""

from loyalty.forms import AdjustmentForm
from loyalty.models import AdjustmentRequest, AdjustmentStatus, LedgerEntry, LoyaltyAccount, LoyaltyProgram

ENTRIES_SHOWN = 20


def loyalty_panel_context(customer, request) -> dict:
    """Four queries whatever the customer's history: accounts, their latest entries, waiting requests, programs."""
    from django.db.models import F, Window
    from django.db.models.functions import RowNumber

    from retention.roles import MARKETING, has_role

    accounts = list(LoyaltyAccount.objects.filter(customer=customer).select_related("program", "tier")
                    .order_by("program__created_at", "program_id"))
    entries = {account.pk: [] for account in accounts}
    latest = (LedgerEntry.objects.filter(account__customer=customer)
              .annotate(row=Window(RowNumber(), partition_by=[F("account_id")],
                                   order_by=[F("created_at").desc(), F("id").desc()]))
              .filter(row__lte=ENTRIES_SHOWN).order_by("account_id", "-created_at", "-id"))
    for entry in latest:
        entries[entry.account_id].append(entry)
    waiting = list(AdjustmentRequest.objects.filter(account__customer=customer, status=AdjustmentStatus.PENDING)
                   .select_related("account__program", "requested_by").order_by("created_at"))
    programs = list(LoyaltyProgram.objects.order_by("created_at", "pk"))
    form = AdjustmentForm(initial={"program": next((program for program in programs if program.is_default), None)})
    form.fields["program"].choices = [(program.pk, str(program)) for program in programs]  # no second query
    return {
        "accounts": [(account, entries[account.pk]) for account in accounts],
        "waiting": waiting,
        "may_adjust": has_role(request.user, MARKETING),
        "adjust_form": form,
        "has_programs": bool(programs),
    }


def register_panels() -> None:
    from retention.panels import register_customer_panel

    register_customer_panel(key="loyalty", title="Loyalty", template_name="loyalty/customer_panel.html",
                            context=loyalty_panel_context, order=40)

"""The customer page's "Codes" panel (registered in apps.py; retention never imports campaigns)."""

from django.utils import timezone

from campaigns.models import Code
from campaigns.queries import code_status
from retention.panels import register_customer_panel

PANEL_SIZE = 20


def customer_codes_panel(customer, request) -> dict:
    """The newest codes of `customer` with their status: one query whatever the number of codes."""
    now = timezone.now()
    codes = list(Code.objects.filter(customer=customer).select_related("campaign")
                 .order_by("-issued_at", "-id")[:PANEL_SIZE + 1])
    return {
        "codes": [(code, code_status(code, now)) for code in codes[:PANEL_SIZE]],
        "has_more": len(codes) > PANEL_SIZE,
    }


def register_panels() -> None:
    register_customer_panel(key="codes", title="Codes", order=20,
                            template_name="campaigns/customer_codes_panel.html", context=customer_codes_panel)

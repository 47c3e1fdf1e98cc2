"""Customer page panels that apps to the right of retention contribute (codes, points, referrals).

retention never imports those apps: each registers its panel in its AppConfig.ready(), e.g.

    register_customer_panel(key="loyalty", title="Loyalty points",
                            template_name="loyalty/customer_panel.html", context=loyalty_panel_context)

The customer page calls every panel's `context(customer, request)` once and renders its template with
that dict plus `customer`, inside a card titled `title`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

PanelContext = Callable[[Any, Any], dict]


@dataclass(frozen=True)
class CustomerPanel:
    key: str
    title: str
    template_name: str
    context: PanelContext
    order: int = 100


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: str
    html: SafeString


_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(
    *, key: str, title: str, template_name: str, context: PanelContext, order: int = 100
) -> CustomerPanel:
    """Add (or replace, when `key` is already known) a panel; replacing keeps ready() safe to run twice."""
    panel = CustomerPanel(key=key, title=title, template_name=template_name, context=context, order=order)
    _panels[key] = panel
    return panel


def unregister_customer_panel(key: str) -> None:
    _panels.pop(key, None)


def customer_panels() -> list[CustomerPanel]:
    """Registered panels by `order`, then key, so the page layout does not depend on app loading order."""
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


def render_customer_panels(customer, request) -> list[RenderedPanel]:
    return [
        RenderedPanel(
            key=panel.key,
            title=panel.title,
            html=render_to_string(
                panel.template_name, {**panel.context(customer, request), "customer": customer}, request=request
            ),
        )
        for panel in customer_panels()
    ]

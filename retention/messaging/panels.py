"""The "Messages" panel on the customer page, registered through retention.panels."""


def _messages_panel_context(customer, request) -> dict:
    from retention.messaging.queries import customer_deliveries

    return {"customer": customer, "deliveries": customer_deliveries(customer=customer)}


def register_panels() -> None:
    try:
        from retention.panels import register_customer_panel
    except ImportError:  # the registry is optional: without it the customer page shows no messages
        return
    register_customer_panel(
        key="messages", title="Messages", template_name="messaging/customer_panel.html",
        context=_messages_panel_context, order=60,
    )

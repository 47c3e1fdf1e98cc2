from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self) -> None:
        # retention and loyalty never import referrals: orders and events arrive by signal, and the
        # customer page and the portal home learn about referrals' panel and section here.
        from loyalty.portal.panels import register_portal_section
        from referrals import receivers
        from referrals.demo import on_demo_data_seeded
        from referrals.panels import customer_panel_context, portal_section_context
        from referrals.queries import customer_referral_export
        from retention.panels import register_customer_panel
        from retention.queries import register_export_section
        from retention.signals import customer_erased, demo_data_seeded, event_recorded, order_recorded

        order_recorded.connect(receivers.on_order_recorded, dispatch_uid="referrals.order_recorded")
        event_recorded.connect(receivers.on_event_recorded, dispatch_uid="referrals.event_recorded")
        customer_erased.connect(receivers.on_customer_erased, dispatch_uid="referrals.customer_erased")
        demo_data_seeded.connect(on_demo_data_seeded, dispatch_uid="referrals-demo")
        register_customer_panel(key="referrals", title="Referrals", template_name="referrals/customer_panel.html",
                                context=customer_panel_context, order=300)
        register_export_section("referrals", customer_referral_export)
        register_portal_section(key="referrals", template_name="referrals/portal_section.html",
                                context=portal_section_context)

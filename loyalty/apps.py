from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"

    def ready(self) -> None:
        # retention never imports loyalty: it announces orders, events and sign-ups, and learns about
        # loyalty's part of the GDPR export here.
        from loyalty import receivers
        from loyalty.panels import register_panels
        from loyalty.queries import customer_loyalty_export
        from retention.queries import register_export_section
        from retention.signals import customer_created, event_recorded, order_recorded

        order_recorded.connect(receivers.on_order_recorded, dispatch_uid="loyalty.order_recorded")
        event_recorded.connect(receivers.on_event_recorded, dispatch_uid="loyalty.event_recorded")
        customer_created.connect(receivers.on_customer_created, dispatch_uid="loyalty.customer_created")
        register_export_section("loyalty", customer_loyalty_export)
        from django.db.models.signals import post_delete, post_save

        for model in ("LoyaltyProgram", "Tier", "CategoryMultiplier", "BonusPeriod", "Milestone", "Reward"):
            for signal in (post_save, post_delete):
                signal.connect(receivers.on_program_rule_changed, sender=self.get_model(model),
                               dispatch_uid=f"loyalty.rules.{model}.{signal is post_save}")
        register_panels()  # the member's ledger and manual adjustments on the customer page

        from loyalty.demo import on_demo_data_seeded
        from retention.signals import demo_data_seeded

        demo_data_seeded.connect(on_demo_data_seeded, dispatch_uid="loyalty-demo")

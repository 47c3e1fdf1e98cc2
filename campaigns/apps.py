from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        # retention never imports campaigns: the GDPR export learns about codes here.
        from campaigns.queries import customer_codes_export
        from retention.queries import register_export_section

        register_export_section("campaigns", customer_codes_export)
        from campaigns.panels import register_panels

        register_panels()
        from campaigns import receivers  # welcome trigger, calendar schedule clean-up, "why not" panel

        receivers.connect()

        from campaigns.demo import on_demo_data_seeded
        from retention.signals import demo_data_seeded

        demo_data_seeded.connect(on_demo_data_seeded, dispatch_uid="campaigns-demo")

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "retention.messaging"
    label = "messaging"
    verbose_name = "Messaging and webhooks"

    def ready(self) -> None:
        from retention.messaging.panels import register_panels

        register_panels()

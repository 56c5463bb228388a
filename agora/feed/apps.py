from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "agora.feed"
    label = "feed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agora.feed import receivers

        receivers.connect()

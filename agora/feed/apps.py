from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "agora.feed"
    label = "feed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agora.feed import checks, receivers  # noqa: F401  (checks registers itself)

        receivers.connect()

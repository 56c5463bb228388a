from django.apps import AppConfig


class GroupbuyConfig(AppConfig):
    name = "agora.groupbuy"
    label = "groupbuy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agora.groupbuy import receivers  # noqa: F401  (connects the signal receivers)

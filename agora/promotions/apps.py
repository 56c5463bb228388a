from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "agora.promotions"
    label = "promotions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agora.promotions import receivers  # noqa: F401  (connects the signal receivers)

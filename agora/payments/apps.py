from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "agora.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered at start-up, so that the in-process periodic runner (manage.py periodic) finds them by name.
        from agora.payments import tasks  # noqa: F401

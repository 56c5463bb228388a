from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "agora.idempotency"
    label = "idempotency"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered at start-up, so that the in-process periodic runner (manage.py periodic) finds them by name.
        from agora.idempotency import tasks  # noqa: F401

from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "agora.shops"
    label = "shops"
    default_auto_field = "django.db.models.BigAutoField"

from django.contrib import admin

from agora.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["recipient", "kind", "title", "created_at", "read_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["recipient__username", "title"]
    raw_id_fields = ["recipient", "actor"]
    date_hierarchy = "created_at"

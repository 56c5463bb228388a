"""Web pages of notifications (included from agora.web.urls, namespace "web")."""

from django.urls import URLPattern, path

from agora.web.views import notifications

urlpatterns: list[URLPattern] = [
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read-all/", notifications.read_all, name="notifications_read_all"),
    path("notifications/<int:notification_id>/open/", notifications.open_notification, name="notification_open"),
]

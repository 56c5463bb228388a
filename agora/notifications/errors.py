from __future__ import annotations

from agora.core.errors import NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"

"""The caller's notifications under /api/v1/notifications."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from agora.api.auth import user_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, responses
from agora.notifications import selectors, services
from agora.notifications.models import Notification
from agora.notifications.schemas import NotificationFilters, NotificationOut, UnreadOut

router = Router(tags=["notifications"])


@router.get("notifications", response=responses({200: list[NotificationOut]}))
@paginate(PagePagination)
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]) -> Any:
    """The caller's notifications, newest first; `?unread=true` for the unread ones only."""
    return selectors.notifications_of(user_of(request), unread_only=filters.unread)


@router.get("notifications/unread-count", response=responses({200: UnreadOut}))
def unread_count(request: HttpRequest) -> dict[str, int]:
    """How many notifications the caller has not read (the number on the bell)."""
    return {"unread": selectors.unread_count(user_of(request))}


@router.post("notifications/read-all", response=responses({200: UnreadOut}))
def read_all(request: HttpRequest) -> dict[str, int]:
    """Mark every notification read."""
    user = user_of(request)
    services.mark_all_read(user=user)
    return {"unread": 0}


@router.post("notifications/{notification_id}/read", response=responses({200: NotificationOut}))
def read_one(request: HttpRequest, notification_id: Id) -> Notification:
    """Mark one notification read."""
    return services.mark_read(user=user_of(request), notification_id=notification_id)

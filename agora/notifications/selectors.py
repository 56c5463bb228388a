"""Reads of a person's notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.notifications.errors import NotificationNotFound
from agora.notifications.models import Notification


def notifications_of(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    items = Notification.objects.filter(recipient=user).select_related("actor")
    if unread_only:
        items = items.filter(read_at__isnull=True)
    return items


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def get_notification(user: User, notification_id: int) -> Notification:
    """One of ``user``'s notifications; someone else's does not exist for them."""
    item = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if item is None:
        raise NotificationNotFound(_("No notification with id %(id)s.") % {"id": notification_id})
    return item

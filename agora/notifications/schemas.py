from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    actor: str | None
    created_at: datetime
    read: bool

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor_id else None

    @staticmethod
    def resolve_read(obj: Any) -> bool:
        return obj.read_at is not None


class UnreadOut(Schema):
    unread: int


class NotificationFilters(Schema):
    unread: bool = False

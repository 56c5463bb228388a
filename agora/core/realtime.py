"""Pushing events to a user's open websockets through the Channels layer, after commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def send_to_user(user_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to every open socket of ``user_id`` once the current transaction commits."""
    send_to_users([(user_id, event_type, payload)])


def send_to_users(events: Sequence[tuple[int, str, dict[str, Any]]]) -> None:
    """``send_to_user`` for many (user id, event type, payload) at once: one hop into the channel layer's event
    loop for all of them (a sweep notifying thousands of people), in the order given, after the commit."""
    if not events:
        return
    items = list(events)

    async def _send_all(layer: Any) -> None:
        for user_id, event_type, payload in items:
            await layer.group_send(user_group(user_id), {"type": "user.event", "event": event_type, "payload": payload})

    def _send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(_send_all)(layer)

    transaction.on_commit(_send)

"""Pushing events to a user's open websockets through the Channels layer, after commit."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def send_to_user(user_id: int, event_type: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to every open socket of ``user_id`` once the current transaction commits."""

    def _send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(
            user_group(user_id), {"type": "user.event", "event": event_type, "payload": payload}
        )

    transaction.on_commit(_send)

"""The events websocket end to end: the real ASGI application, a session cookie, the Channels layer.

pytest-asyncio is not installed: each test runs its async scenario with ``async_to_sync``. Events are
sent after a real commit, so the tests use ``transaction=True``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Awaitable, Callable

import pytest
from asgiref.sync import async_to_sync, sync_to_async

if importlib.util.find_spec("daphne") is None:
    # channels.testing imports daphne for its live-server test case, which we do not use; Agora serves
    # websockets with uvicorn, so daphne is not installed. A stand-in lets the communicator import.
    _daphne_testing = types.ModuleType("daphne.testing")
    _daphne_testing.DaphneProcess = object  # type: ignore[attr-defined]
    sys.modules.setdefault("daphne", types.ModuleType("daphne"))
    sys.modules.setdefault("daphne.testing", _daphne_testing)

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from agora.accounts.tests.factories import UserFactory
from agora.asgi import application
from agora.core.realtime import send_to_user, send_to_users

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def _session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _socket(*headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/events/", headers=[(b"host", b"testserver"), *headers])


async def _listening(cookie: tuple[bytes, bytes]) -> WebsocketCommunicator:
    """A socket of the signed-in user, connected and past its hello."""
    socket = _socket(ORIGIN, cookie)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    await socket.receive_json_from(timeout=5)  # hello
    return socket


def _send_after_commit(user_id: int, event: str, payload: dict) -> None:
    with transaction.atomic():
        send_to_user(user_id, event, payload)


def _send_then_roll_back(user_id: int) -> None:
    try:
        with transaction.atomic():
            send_to_user(user_id, "order.paid", {"order": 1})
            raise RuntimeError("the payment failed after all")
    except RuntimeError:
        pass


def test_anonymous_visitors_are_refused():
    async def scenario() -> None:
        socket = _socket(ORIGIN)
        connected, code = await socket.connect(timeout=5)
        assert not connected
        assert code == 4401
        await socket.disconnect()

    run(scenario)


def test_a_foreign_origin_is_refused():
    cookie = _session_cookie(UserFactory())

    async def scenario() -> None:
        socket = _socket((b"origin", b"https://evil.example"), cookie)
        connected, _ = await socket.connect(timeout=5)
        assert not connected
        await socket.disconnect()

    run(scenario)


def test_a_signed_in_user_gets_hello_events_sent_after_commit_and_pong():
    anna = UserFactory(username="anna")
    cookie = _session_cookie(anna)

    async def scenario() -> None:
        socket = _socket(ORIGIN, cookie)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert await socket.receive_json_from(timeout=5) == {"event": "hello", "payload": {"user": "anna"}}

        await sync_to_async(_send_after_commit)(anna.pk, "order.paid", {"order": 7, "total": "25.50"})
        assert await socket.receive_json_from(timeout=5) == {
            "event": "order.paid",
            "payload": {"order": 7, "total": "25.50"},
        }

        await socket.send_json_to({"event": "ping"})
        assert await socket.receive_json_from(timeout=5) == {"event": "pong", "payload": {}}
        await socket.disconnect()

    run(scenario)


def _send_many_after_commit(events: list[tuple[int, str, dict]]) -> None:
    with transaction.atomic():
        send_to_users(events)


def test_many_events_at_once_reach_each_user_in_order():
    anna, kenji = UserFactory(), UserFactory()
    cookie = _session_cookie(anna)

    async def scenario() -> None:
        socket = await _listening(cookie)

        events = [(anna.pk, "team.failed", {"n": 1}), (kenji.pk, "team.failed", {"n": 2}), (anna.pk, "x", {"n": 3})]
        await sync_to_async(_send_many_after_commit)(events)
        assert await socket.receive_json_from(timeout=5) == {"event": "team.failed", "payload": {"n": 1}}
        assert await socket.receive_json_from(timeout=5) == {"event": "x", "payload": {"n": 3}}
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_events_of_a_rolled_back_transaction_and_of_other_users_are_not_delivered():
    anna, kenji = UserFactory(), UserFactory()
    cookie = _session_cookie(anna)

    async def scenario() -> None:
        socket = await _listening(cookie)

        await sync_to_async(_send_then_roll_back)(anna.pk)
        await sync_to_async(_send_after_commit)(kenji.pk, "order.paid", {"order": 2})
        assert await socket.receive_nothing(timeout=0.5)

        await sync_to_async(_send_after_commit)(anna.pk, "order.shipped", {"order": 3})
        assert (await socket.receive_json_from(timeout=5))["event"] == "order.shipped"
        await socket.disconnect()

    run(scenario)


def test_every_open_socket_of_a_user_gets_the_event():
    anna = UserFactory()
    cookie = _session_cookie(anna)

    async def scenario() -> None:
        phone, laptop = _socket(ORIGIN, cookie), _socket(ORIGIN, cookie)
        for socket in (phone, laptop):
            assert (await socket.connect(timeout=5))[0]
            await socket.receive_json_from(timeout=5)

        await sync_to_async(_send_after_commit)(anna.pk, "follow", {"by": "kenji"})

        for socket in (phone, laptop):
            assert await socket.receive_json_from(timeout=5) == {"event": "follow", "payload": {"by": "kenji"}}
            await socket.disconnect()

    run(scenario)


def test_unknown_messages_from_the_browser_are_ignored():
    cookie = _session_cookie(UserFactory())

    async def scenario() -> None:
        socket = await _listening(cookie)

        await socket.send_json_to({"event": "subscribe", "payload": {"user": 1}})
        await socket.send_json_to(["not", "an", "object"])
        assert await socket.receive_nothing(timeout=0.3)
        await socket.send_json_to({"event": "ping"})
        assert (await socket.receive_json_from(timeout=5))["event"] == "pong"
        await socket.disconnect()

    run(scenario)

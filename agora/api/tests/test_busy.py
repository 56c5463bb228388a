"""A database that cannot serve in time (no free pooled connection during a burst, a deadlock victim) answers
503 with Retry-After: the transaction was rolled back, so the client can retry. Never a 500."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from agora.groupbuy import selectors

pytestmark = pytest.mark.django_db


def _busy(*args: object, **kwargs: object) -> None:
    raise OperationalError("couldn't get a connection after 10.00 sec")


def test_the_api_says_busy_and_when_to_retry(client, monkeypatch):
    monkeypatch.setattr(selectors, "live_deals", _busy)

    response = client.get("/api/v1/group-deals")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "busy" and "Try again" in response.json()["detail"]


def test_a_page_says_busy_and_when_to_retry(client, monkeypatch):
    monkeypatch.setattr(selectors, "live_deals", _busy)

    response = client.get("/deals/")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "Try again in a moment" in response.content.decode()

"""Fixtures of the feed tests: the database feed by default, Redis timelines on request (skipped without REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis


def _drop_own_keys(prefix: str) -> None:
    # A client of its own: a test may have pointed REDIS_URL elsewhere (Redis down) by the time this runs.
    conn = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(conn.scan_iter(match=f"{prefix}:feed:*", count=1000))
    if keys:
        conn.delete(*keys)


@pytest.fixture(autouse=True)
def _database_feed(settings: Any) -> None:
    settings.AGORA_FEED_BACKEND = "database"
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 10_000
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 10_000
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 10_000


@pytest.fixture
def redis_feed(settings: Any) -> Iterator[None]:
    """Redis timelines on (fan-out through the signals too). Needs REDIS_URL, e.g.
    ``REDIS_URL=redis://127.0.0.1:6379/11 AGORA_CACHE_PREFIX=feedtest``; only this prefix's feed keys are touched."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("Redis timelines need REDIS_URL (e.g. redis://127.0.0.1:6379/11 with AGORA_CACHE_PREFIX=feedtest)")
    settings.AGORA_FEED_BACKEND = "redis"
    prefix = f"{os.environ.get('AGORA_CACHE_PREFIX', 'agora')}-feedtests"
    settings.AGORA_FEED_KEY_PREFIX = prefix
    _drop_own_keys(prefix)
    yield
    _drop_own_keys(prefix)

"""Fixed-window rate limits kept in the cache (Redis when configured, so shared by all web processes)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.utils.translation import ngettext

from agora.core.errors import RateLimited


def _key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}"


def attempts(scope: str, identity: str) -> int:
    return int(cache.get(_key(scope, identity), 0))


def hit(scope: str, identity: str, *, limit: int, window: int) -> None:
    """Count one attempt; raise RateLimited once ``limit`` attempts were made inside ``window`` seconds."""
    key = _key(scope, identity)
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit:
        minutes = window // 60 or 1
        raise RateLimited(
            ngettext(
                "Too many attempts. Wait %(minutes)d minute and try again.",
                "Too many attempts. Wait %(minutes)d minutes and try again.",
                minutes,
            )
            % {"minutes": minutes},
            retry_after=window,
        )


def reset(scope: str, identity: str) -> None:
    cache.delete(_key(scope, identity))

"""Celery tasks of the feed: fan-out on write into Redis timelines, and the periodic trending snapshot.

Enqueued after commit by ``agora.feed.receivers``; in embedded mode and tests they run eagerly. Redis hiccups are
retried with back-off: every task is idempotent (adding or removing the same entry twice changes nothing).
"""

from __future__ import annotations

from celery import shared_task
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agora.feed import services, trending

RETRY = {
    "autoretry_for": (RedisConnectionError, RedisTimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
    "ignore_result": True,
}


@shared_task(name="feed.fanout_post", **RETRY)
def fanout_post(post_id: int) -> int:
    return services.fanout_post(post_id=post_id)


@shared_task(name="feed.retract_post", **RETRY)
def retract_post(post_id: int) -> None:
    services.retract_post(post_id=post_id)


@shared_task(name="feed.backfill_follow", **RETRY)
def backfill_follow(follower_id: int, target_user_id: int | None, target_shop_id: int | None) -> int:
    return services.backfill_follow(
        follower_id=follower_id, target_user_id=target_user_id, target_shop_id=target_shop_id
    )


@shared_task(name="feed.drop_source", **RETRY)
def drop_source(follower_id: int, target_user_id: int | None, target_shop_id: int | None) -> int:
    return services.drop_source(follower_id=follower_id, target_user_id=target_user_id, target_shop_id=target_shop_id)


@shared_task(name="feed.drop_blocked", **RETRY)
def drop_blocked(blocker_id: int, blocked_id: int) -> None:
    services.drop_blocked(blocker_id=blocker_id, blocked_id=blocked_id)


@shared_task(name="feed.refresh_trending", ignore_result=True)
def refresh_trending() -> int:
    """Recomputes the trending snapshot into the cache; returns how many posts scored."""
    return len(trending.refresh().posts)

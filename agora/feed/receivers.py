"""Listens to agora.social's signals and enqueues the timeline writes after the social write commits.

Only when Redis timelines are in use (``AGORA_FEED_BACKEND`` resolves to "redis"): the database feed needs no
fan-out. ``robust`` on_commit: a broker that is down must not turn a committed post into an error page; the read
path still shows the post (it is checked against the database), at worst from the database.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agora.feed import tasks
from agora.feed.backends import timelines_enabled
from agora.social import signals


def _later(task: Any, *args: Any) -> None:
    if timelines_enabled():
        transaction.on_commit(lambda: task.delay(*args), robust=True)


def on_post_published(sender: Any, post: Any, **kwargs: Any) -> None:
    _later(tasks.fanout_post, post.pk)


def on_post_removed(sender: Any, post: Any, **kwargs: Any) -> None:
    _later(tasks.retract_post, post.pk)


def on_follow_started(
    sender: Any, follower_id: int, target_user_id: int | None = None, target_shop_id: int | None = None, **kwargs: Any
) -> None:
    _later(tasks.backfill_follow, follower_id, target_user_id, target_shop_id)


def on_follow_ended(
    sender: Any, follower_id: int, target_user_id: int | None = None, target_shop_id: int | None = None, **kwargs: Any
) -> None:
    _later(tasks.drop_source, follower_id, target_user_id, target_shop_id)


def on_user_blocked(sender: Any, blocker_id: int, blocked_id: int, **kwargs: Any) -> None:
    _later(tasks.drop_blocked, blocker_id, blocked_id)


def connect() -> None:
    signals.post_published.connect(on_post_published, dispatch_uid="feed.post_published")
    signals.post_removed.connect(on_post_removed, dispatch_uid="feed.post_removed")
    signals.follow_started.connect(on_follow_started, dispatch_uid="feed.follow_started")
    signals.follow_ended.connect(on_follow_ended, dispatch_uid="feed.follow_ended")
    signals.user_blocked.connect(on_user_blocked, dispatch_uid="feed.user_blocked")

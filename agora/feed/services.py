"""Writes to the Redis timelines (fan-out on write). Celery tasks in ``agora.feed.tasks`` call these after the
social write that caused them has committed (see ``agora.feed.receivers``).

Each function re-reads the database when it runs rather than trusting what the signal said, because tasks may run
late or out of order: a post deleted before its fan-out ran is not fanned out, a follow that was undone before its
backfill ran is not backfilled, an unfollow that was followed again is not applied. Whatever slips through is still
filtered when the feed is read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import chain

from django.conf import settings
from django.db.models import QuerySet

from agora.feed import timeline
from agora.feed.backends import warm_timeline
from agora.social.models import Follow, Post

logger = logging.getLogger(__name__)


def _followers(*, author_id: int, shop_id: int | None) -> Iterator[int]:
    follows = (
        Follow.objects.filter(target_shop_id=shop_id) if shop_id else Follow.objects.filter(target_user_id=author_id)
    )
    # Streamed: a shop with a million followers must not become one list in memory.
    return (
        follows.order_by().values_list("follower_id", flat=True).iterator(chunk_size=settings.AGORA_FEED_FANOUT_CHUNK)
    )


def _entry(post_id: int, *, live_only: bool) -> tuple[timeline.Entry, int, int | None] | None:
    """The post's timeline entry, author and shop (None when it does not exist, or is not live and must be)."""
    posts = Post.objects.filter(pk=post_id)
    if live_only:
        posts = posts.filter(hidden_at__isnull=True, deleted_at__isnull=True)
    row = posts.values_list("created_at", "author_id", "shop_id").first()
    if row is None:
        return None
    created_at, author_id, shop_id = row
    entry = timeline.entry_for(post_id=post_id, created_at=created_at, author_id=author_id, shop_id=shop_id)
    return entry, author_id, shop_id


def fanout_post(*, post_id: int) -> int:
    """Pushes a new post into the warm timelines of its source's followers and of its author; returns how many
    timelines received it (cold ones are skipped: they are built from the database when next read)."""
    found = _entry(post_id, live_only=True)
    if found is None:
        return 0
    entry, author_id, shop_id = found
    return timeline.push_to_many(chain([author_id], _followers(author_id=author_id, shop_id=shop_id)), entry)


def retract_post(*, post_id: int) -> None:
    """Removes a deleted or hidden post from the timelines it was fanned out to."""
    found = _entry(post_id, live_only=False)
    if found is None:
        return
    entry, author_id, shop_id = found
    timeline.remove_from_many(chain([author_id], _followers(author_id=author_id, shop_id=shop_id)), entry)


def _source_posts(*, target_user_id: int | None, target_shop_id: int | None) -> QuerySet[Post]:
    posts = Post.objects.filter(hidden_at__isnull=True, deleted_at__isnull=True)
    if target_shop_id:
        return posts.filter(shop_id=target_shop_id)
    return posts.filter(author_id=target_user_id, shop__isnull=True)


def backfill_follow(*, follower_id: int, target_user_id: int | None, target_shop_id: int | None) -> int:
    """After a follow: the followed account's recent posts go into the follower's timeline (if it is warm).

    At most ``AGORA_TIMELINE_LENGTH`` posts; when the account has more, the timeline's floor rises to the oldest
    one added, so that a read past it continues from the database instead of skipping older posts.
    """
    follows = Follow.objects.filter(follower_id=follower_id)
    follows = (
        follows.filter(target_shop_id=target_shop_id)
        if target_shop_id
        else follows.filter(target_user_id=target_user_id)
    )
    if not follows.exists():
        return 0
    length = settings.AGORA_TIMELINE_LENGTH
    rows = list(
        _source_posts(target_user_id=target_user_id, target_shop_id=target_shop_id)
        .order_by("-created_at", "-id")
        .values_list("id", "created_at", "author_id", "shop_id")[:length]
    )
    entries = [
        timeline.entry_for(post_id=pk, created_at=created_at, author_id=author_id, shop_id=shop_id)
        for pk, created_at, author_id, shop_id in rows
    ]
    floor = entries[-1].score if len(entries) >= length else 0
    return timeline.add_entries(follower_id, entries, floor_at_least=floor)


def drop_source(*, follower_id: int, target_user_id: int | None, target_shop_id: int | None) -> int:
    """After an unfollow: the account's posts leave the former follower's timeline (unless they follow again)."""
    follows = Follow.objects.filter(follower_id=follower_id)
    if target_shop_id:
        if follows.filter(target_shop_id=target_shop_id).exists():
            return 0
        removed = timeline.remove_source(follower_id, timeline.source_of(author_id=0, shop_id=target_shop_id))
        # Their own posts for that shop stay in their feed (one's own posts always do).
        own = _source_posts(target_user_id=None, target_shop_id=target_shop_id).filter(author_id=follower_id)
        entries = [
            timeline.entry_for(post_id=pk, created_at=created_at, author_id=follower_id, shop_id=target_shop_id)
            for pk, created_at in own.order_by("-created_at", "-id").values_list("id", "created_at")[
                : settings.AGORA_TIMELINE_LENGTH
            ]
        ]
        if entries:
            timeline.add_entries(follower_id, entries)
        return removed
    if target_user_id is None or follows.filter(target_user_id=target_user_id).exists():
        return 0
    return timeline.remove_source(follower_id, timeline.source_of(author_id=target_user_id, shop_id=None))


def drop_blocked(*, blocker_id: int, blocked_id: int) -> None:
    """After a block: each one's posts leave the other's timeline (the follows were removed too; this also covers
    a follow-ended task that has not run yet)."""
    timeline.remove_source(blocker_id, timeline.source_of(author_id=blocked_id, shop_id=None))
    timeline.remove_source(blocked_id, timeline.source_of(author_id=blocker_id, shop_id=None))


def warm(*, user_id: int) -> bool:
    """Builds a cold timeline now (the read path does this by itself; exposed for tasks and the benchmark)."""
    return warm_timeline(user_id)

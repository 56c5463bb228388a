"""The home feed behind one interface, in two implementations that give the same pages for the same data.

A viewer's home feed is every post (and repost) by the people and shops they follow with an approved follow, plus
their own posts, that they may see (``agora.social.selectors.visible_posts``: no blocked, private, hidden or deleted
content), newest first, paginated by an opaque cursor over ``(created_at, id)``.

- ``DatabaseFeed`` reads it from the database at every request (fan-out on read). Embedded mode uses it.
- ``RedisTimelineFeed`` reads the ids from the viewer's Redis timeline, filled when posts are published (fan-out on
  write, ``agora.feed.services`` run by Celery tasks), and checks them against the same database filter before
  showing them, so a post that was deleted, hidden or blocked since it was fanned out never shows. A cold timeline
  (never read, or expired) is answered from the database and warmed; past the timeline's floor (it keeps
  ``AGORA_TIMELINE_LENGTH`` entries) the read continues from the database where Redis stops.

``get_backend()`` picks one from ``AGORA_FEED_BACKEND`` ("auto", "database" or "redis").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.feed import timeline
from agora.feed.errors import CursorInvalid, FeedBackendUnknown
from agora.social.models import Follow, Post
from agora.social.selectors import visible_posts, with_post_data

logger = logging.getLogger(__name__)

Viewer = User | AnonymousUser | None
MAX_ID = 2**63 - 1
BACKENDS = ("database", "redis")
# Extra timeline entries read with each page, so that a few hidden ones do not cost a second round trip.
READ_SLACK = 5
MAX_READ_BATCH = 500


# --- cursors -------------------------------------------------------------------------
class Cursor(NamedTuple):
    """A position in a newest-first list: items strictly older than (created_at, id) come next."""

    created_at: dt.datetime
    post_id: int

    @property
    def score(self) -> int:
        return timeline.to_score(self.created_at)


def encode_cursor(created_at: dt.datetime, post_id: int) -> str:
    """The opaque ``cursor`` a client sends back for the next page."""
    raw = f"{timeline.to_score(created_at)}.{post_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Cursor | None:
    """The position in ``cursor``, or None for the first page. A cursor that is not ours is a 422."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        score_text, id_text = raw.split(".")
        score, post_id = int(score_text), int(id_text)
        if not (0 <= score < 2**53 and 0 < post_id <= MAX_ID):
            raise ValueError(raw)
        return Cursor(timeline.from_score(score), post_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise CursorInvalid(
            _("This cursor is not valid: send back the next_cursor of the previous page, or none for the first."),
            field="cursor",
        ) from None


def older_than(cursor: Cursor | None, *, prefix: str = "") -> Q:
    """Rows after ``cursor`` in newest-first order (an empty Q for the first page)."""
    if cursor is None:
        return Q()
    return Q(**{f"{prefix}created_at__lt": cursor.created_at}) | Q(
        **{f"{prefix}created_at": cursor.created_at, f"{prefix}id__lt": cursor.post_id}
    )


# --- pages ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedPage:
    """One page of a feed: posts with their card data (``with_post_data``), and the cursor of the next page
    (None on the last page)."""

    items: list[Post]
    next_cursor: str | None


def hydrate(viewer: Viewer, post_ids: list[int]) -> list[Post]:
    """The posts with these ids, in this order, with what a post card shows (a fixed number of queries)."""
    if not post_ids:
        return []
    by_id = {post.pk: post for post in with_post_data(Post.objects.filter(pk__in=post_ids), viewer)}
    return [by_id[pk] for pk in post_ids if pk in by_id]


def page_of(posts: list[Post], limit: int) -> FeedPage:
    """A page from up to ``limit + 1`` posts in order: the extra one only says that there is a next page."""
    shown = posts[:limit]
    next_cursor = encode_cursor(shown[-1].created_at, shown[-1].pk) if len(posts) > limit and shown else None
    return FeedPage(items=shown, next_cursor=next_cursor)


# --- what the feed is made of --------------------------------------------------------
def _signed_in(viewer: Viewer) -> User | None:
    return viewer if isinstance(viewer, User) and viewer.is_authenticated else None


def followed_sources(user_id: int) -> Q:
    """Posts by the people and shops ``user_id`` follows (approved follows only), and their own posts."""
    users = Follow.objects.filter(follower_id=user_id, target_user__isnull=False).values("target_user_id")
    shops = Follow.objects.filter(follower_id=user_id, target_shop__isnull=False).values("target_shop_id")
    return Q(shop__isnull=True, author_id__in=users) | Q(shop_id__in=shops) | Q(author_id=user_id)


def feed_posts(user: User) -> QuerySet[Post]:
    """Every post of ``user``'s home feed, unordered: followed sources, through the privacy rules."""
    return visible_posts(user, Post.objects.filter(followed_sources(user.pk)))


def timeline_rows(user_id: int, count: int) -> list[tuple[int, dt.datetime, int, int | None]]:
    """The newest ``count`` live posts of a user's followed sources, newest first, as (id, created_at, author_id,
    shop_id): what a timeline is warmed with. Viewer-specific privacy is left to the read, which checks it anyway."""
    posts = Post.objects.filter(followed_sources(user_id), hidden_at__isnull=True, deleted_at__isnull=True)
    return list(posts.order_by("-created_at", "-id").values_list("id", "created_at", "author_id", "shop_id")[:count])


# --- the interface -------------------------------------------------------------------
class FeedBackend(ABC):
    name: str

    @abstractmethod
    def home_feed(self, viewer: Viewer, *, cursor: str | None, limit: int) -> FeedPage:
        """One page of ``viewer``'s home feed, newest first, after ``cursor`` (None: the first page).

        An anonymous viewer has an empty feed. A cursor that is not one of ours raises ``CursorInvalid`` (422).
        """


class DatabaseFeed(FeedBackend):
    """Fan-out on read: one indexed query over the posts of the followed sources (plus the card data's prefetches)."""

    name = "database"

    def home_feed(self, viewer: Viewer, *, cursor: str | None, limit: int) -> FeedPage:
        position = decode_cursor(cursor)
        user = _signed_in(viewer)
        if user is None:
            return FeedPage(items=[], next_cursor=None)
        return page_of(self.posts(user, before=position, count=limit + 1), limit)

    def posts(self, user: User, *, before: Cursor | None, count: int) -> list[Post]:
        """The next ``count`` posts of the feed after ``before``, with their card data."""
        if count <= 0:
            return []
        posts = feed_posts(user).filter(older_than(before)).order_by("-created_at", "-id")
        return list(with_post_data(posts, user)[:count])


class RedisTimelineFeed(FeedBackend):
    """Fan-out on write: ids from the viewer's Redis timeline, loaded through the database filter (so a post hidden,
    deleted or blocked since it was fanned out never shows) in the same query that loads their card data."""

    name = "redis"

    def __init__(self) -> None:
        self.database = DatabaseFeed()

    def home_feed(self, viewer: Viewer, *, cursor: str | None, limit: int) -> FeedPage:
        position = decode_cursor(cursor)
        user = _signed_in(viewer)
        if user is None:
            return FeedPage(items=[], next_cursor=None)
        try:
            posts = self.posts(user, before=position, count=limit + 1)
        except (redis.RedisError, timeline.TimelineUnavailable):
            # A feed from the database is slower but right; no feed at all would be wrong.
            logger.warning("Redis timeline of user %s unavailable; reading the feed from the database", user.pk)
            posts = self.database.posts(user, before=position, count=limit + 1)
        return page_of(posts, limit)

    def _checked(self, user: User, post_ids: list[int]) -> list[Post]:
        """The posts of ``post_ids`` still in the feed and visible, in that order, with their card data."""
        by_id = {post.pk: post for post in with_post_data(feed_posts(user).filter(pk__in=post_ids), user)}
        return [by_id[pk] for pk in post_ids if pk in by_id]

    def posts(self, user: User, *, before: Cursor | None, count: int) -> list[Post]:
        """The next ``count`` posts of the feed after ``before``: from the timeline, then from the database below
        its floor, or all from the database when the timeline is cold (which warms it)."""
        found: list[Post] = []
        offset = 0
        batch = count + READ_SLACK
        while True:
            state, entries = timeline.read(
                user.pk, max_score=before.score if before else None, offset=offset, count=batch, refresh=offset == 0
            )
            if state is None or not state.ready:
                # Cold, being warmed, or expired under our feet: the database from where we are.
                start = Cursor(found[-1].created_at, found[-1].pk) if found else before
                found += self.database.posts(user, before=start, count=count - len(found))
                if state is None:
                    warm_timeline(user.pk)
                return found
            offset += len(entries)
            candidates = [
                entry.post_id
                for entry in entries
                if entry.score > state.floor and (before is None or (entry.score, entry.post_id) < before_key(before))
            ]
            # Usually one slice: the entries still visible fill the page. Entries hidden since they were fanned
            # out only cost another slice.
            while candidates and len(found) < count:
                take = count - len(found) + READ_SLACK
                found += self._checked(user, candidates[:take])
                candidates = candidates[take:]
            if len(found) >= count:
                return found[:count]
            if len(entries) < batch:
                break
            batch = min(batch * 2, MAX_READ_BATCH)
        if state.floor > 0:
            # Redis holds everything above its floor, and that has been read: the rest comes from the database.
            floor_position = (state.floor, MAX_ID)
            score, post_id = min(before_key(before), floor_position) if before else floor_position
            found += self.database.posts(
                user, before=Cursor(timeline.from_score(score), post_id), count=count - len(found)
            )
        return found


def before_key(cursor: Cursor) -> tuple[int, int]:
    return (cursor.score, cursor.post_id)


def warm_timeline(user_id: int) -> bool:
    """Fills a cold timeline with the newest ``AGORA_TIMELINE_LENGTH`` posts of the feed; False if it was not cold
    (or another process is warming it)."""
    if not timeline.begin_warming(user_id):
        return False
    length = settings.AGORA_TIMELINE_LENGTH
    rows = timeline_rows(user_id, length)
    entries = [
        timeline.entry_for(post_id=pk, created_at=created_at, author_id=author_id, shop_id=shop_id)
        for pk, created_at, author_id, shop_id in rows
    ]
    # Fewer rows than asked for: that is the whole feed. Otherwise older posts stay in the database.
    floor = entries[-1].score if len(entries) >= length else 0
    timeline.finish_warming(user_id, entries, floor=floor)
    return True


# --- choosing ------------------------------------------------------------------------
def backend_name(name: str | None = None) -> str:
    """The backend ``name`` (default: ``AGORA_FEED_BACKEND``) stands for: "auto" is "redis" when REDIS_URL is set."""
    chosen = (name or settings.AGORA_FEED_BACKEND or "auto").strip().lower()
    if chosen == "auto":
        return "redis" if settings.REDIS_URL else "database"
    if chosen not in BACKENDS:
        raise FeedBackendUnknown(
            _("Unknown feed backend %(name)s: use auto, database or redis.") % {"name": chosen}, field="backend"
        )
    if chosen == "redis" and not settings.REDIS_URL:
        raise ImproperlyConfigured("AGORA_FEED_BACKEND=redis needs REDIS_URL")
    return chosen


def get_backend(name: str | None = None) -> FeedBackend:
    """The feed backend to use (``AGORA_FEED_BACKEND`` unless ``name`` says otherwise)."""
    return RedisTimelineFeed() if backend_name(name) == "redis" else DatabaseFeed()


def timelines_enabled() -> bool:
    """Whether posts and follows must be fanned out into Redis timelines."""
    return backend_name() == "redis"

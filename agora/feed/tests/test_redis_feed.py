"""Redis timelines end to end: the social services' signals fan posts out, backfill, remove; reads re-check privacy
and fall back to the database when a timeline is cold, past its floor, or Redis is down.

Needs REDIS_URL (skipped otherwise): ``REDIS_URL=redis://127.0.0.1:6379/11 AGORA_CACHE_PREFIX=feedtest``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agora.feed import timeline
from agora.feed.backends import DatabaseFeed, RedisTimelineFeed, get_backend
from agora.feed.selectors import home_feed
from agora.feed.tests import factories as f
from agora.shops.tests.factories import shop_with_owner
from agora.social import services as social

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_feed")]
T0 = timezone.now() - dt.timedelta(days=1)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def feed_ids(viewer, limit: int = 50) -> list[int]:
    return [p.pk for p in RedisTimelineFeed().home_feed(viewer, cursor=None, limit=limit).items]


def in_timeline(user) -> list[int]:
    _state, entries = timeline.read(user.pk, max_score=None, offset=0, count=1000, refresh=False)
    return [e.post_id for e in entries]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs a service and then what it enqueued after commit (the eager Celery tasks)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_auto_backend_is_redis_when_redis_url_is_set(settings) -> None:
    settings.AGORA_FEED_BACKEND = "auto"
    assert isinstance(get_backend(), RedisTimelineFeed)
    settings.REDIS_URL = ""
    assert isinstance(get_backend(), DatabaseFeed)


def test_cold_timeline_reads_the_database_then_is_warm() -> None:
    me, a = f.user(), f.user()
    f.follow(me, a)
    posts = [f.post(a, at=at(i)).pk for i in range(3)]
    assert feed_ids(me) == posts[::-1]
    assert in_timeline(me) == posts[::-1]
    assert feed_ids(me) == posts[::-1]


def test_published_post_is_fanned_out_to_warm_followers_only(commit) -> None:
    author, warm, cold = f.user(), f.user(), f.user()
    commit(social.follow_user, actor=warm, target=author)
    commit(social.follow_user, actor=cold, target=author)
    feed_ids(warm)  # warms it
    feed_ids(author)
    post = commit(social.create_post, actor=author, text="new #thing")
    assert in_timeline(warm) == [post.pk]
    assert in_timeline(author) == [post.pk]  # one's own posts too
    assert not timeline.client().exists(timeline.state_key(cold.pk))
    assert feed_ids(cold) == [post.pk]  # from the database, and now warm


def test_shop_post_goes_to_shop_followers(commit) -> None:
    shop, owner = shop_with_owner()
    fan = f.user()
    commit(social.follow_shop, actor=fan, shop=shop)
    feed_ids(fan)
    post = commit(social.create_post, actor=owner, shop=shop, text="new in store")
    assert in_timeline(fan) == [post.pk]


def test_follow_backfills_and_unfollow_removes(commit) -> None:
    me, a, b = f.user(), f.user(), f.user()
    commit(social.follow_user, actor=me, target=b)
    b_post = f.post(b, at=at(0))
    a_posts = [f.post(a, at=at(i)).pk for i in range(1, 4)]
    feed_ids(me)
    commit(social.follow_user, actor=me, target=a)
    assert in_timeline(me) == [*a_posts[::-1], b_post.pk]
    commit(social.unfollow_user, actor=me, target=a)
    assert in_timeline(me) == [b_post.pk]
    assert feed_ids(me) == [b_post.pk]


def test_unfollowing_a_shop_keeps_ones_own_posts_for_it(commit) -> None:
    shop, owner = shop_with_owner()
    commit(social.follow_shop, actor=owner, shop=shop)
    feed_ids(owner)
    mine = commit(social.create_post, actor=owner, shop=shop, text="ours")
    other_staff_post = f.post(f.user(), shop=shop, at=at(1))
    commit(social.unfollow_shop, actor=owner, shop=shop)
    assert in_timeline(owner) == [mine.pk]
    assert feed_ids(owner) == [mine.pk]
    assert other_staff_post.pk not in feed_ids(owner)


def test_block_removes_both_ways(commit) -> None:
    me, other = f.user(), f.user()
    commit(social.follow_user, actor=me, target=other)
    commit(social.follow_user, actor=other, target=me)
    feed_ids(me)
    feed_ids(other)
    theirs = commit(social.create_post, actor=other, text="hi")
    mine = commit(social.create_post, actor=me, text="hello")
    assert theirs.pk in in_timeline(me) and mine.pk in in_timeline(other)
    commit(social.block_user, actor=me, target=other)
    assert in_timeline(me) == [mine.pk]
    assert in_timeline(other) == [theirs.pk]


def test_deleted_post_leaves_every_timeline(commit) -> None:
    author, fan = f.user(), f.user()
    commit(social.follow_user, actor=fan, target=author)
    feed_ids(fan)
    post = commit(social.create_post, actor=author, text="oops")
    assert in_timeline(fan) == [post.pk]
    commit(social.delete_post, actor=author, post=post)
    assert in_timeline(fan) == []


def test_privacy_is_checked_again_on_read() -> None:
    """Changes the timelines were never told about (a block written directly, a moderator's update, a closed
    account) still hide the posts at once."""
    me, a, b, c = f.user(), f.user(), f.user(), f.user()
    for other in (a, b, c):
        f.follow(me, other)
    pa, pb, pc = f.post(a, at=at(1)), f.post(b, at=at(2)), f.post(c, at=at(3))
    assert feed_ids(me) == [pc.pk, pb.pk, pa.pk]
    f.block(a, me)
    pb.hidden_at = timezone.now()
    pb.save()
    c.is_active = False
    c.save()
    assert in_timeline(me) == [pc.pk, pb.pk, pa.pk]  # still there...
    assert feed_ids(me) == []  # ...never shown


def test_past_the_floor_the_read_continues_from_the_database(settings) -> None:
    settings.AGORA_TIMELINE_LENGTH = 4
    me, a = f.user(), f.user()
    f.follow(me, a)
    posts = [f.post(a, at=at(i)).pk for i in range(10)][::-1]
    feed_ids(me)  # warms with the newest 4 (floor at the 4th)
    assert len(in_timeline(me)) == 3
    pages, cursor = [], None
    while True:
        page = RedisTimelineFeed().home_feed(me, cursor=cursor, limit=3)
        pages += [p.pk for p in page.items]
        if not (cursor := page.next_cursor):
            break
    assert pages == posts


def test_redis_down_falls_back_to_the_database(settings) -> None:
    me, a = f.user(), f.user()
    f.follow(me, a)
    post = f.post(a, at=at(1))
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert [p.pk for p in home_feed(me).items] == [post.pk]


def test_fan_out_skips_a_post_removed_before_the_task_ran() -> None:
    from agora.feed import services

    author, fan = f.user(), f.user()
    f.follow(fan, author)
    feed_ids(fan)
    post = f.post(author, at=at(5), deleted_at=timezone.now())
    assert services.fanout_post(post_id=post.pk) == 0
    assert in_timeline(fan) == []


def test_late_unfollow_task_after_a_new_follow_does_nothing() -> None:
    from agora.feed import services

    me, a = f.user(), f.user()
    f.follow(me, a)
    post = f.post(a, at=at(1))
    feed_ids(me)
    assert services.drop_source(follower_id=me.pk, target_user_id=a.pk, target_shop_id=None) == 0
    assert in_timeline(me) == [post.pk]


def test_backfill_of_a_prolific_account_leaves_no_gap(settings, commit) -> None:
    """The followed account has more posts than a timeline holds: the backfill takes its newest ones and raises the
    floor to the oldest of them, so that older posts (theirs and others') come from the database, none skipped."""
    settings.AGORA_TIMELINE_LENGTH = 4
    me, a, b = f.user(), f.user(), f.user()
    f.follow(me, b)
    b_posts = [f.post(b, at=at(i)).pk for i in range(3)]
    a_posts = [f.post(a, at=at(i)).pk for i in range(3, 13)]
    feed_ids(me)  # warm: b's three posts, complete
    commit(social.follow_user, actor=me, target=a)
    expected = [*a_posts[::-1], *b_posts[::-1]]
    assert feed_ids(me) == expected
    assert [p.pk for p in DatabaseFeed().home_feed(me, cursor=None, limit=50).items] == expected


def test_timelines_command() -> None:
    from io import StringIO

    from django.core.management import call_command

    me, a = f.user(), f.user()
    f.follow(me, a)
    f.post(a, at=at(1))
    out = StringIO()
    call_command("feed_timelines", "warm", "--user", me.username, stdout=out)
    call_command("feed_timelines", "stats", stdout=out)
    assert "1 entries" in out.getvalue() and "1 timelines" in out.getvalue()
    call_command("feed_timelines", "forget", stdout=out)
    assert timeline.read(me.pk, max_score=None, offset=0, count=1, refresh=False) == (None, [])

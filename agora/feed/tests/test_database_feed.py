"""The home feed from the database (fan-out on read): what it contains, its order and cursor, privacy, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from agora.feed.backends import DatabaseFeed, decode_cursor, encode_cursor
from agora.feed.errors import CursorInvalid
from agora.feed.selectors import home_feed
from agora.feed.tests import factories as f
from agora.shops.tests.factories import shop_with_owner
from agora.social.models import FollowRequest, Post

pytestmark = pytest.mark.django_db
T0 = timezone.now() - dt.timedelta(days=1)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def all_pages(viewer, *, limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = DatabaseFeed().home_feed(viewer, cursor=cursor, limit=limit)
        pages.append([p.pk for p in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_feed_has_followed_people_and_shops_reposts_and_own_posts_newest_first() -> None:
    me, friend, stranger = f.user(), f.user(), f.user()
    shop, owner = shop_with_owner()
    f.follow(me, friend)
    f.follow(me, shop)
    mine = f.post(me, at=at(1))
    friends = f.post(friend, at=at(2))
    shops = f.post(owner, shop=shop, at=at(3))
    f.post(stranger, at=at(4))  # not followed
    f.post(owner, at=at(5))  # the shop's owner as a person: not followed
    repost = f.post(friend, repost_of=f.post(stranger, at=at(0)), text="look", at=at(6))

    page = home_feed(me)

    assert [p.pk for p in page.items] == [repost.pk, shops.pk, friends.pk, mine.pk]
    assert page.next_cursor is None
    assert page.items[0].repost_of is not None  # card data came with it


def test_cursor_walks_every_post_once_even_with_equal_times() -> None:
    me, a, b = f.user(), f.user(), f.user()
    f.follow(me, a)
    f.follow(me, b)
    for i in range(7):
        # Pairs of posts at the same microsecond: the id breaks the tie.
        f.post(a, at=at(i))
        f.post(b, at=at(i))

    pages = all_pages(me, limit=3)

    flat = [pk for page in pages for pk in page]
    assert len(flat) == 14 and len(set(flat)) == 14
    assert [len(p) for p in pages] == [3, 3, 3, 3, 2]
    order = list(Post.objects.filter(pk__in=flat).order_by("-created_at", "-id").values_list("pk", flat=True))
    assert flat == order


def test_last_full_page_has_no_next_cursor() -> None:
    me, a = f.user(), f.user()
    f.follow(me, a)
    for i in range(4):
        f.post(a, at=at(i))
    assert [len(p) for p in all_pages(me, limit=2)] == [2, 2]


def test_cursor_round_trip_and_bad_cursors() -> None:
    moment = dt.datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)
    assert decode_cursor(None) is None
    for bad in ["nope", "MTIz", encode_cursor(moment, 1)[:-2] + "!!", "LTEuNQ"]:
        with pytest.raises(CursorInvalid):
            decode_cursor(bad)


def test_anonymous_feed_is_empty() -> None:
    assert home_feed(AnonymousUser()).items == []


def test_private_account_posts_only_for_approved_followers() -> None:
    me, private, follower = f.user(), f.user(is_private=True), f.user()
    hidden = f.post(private, at=at(1))
    f.follow(follower, private)  # an approved follow
    FollowRequest.objects.create(requester=me, target=private)  # pending: not a follow

    assert home_feed(me).items == []
    assert [p.pk for p in home_feed(follower).items] == [hidden.pk]
    assert [p.pk for p in home_feed(private).items] == [hidden.pk]  # one's own


def test_blocks_either_way_hide_posts_and_reposts_of_them() -> None:
    me, blocked_by_me, blocker, friend = f.user(), f.user(), f.user(), f.user()
    f.follow(me, friend)
    # Follows are ended by the block (the social service does it); here we check what the read filter does.
    f.block(me, blocked_by_me)
    f.block(blocker, me)
    f.post(friend, repost_of=f.post(blocked_by_me, at=at(1)), at=at(2))
    f.post(friend, repost_of=f.post(blocker, at=at(3)), at=at(4))
    fine = f.post(friend, at=at(5))

    assert [p.pk for p in home_feed(me).items] == [fine.pk]


def test_removed_posts_and_closed_accounts_never_show() -> None:
    me, a, gone = f.user(), f.user(), f.user()
    shop, owner = shop_with_owner()
    f.follow(me, a)
    f.follow(me, gone)
    f.follow(me, shop)
    f.post(a, at=at(1), deleted_at=timezone.now())
    f.post(a, at=at(2), hidden_at=timezone.now())
    original = f.post(a, at=at(3))
    f.post(gone, at=at(4))
    shop_post = f.post(owner, shop=shop, at=at(5))
    gone.is_active = False
    gone.save()
    assert {p.pk for p in home_feed(me).items} == {original.pk, shop_post.pk}
    shop.is_active = False
    shop.save()
    assert [p.pk for p in home_feed(me).items] == [original.pk]


def test_repost_of_a_removed_original_disappears() -> None:
    me, friend, other = f.user(), f.user(), f.user()
    f.follow(me, friend)
    original = f.post(other, at=at(1))
    f.post(friend, repost_of=original, at=at(2))
    assert len(home_feed(me).items) == 1
    original.deleted_at = timezone.now()
    original.save()
    assert home_feed(me).items == []


def test_page_size_is_bounded(settings) -> None:
    settings.AGORA_FEED_MAX_PAGE_SIZE = 5
    me, a = f.user(), f.user()
    f.follow(me, a)
    for i in range(8):
        f.post(a, at=at(i))
    assert len(home_feed(me, limit=100).items) == 5
    assert len(home_feed(me, limit=0).items) == 5  # 0 means the default, itself capped


def _world(authors: int, posts_each: int):
    me = f.user()
    shop, owner = shop_with_owner()
    f.follow(me, shop)
    for i in range(authors):
        author = f.user()
        f.follow(me, author)
        for j in range(posts_each):
            post = f.post(author, at=at(i * posts_each + j), text=f"#tag{i} @{me.username}")
            if j == 0:
                f.post(author, repost_of=f.post(owner, shop=shop, at=at(j)), at=at(i + 1000))
            f.like(me, post)
    return me


@pytest.mark.parametrize("authors,posts_each", [(2, 2), (12, 6)])
def test_queries_do_not_grow_with_posts_or_authors(django_assert_max_num_queries, authors, posts_each) -> None:
    me = _world(authors, posts_each)
    with django_assert_max_num_queries(10):
        page = home_feed(me, limit=20)
        assert page.items
    with django_assert_max_num_queries(10):
        page = home_feed(me, cursor=page.next_cursor, limit=20)


def test_settings_are_checked_at_startup(settings) -> None:
    from agora.feed.checks import feed_settings

    assert feed_settings() == []
    settings.AGORA_FEED_BACKEND = "carrier-pigeon"
    assert [e.id for e in feed_settings()] == ["feed.E001"]
    settings.AGORA_FEED_BACKEND = "redis"
    settings.REDIS_URL = ""
    assert [e.id for e in feed_settings()] == ["feed.E002"]

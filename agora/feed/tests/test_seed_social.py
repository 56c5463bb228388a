"""`manage.py seed_social`: the benchmark's data, consistent with what the services would have written."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from agora.accounts.models import User
from agora.feed.selectors import home_feed
from agora.social.models import Follow, Like, Post, ShopStats, UserStats

pytestmark = pytest.mark.django_db

SMALL = {
    "users": 40,
    "posts": 600,
    "follows_per_user": 6,
    "shops": 3,
    "products_per_shop": 2,
    "reader_follows": 12,
    "star_followers": 25,
    "likes": 150,
    "verbosity": 0,
}


def test_seeds_a_consistent_graph() -> None:
    call_command("seed_social", **SMALL)

    reader, star = User.objects.get(username="feedreader"), User.objects.get(username="feedstar")
    assert User.objects.count() == 42
    assert Post.objects.count() == 600 and Like.objects.count() == 150
    assert Follow.objects.filter(follower=reader).count() == 12
    assert Follow.objects.filter(target_user=star).count() == 25
    assert reader.check_password("agora-seed")
    # The counters match the rows, as the services keep them.
    stats = UserStats.objects.get(user=reader)
    assert (stats.following_count, stats.followers_count) == (12, 0)
    assert UserStats.objects.get(user=star).followers_count == 25
    for row in Post.objects.filter(shop__isnull=True).values("author_id").annotate(n=Count("id"))[:10]:
        assert UserStats.objects.get(user_id=row["author_id"]).posts_count == row["n"]
    for stat in ShopStats.objects.all():
        assert stat.posts_count == Post.objects.filter(shop_id=stat.shop_id).count()
    liked = Post.objects.filter(likes_count__gt=0).first()
    assert liked is not None and liked.likes_count == Like.objects.filter(post=liked).count()
    # A repost never points at a repost, and nobody reposts the same post twice.
    assert not Post.objects.filter(repost_of__repost_of__isnull=False).exists()
    # New rows after the seed get fresh ids (the sequences were moved past the seeded ones).
    assert Post.objects.create(author=reader, text="after").pk > Post.objects.exclude(text="after").latest("pk").pk
    page = home_feed(reader, limit=20)
    assert len(page.items) == 20 and page.next_cursor


def test_if_empty_and_refusing_a_second_copy() -> None:
    call_command("seed_social", **SMALL)
    call_command("seed_social", **SMALL, if_empty=True)
    assert User.objects.filter(username="feedreader").count() == 1
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_social", **SMALL)


@pytest.mark.parametrize("bad", [{"users": 5}, {"follows_per_user": 40}, {"reader_follows": 1000}])
def test_bad_sizes_are_refused(bad) -> None:
    with pytest.raises(CommandError):
        call_command("seed_social", **{**SMALL, **bad})

"""Trending: the scoring (kinds, time decay, window, who may trend), products and categories, hashtags, the cached
snapshot and its periodic task, explore and the "popular on Agora" label."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from agora.catalog.models import ProductStatus
from agora.catalog.tests.factories import CategoryFactory, published_product
from agora.feed import selectors, tasks, trending
from agora.feed.tests import factories as f
from agora.shops.tests.factories import shop_with_owner
from agora.social.models import Comment, ProductTag, ShareLink

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def likes(post, n: int, *, hours: float = 0) -> None:
    for _ in range(n):
        f.like(f.user(), post, at=ago(hours))


def scores(snapshot: trending.Snapshot) -> dict[int, float]:
    return dict(snapshot.posts)


def test_decay_halves_every_half_life(settings) -> None:
    settings.AGORA_TRENDING_HALF_LIFE_HOURS = 24
    assert trending.decay(dt.timedelta(0)) == 1
    assert trending.decay(dt.timedelta(hours=24)) == pytest.approx(0.5)
    assert trending.decay(dt.timedelta(hours=48)) == pytest.approx(0.25)
    assert trending.decay(dt.timedelta(hours=-5)) == 1  # a clock a little ahead is "now", not a bonus


def test_newer_engagement_weighs_more_and_old_engagement_not_at_all(settings) -> None:
    settings.AGORA_TRENDING_HALF_LIFE_HOURS = 24
    settings.AGORA_TRENDING_WINDOW_DAYS = 3
    author = f.user()
    fresh, older, ancient = f.post(author), f.post(author), f.post(author)
    likes(fresh, 3, hours=0)
    likes(older, 3, hours=48)
    likes(ancient, 30, hours=24 * 4)  # outside the window

    found = scores(trending.compute(now=NOW))

    assert ancient.pk not in found
    assert found[fresh.pk] > found[older.pk]
    assert found[fresh.pk] / found[older.pk] == pytest.approx(4, rel=0.05)
    assert [pk for pk, _s in trending.compute(now=NOW).posts] == [fresh.pk, older.pk]


def test_kinds_have_their_weights_and_reposts_count_for_the_original(settings) -> None:
    settings.AGORA_TRENDING_WEIGHTS = {"like": 1.0, "comment": 2.0, "repost": 3.0, "share": 4.0, "purchase": 5.0}
    author, fan = f.user(), f.user()
    liked, commented, reposted, shared = (f.post(author) for _ in range(4))
    likes(liked, 1)
    Comment.objects.create(post=commented, author=fan, text="nice", created_at=NOW)
    Comment.objects.create(post=commented, author=fan, text="gone", created_at=NOW, deleted_at=NOW)
    repost = f.post(fan, repost_of=reposted, at=NOW)
    likes(repost, 1)  # a like on the repost is a like of the original
    ShareLink.objects.create(code="abc123", sharer=fan, post=shared, created_at=NOW)

    found = scores(trending.compute(now=NOW))

    assert found[liked.pk] == pytest.approx(1, rel=0.02)
    assert found[commented.pk] == pytest.approx(2, rel=0.02)
    assert found[reposted.pk] == pytest.approx(3 + 1, rel=0.02)
    assert found[shared.pk] == pytest.approx(4, rel=0.02)
    assert repost.pk not in found


def test_only_public_live_content_trends() -> None:
    public, private, closed = f.user(), f.user(is_private=True), f.user(is_active=False)
    shop, owner = shop_with_owner()
    ok, shop_post = f.post(public), f.post(owner, shop=shop)
    hidden = f.post(public, hidden_at=NOW)
    deleted = f.post(public, deleted_at=NOW)
    secret = f.post(private)
    by_closed = f.post(closed)
    for post in (ok, shop_post, hidden, deleted, secret, by_closed):
        likes(post, 2)
    assert set(scores(trending.compute(now=NOW))) == {ok.pk, shop_post.pk}


def test_products_score_from_tagging_posts_shares_and_purchases(settings, monkeypatch) -> None:
    settings.AGORA_TRENDING_WEIGHTS = {"like": 1.0, "comment": 2.0, "repost": 3.0, "share": 3.0, "purchase": 5.0}
    a, b, c, d = (published_product() for _ in range(4))
    draft = published_product(status=ProductStatus.DRAFT)
    post = f.post(f.user())
    for product in (a, b, draft):
        ProductTag.objects.create(post=post, product=product)
    likes(post, 6)  # 6 points, split three ways (the draft's share is simply not shown)
    ShareLink.objects.create(code="p1", sharer=f.user(), product=c, created_at=NOW)
    # Two units bought in the last 6 hours (the same count since every earlier moment).
    monkeypatch.setattr(trending, "purchase_counts", lambda since: {d.pk: 2})

    found = {pk: score for pk, score, _cat in trending.compute(now=NOW).products}

    assert found[a.pk] == pytest.approx(2, rel=0.02) and found[b.pk] == pytest.approx(2, rel=0.02)
    assert found[c.pk] == pytest.approx(3, rel=0.02)
    assert found[d.pk] == pytest.approx(2 * 5 * trending.decay(dt.timedelta(hours=3)), rel=0.02)
    assert draft.pk not in found


def test_purchase_hook_uses_the_orders_selector_when_there_is_one(monkeypatch) -> None:
    from agora.orders import selectors as orders_selectors

    since = NOW - dt.timedelta(days=1)
    counts = {since: {7: 3}}
    monkeypatch.setattr(orders_selectors, "recent_purchase_counts", lambda when: counts.get(when, {}), raising=False)
    assert trending.purchase_counts(since) == {7: 3}
    monkeypatch.delattr(orders_selectors, "recent_purchase_counts")
    assert trending.purchase_counts(since) == {}


def test_purchases_are_counted_in_age_bands(monkeypatch, settings) -> None:
    settings.AGORA_TRENDING_WEIGHTS = {**settings.AGORA_TRENDING_WEIGHTS, "purchase": 5.0}
    product = published_product()
    # 1 unit in the last 6 hours, 2 more between 6 and 24 hours ago, 4 more before that.
    cumulative = {6: 1, 24: 3, 72: 7}
    monkeypatch.setattr(
        trending, "purchase_counts", lambda since: {product.pk: cumulative[round((NOW - since).total_seconds() / 3600)]}
    )
    found = {pk: score for pk, score, _c in trending.compute(now=NOW).products}
    expected = 5 * (
        1 * trending.decay(dt.timedelta(hours=3))
        + 2 * trending.decay(dt.timedelta(hours=15))
        + 4 * trending.decay(dt.timedelta(hours=48))
    )
    assert found[product.pk] == pytest.approx(expected, rel=0.01)


def test_trending_products_by_category_includes_subcategories() -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    elsewhere = CategoryFactory()
    in_child, in_other = published_product(category=child), published_product(category=elsewhere)
    for product, n in ((in_child, 3), (in_other, 5)):
        post = f.post(f.user())
        ProductTag.objects.create(post=post, product=product)
        likes(post, n)
    assert [p.pk for p in selectors.trending_products()] == [in_other.pk, in_child.pk]
    assert [p.pk for p in selectors.trending_products(category=parent)] == [in_child.pk]
    assert selectors.trending_products(category=parent)[0].price_from is not None  # card data
    assert [p.pk for p in selectors.trending_posts(AnonymousUser(), category=parent)] == [
        ProductTag.objects.get(product=in_child).post_id
    ]


def test_hashtags_rank_by_their_posts() -> None:
    author = f.user()
    big = f.post(author, hashtags=("linen", "summer"))
    small = f.post(author, hashtags=("linen",))
    f.post(author, hashtags=("quiet",))
    likes(big, 4)
    likes(small, 1)
    assert [name for name, _s in selectors.trending_hashtags()] == ["linen", "summer"]
    assert [p.pk for p in selectors.trending_posts(AnonymousUser(), hashtag="#Linen")] == [big.pk, small.pk]


def test_snapshot_is_cached_and_computed_when_missing() -> None:
    post = f.post(f.user())
    likes(post, 1)
    assert [pk for pk, _s in trending.snapshot().posts] == [post.pk]
    later = f.post(f.user())
    likes(later, 5)
    assert [pk for pk, _s in trending.snapshot().posts] == [post.pk]  # the cached one
    assert tasks.refresh_trending() == 2
    assert [pk for pk, _s in trending.snapshot().posts] == [later.pk, post.pk]
    trending.forget()
    assert len(trending.snapshot().posts) == 2  # computed again without the task


def test_a_missing_snapshot_is_computed_once_at_a_time() -> None:
    from django.core.cache import cache

    likes(f.post(f.user()), 1)
    cache.add(trending.LOCK_KEY, 1)  # another process is computing it
    assert trending.snapshot().posts == []
    cache.delete(trending.LOCK_KEY)
    assert len(trending.snapshot().posts) == 1


def test_periodic_task_is_scheduled(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["feed.refresh_trending"]
    assert entry["task"] == tasks.refresh_trending.name


def test_popular_label_needs_a_top_rank_and_a_minimum_score(settings) -> None:
    settings.AGORA_TRENDING_LABEL_MIN_SCORE = 3
    settings.AGORA_TRENDING_LABEL_TOP = 1
    hot, warm, cold = published_product(), published_product(), published_product()
    for product, n in ((hot, 6), (warm, 5), (cold, 1)):
        post = f.post(f.user())
        ProductTag.objects.create(post=post, product=product)
        likes(post, n)
    assert selectors.trending_product_ids() == frozenset({hot.pk})
    assert selectors.is_trending(hot.pk) and not selectors.is_trending(warm.pk)
    settings.AGORA_TRENDING_LABEL_TOP = 3
    assert selectors.trending_product_ids() == frozenset({hot.pk, warm.pk})  # cold is under the minimum


def test_trending_posts_respect_the_viewer(settings) -> None:
    author, blocked_viewer, viewer = f.user(), f.user(), f.user()
    post = f.post(author)
    likes(post, 3)
    f.block(author, blocked_viewer)
    assert [p.pk for p in selectors.trending_posts(viewer)] == [post.pk]
    assert selectors.trending_posts(blocked_viewer) == []
    post.deleted_at = timezone.now()
    post.save()
    assert selectors.trending_posts(viewer) == []  # the cached snapshot still has it; the read does not


def test_explore_tops_up_with_recent_posts_and_popular_products() -> None:
    author, private = f.user(), f.user(is_private=True)
    trending_post = f.post(author, at=ago(5))
    likes(trending_post, 2)
    recent = f.post(author, at=ago(1))
    f.post(private, at=ago(0.5))  # never shown to the public
    product = published_product()
    product.popularity = 10
    product.save()

    found = selectors.explore(AnonymousUser(), limit=5)

    assert [p.pk for p in found.posts] == [trending_post.pk, recent.pk]
    assert [p.pk for p in found.products] == [product.pk]
    assert found.hashtags == []


def test_explore_and_trending_queries_do_not_grow(django_assert_max_num_queries) -> None:
    for i in range(12):
        post = f.post(f.user(), hashtags=(f"tag{i % 3}",))
        ProductTag.objects.create(post=post, product=published_product())
        likes(post, 1 + i % 4)
    trending.refresh()
    with django_assert_max_num_queries(16):
        found = selectors.explore(AnonymousUser(), limit=20)
    assert len(found.posts) == 12 and len(found.products) == 12
    with django_assert_max_num_queries(3):
        selectors.trending_products(limit=20)

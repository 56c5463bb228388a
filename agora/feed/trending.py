"""Trending posts, products and hashtags: recent engagement, weighted by kind and halved every half-life.

    score = Σ weight(kind) × 0.5 ^ (age in hours / AGORA_TRENDING_HALF_LIFE_HOURS)

over the likes, comments, reposts and share links of the last ``AGORA_TRENDING_WINDOW_DAYS`` days (and purchases,
when the orders app offers them, see ``purchase_counts``). Engagement on a repost counts for its original. Only
public content trends: live posts by active public accounts or active shops, published products of active shops.

A product scores the share links to it, its purchases, and the score of each post that tags it (split evenly
between the products a post tags). Events are counted per hour in SQL, so the work grows with the number of
engaged posts and hours, not with the number of likes.

The periodic task ``feed.refresh_trending`` writes the snapshot to the cache every ``AGORA_TRENDING_INTERVAL``
seconds; ``snapshot()`` reads it, and computes it on the spot when the cache has none (a fresh install, a cache
restart), so trending never depends on the task having run.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from agora.catalog.models import Product, ProductStatus
from agora.social.models import Comment, Like, Post, PostHashtag, ProductTag, ShareLink

CACHE_KEY = "feed:trending:v1"
LOCK_KEY = "feed:trending:computing"
# Per hashtag, how many posts are kept in the snapshot for its "top" page.
HASHTAG_TOP = 50


@dataclass
class Snapshot:
    """What is trending, best first. ``products`` rows are (product id, score, category id)."""

    computed_at: dt.datetime
    posts: list[tuple[int, float]] = field(default_factory=list)
    products: list[tuple[int, float, int | None]] = field(default_factory=list)
    hashtags: list[tuple[str, float]] = field(default_factory=list)
    hashtag_posts: dict[str, list[int]] = field(default_factory=dict)
    # The categories of the products each trending post tags (explore per category).
    post_categories: dict[int, list[int]] = field(default_factory=dict)


def decay(age: dt.timedelta, *, half_life_hours: float | None = None) -> float:
    """The weight left to an event ``age`` old: 1 now, 0.5 after one half-life, 0.25 after two."""
    half_life = half_life_hours if half_life_hours is not None else settings.AGORA_TRENDING_HALF_LIFE_HOURS
    hours = max(0.0, age.total_seconds() / 3600)
    return math.pow(0.5, hours / half_life) if half_life > 0 else 1.0


def _bucket_weight(hour: dt.datetime, now: dt.datetime) -> float:
    # An hour's events count as if they happened in the middle of that hour.
    return decay(now - (hour + dt.timedelta(minutes=30)))


def _hourly(rows: Iterable[dict[str, object]], key: str, now: dt.datetime, weight: float) -> dict[int, float]:
    scores: dict[int, float] = defaultdict(float)
    for row in rows:
        target = row[key]
        hour = row["hour"]
        if target is None or not isinstance(hour, dt.datetime):
            continue
        scores[int(target)] += weight * int(row["n"]) * _bucket_weight(hour, now)  # type: ignore[call-overload]
    return scores


def purchase_counts(since: dt.datetime) -> dict[int, int]:
    """HOOK for purchases: units (or orders) per product id bought since ``since``.

    Uses ``agora.orders.selectors.recent_purchase_counts(since)`` when the orders app provides it; until then no
    purchase counts, and products trend on social engagement alone.
    """
    try:
        from agora.orders.selectors import recent_purchase_counts
    except ImportError:
        return {}
    return {int(k): int(v) for k, v in dict(recent_purchase_counts(since)).items()}


def _purchase_scores(now: dt.datetime, window: dt.timedelta) -> dict[int, float]:
    """Purchases in age bands (the hook gives counts since a moment, not times): 0–6 h, 6–24 h, 24 h–window."""
    weight = settings.AGORA_TRENDING_WEIGHTS.get("purchase", 0.0)
    if not weight:
        return {}
    edges = sorted({dt.timedelta(hours=6), dt.timedelta(hours=24), window} - {dt.timedelta(0)})
    edges = [edge for edge in edges if edge <= window]
    scores: dict[int, float] = defaultdict(float)
    previous: dict[int, int] = {}
    start = dt.timedelta(0)
    for edge in edges:
        counts = purchase_counts(now - edge)
        factor = decay((start + edge) / 2)
        for product_id, count in counts.items():
            in_band = count - previous.get(product_id, 0)
            if in_band > 0:
                scores[product_id] += weight * in_band * factor
        previous, start = counts, edge
    return scores


def compute(*, now: dt.datetime | None = None) -> Snapshot:
    """Scores every post, product and hashtag engaged with inside the window (no cache involved)."""
    now = now or timezone.now()
    window = dt.timedelta(days=settings.AGORA_TRENDING_WINDOW_DAYS)
    since = now - window
    weights = settings.AGORA_TRENDING_WEIGHTS
    hour = TruncHour("created_at", tzinfo=dt.UTC)

    raw: dict[int, float] = defaultdict(float)

    def add(scores: dict[int, float]) -> None:
        for post_id, score in scores.items():
            raw[post_id] += score

    likes = Like.objects.filter(created_at__gte=since, created_at__lte=now).annotate(hour=hour)
    add(_hourly(likes.values("post_id", "hour").annotate(n=Count("id")), "post_id", now, weights.get("like", 0)))
    comments = Comment.objects.filter(
        created_at__gte=since, created_at__lte=now, hidden_at__isnull=True, deleted_at__isnull=True
    ).annotate(hour=hour)
    add(_hourly(comments.values("post_id", "hour").annotate(n=Count("id")), "post_id", now, weights.get("comment", 0)))
    reposts = Post.objects.filter(
        repost_of__isnull=False, created_at__gte=since, created_at__lte=now, deleted_at__isnull=True
    ).annotate(hour=hour)
    add(_hourly(reposts.values("repost_of_id", "hour").annotate(n=Count("id")), "repost_of_id", now, weights["repost"]))
    links = ShareLink.objects.filter(created_at__gte=since, created_at__lte=now).annotate(hour=hour)
    add(
        _hourly(
            links.filter(post__isnull=False).values("post_id", "hour").annotate(n=Count("id")),
            "post_id",
            now,
            weights.get("share", 0),
        )
    )
    product_shares = _hourly(
        links.filter(product__isnull=False).values("product_id", "hour").annotate(n=Count("id")),
        "product_id",
        now,
        weights.get("share", 0),
    )

    # Engagement on a repost is engagement with its original; only public, live originals trend.
    post_scores: dict[int, float] = defaultdict(float)
    if raw:
        originals = dict(Post.objects.filter(pk__in=list(raw)).values_list("pk", "repost_of_id"))
        for post_id, score in raw.items():
            if post_id in originals:
                post_scores[originals[post_id] or post_id] += score
        public = set(
            Post.objects.filter(
                pk__in=list(post_scores), repost_of__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True
            )
            .filter(
                Q(shop__isnull=False, shop__is_active=True)
                | Q(shop__isnull=True, author__is_active=True, author__is_private=False)
            )
            .values_list("pk", flat=True)
        )
        post_scores = defaultdict(float, {pk: s for pk, s in post_scores.items() if pk in public and s > 0})

    product_scores: dict[int, float] = defaultdict(float, product_shares)
    post_categories: dict[int, set[int]] = defaultdict(set)
    if post_scores:
        tags: dict[int, set[int]] = defaultdict(set)
        for post_id, product_id, category_id in ProductTag.objects.filter(post_id__in=list(post_scores)).values_list(
            "post_id", "product_id", "product__category_id"
        ):
            tags[post_id].add(product_id)
            if category_id is not None:
                post_categories[post_id].add(category_id)
        for post_id, products in tags.items():
            for product_id in products:
                product_scores[product_id] += post_scores[post_id] / len(products)
    for product_id, score in _purchase_scores(now, window).items():
        product_scores[product_id] += score
    categories: dict[int, int | None] = {}
    if product_scores:
        categories = dict(
            Product.objects.filter(
                pk__in=list(product_scores), status=ProductStatus.PUBLISHED, shop__is_active=True
            ).values_list("pk", "category_id")
        )

    hashtag_scores: dict[str, float] = defaultdict(float)
    hashtag_posts: dict[str, list[tuple[float, int]]] = defaultdict(list)
    if post_scores:
        for post_id, name in PostHashtag.objects.filter(post_id__in=list(post_scores)).values_list(
            "post_id", "hashtag__name"
        ):
            hashtag_scores[name] += post_scores[post_id]
            hashtag_posts[name].append((post_scores[post_id], post_id))

    size = settings.AGORA_TRENDING_SIZE
    top_posts = _top(((pk, s) for pk, s in post_scores.items()), size)
    return Snapshot(
        computed_at=now,
        posts=top_posts,
        products=[
            (pk, s, categories[pk])
            for pk, s in _top(((pk, s) for pk, s in product_scores.items() if pk in categories and s > 0), size)
        ],
        hashtags=[(name, round(s, 6)) for name, s in sorted(hashtag_scores.items(), key=lambda kv: (-kv[1], kv[0]))][
            :size
        ],
        hashtag_posts={
            name: [pk for _s, pk in sorted(rows, key=lambda r: (-r[0], -r[1]))[:HASHTAG_TOP]]
            for name, rows in hashtag_posts.items()
        },
        post_categories={pk: sorted(post_categories[pk]) for pk, _s in top_posts if pk in post_categories},
    )


def _top(rows: Iterable[tuple[int, float]], size: int) -> list[tuple[int, float]]:
    # Ties go to the newer row (the higher id), so the order is stable from one refresh to the next.
    return [(pk, round(score, 6)) for pk, score in sorted(rows, key=lambda r: (-r[1], -r[0]))[:size]]


def refresh(*, now: dt.datetime | None = None) -> Snapshot:
    """Computes the snapshot and stores it in the cache (the periodic task's work)."""
    found = compute(now=now)
    # Kept well past the next refresh, so a late or failed run shows slightly old trends rather than none.
    cache.set(CACHE_KEY, found, timeout=max(3600, settings.AGORA_TRENDING_INTERVAL * 6))
    return found


def snapshot() -> Snapshot:
    """The current snapshot: from the cache, or computed now (and cached) when there is none.

    Only one process computes a missing snapshot at a time; requests arriving meanwhile get an empty one (nothing
    trending for a moment) rather than all running the same aggregate queries at once.
    """
    found = cache.get(CACHE_KEY)
    if isinstance(found, Snapshot):
        return found
    if not cache.add(LOCK_KEY, 1, timeout=120):
        return Snapshot(computed_at=timezone.now())
    try:
        return refresh()
    finally:
        cache.delete(LOCK_KEY)


def forget() -> None:
    cache.delete(CACHE_KEY)

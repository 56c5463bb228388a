"""Reads of the feed app, for the API, the web pages (socialweb) and anyone else.

- ``home_feed(viewer, cursor=, limit=)`` — the home feed page (``FeedPage``: ``items``, ``next_cursor``).
- ``explore(viewer, category=, limit=)`` — trending posts, products and hashtags (``Explore``).
- ``trending_posts(viewer, hashtag=, limit=)``, ``trending_products(category=, limit=)``, ``trending_hashtags()``.
- ``hashtag_posts(viewer, tag, sort=, cursor=, limit=)`` — a hashtag page, newest first or top first.
- ``is_trending(product_id)`` / ``trending_product_ids()`` — the "popular on Agora" label.

Every list of posts goes through ``agora.social.selectors.visible_posts`` and comes with its card data
(``with_post_data``), in a number of queries that does not grow with the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Category, Product
from agora.catalog.selectors import descendant_ids, public_products, search_products
from agora.feed import trending
from agora.feed.backends import FeedPage, decode_cursor, get_backend, hydrate, older_than, page_of
from agora.feed.errors import HashtagNotFound
from agora.social.models import Hashtag, Post
from agora.social.selectors import visible_posts, with_post_data

Viewer = User | AnonymousUser | None
SORTS = ("recent", "top")


def page_size(limit: int | None) -> int:
    """``limit`` within 1..AGORA_FEED_MAX_PAGE_SIZE (default AGORA_FEED_PAGE_SIZE)."""
    wanted = int(limit) if limit else settings.AGORA_FEED_PAGE_SIZE
    return max(1, min(wanted, settings.AGORA_FEED_MAX_PAGE_SIZE))


# --- home feed -----------------------------------------------------------------------
def home_feed(
    viewer: Viewer, *, cursor: str | None = None, limit: int | None = None, backend: str | None = None
) -> FeedPage:
    """One page of the viewer's home feed: posts and reposts by the people and shops they follow, and their own,
    newest first, that they may see. ``cursor`` is the previous page's ``next_cursor`` (None: the first page).
    ``backend`` ("database"/"redis") overrides ``AGORA_FEED_BACKEND`` (tests and benchmarks)."""
    return get_backend(backend).home_feed(viewer, cursor=cursor, limit=page_size(limit))


# --- trending ------------------------------------------------------------------------
def trending_product_ids() -> frozenset[int]:
    """Ids of the products to label "popular on Agora": the top ``AGORA_TRENDING_LABEL_TOP`` trending products
    with a score of at least ``AGORA_TRENDING_LABEL_MIN_SCORE``. One cache read: call it once per page."""
    top = settings.AGORA_TRENDING_LABEL_TOP
    minimum = settings.AGORA_TRENDING_LABEL_MIN_SCORE
    return frozenset(pk for pk, score, _category in trending.snapshot().products[:top] if score >= minimum)


def is_trending(product_id: int) -> bool:
    """Whether the product gets the "popular on Agora" label (see ``trending_product_ids``)."""
    return product_id in trending_product_ids()


def _in_order(posts: QuerySet[Post], ids: list[int], limit: int) -> list[int]:
    allowed = set(posts.filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in allowed][:limit]


def trending_posts(
    viewer: Viewer, *, hashtag: str | None = None, category: Category | None = None, limit: int | None = None
) -> list[Post]:
    """The most engaged-with public posts of the last days, best first, that ``viewer`` may see, with their card
    data. ``hashtag``: only posts with it; ``category``: only posts tagging a product in it (or its subcategories)."""
    limit = page_size(limit)
    found = trending.snapshot()
    if hashtag is not None:
        ids = list(found.hashtag_posts.get(_tag_name(hashtag), []))
    else:
        ids = [pk for pk, _score in found.posts]
    if category is not None:
        allowed = set(descendant_ids(category))
        ids = [pk for pk in ids if allowed.intersection(found.post_categories.get(pk, ()))]
    # Twice the page, so that posts hidden from this viewer since the snapshot still leave a full page.
    ids = ids[: limit * 2 + 10]
    return hydrate(viewer, _in_order(visible_posts(viewer), ids, limit))


def trending_products(*, category: Category | None = None, limit: int | None = None) -> list[Product]:
    """Trending published products, best first (optionally in ``category`` and its subcategories), with what a
    product card shows (``price_from``, ``photo_list``)."""
    limit = page_size(limit)
    rows = trending.snapshot().products
    if category is not None:
        allowed = set(descendant_ids(category))
        rows = [row for row in rows if row[2] in allowed]
    ids = [pk for pk, _score, _category in rows[: limit * 2 + 10]]
    if not ids:
        return []
    by_id = {p.pk: p for p in search_products().filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id][:limit]


def trending_hashtags(*, limit: int = 10) -> list[tuple[str, float]]:
    """The hashtags of the trending posts, by the sum of their posts' scores: (name, score), best first."""
    return trending.snapshot().hashtags[:limit]


@dataclass(frozen=True)
class Explore:
    posts: list[Post]
    products: list[Product]
    hashtags: list[tuple[str, float]]


def explore(viewer: Viewer, *, category: Category | None = None, limit: int | None = None) -> Explore:
    """The explore page: trending posts and products (in ``category`` if given: posts tagging its products) and
    the trending hashtags.

    When little is trending (a new installation), the posts are topped up with the newest public originals and the
    products with the most viewed ones, so the page is never empty while there is content.
    """
    limit = page_size(limit)
    posts = trending_posts(viewer, category=category, limit=limit)
    if len(posts) < limit and category is None:
        have = {p.pk for p in posts}
        recent = (
            visible_posts(AnonymousUser(), Post.objects.filter(repost_of__isnull=True))
            .exclude(pk__in=have)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)[: limit - len(posts)]
        )
        # Public content only, then this viewer's own rules (blocks) on top.
        posts += hydrate(viewer, _in_order(visible_posts(viewer), list(recent), limit))
    products = trending_products(category=category, limit=limit)
    if len(products) < limit:
        more = public_products().exclude(pk__in=[p.pk for p in products])
        if category is not None:
            more = more.filter(category_id__in=descendant_ids(category))
        more_ids = list(more.order_by("-popularity", "-id").values_list("pk", flat=True)[: limit - len(products)])
        by_id = {p.pk: p for p in search_products().filter(pk__in=more_ids)}
        products += [by_id[pk] for pk in more_ids if pk in by_id]
    return Explore(posts=posts, products=products, hashtags=trending_hashtags())


# --- hashtags ------------------------------------------------------------------------
def _tag_name(tag: str) -> str:
    return tag.strip().lstrip("#").lower()


def get_hashtag(tag: str) -> Hashtag:
    """The hashtag named ``tag`` (with or without "#", any case); HashtagNotFound (404) when nobody used it."""
    hashtag = Hashtag.objects.filter(name=_tag_name(tag)).first()
    if hashtag is None:
        raise HashtagNotFound(_("Nobody has posted with #%(tag)s yet.") % {"tag": _tag_name(tag)}, field="tag")
    return hashtag


def hashtag_posts(
    viewer: Viewer, tag: str, *, sort: str = "recent", cursor: str | None = None, limit: int | None = None
) -> FeedPage:
    """A hashtag page: the posts with ``tag`` the viewer may see. ``sort`` "recent" is newest first and
    cursor-paginated; "top" is the trending posts with the tag, best first (one page, no cursor)."""
    hashtag = get_hashtag(tag)
    limit = page_size(limit)
    if sort == "top":
        return FeedPage(items=trending_posts(viewer, hashtag=hashtag.name, limit=limit), next_cursor=None)
    position = decode_cursor(cursor)
    posts = (
        visible_posts(viewer, Post.objects.filter(post_hashtags__hashtag=hashtag))
        .filter(older_than(position))
        .order_by("-created_at", "-id")
    )
    return page_of(list(with_post_data(posts, viewer)[: limit + 1]), limit)

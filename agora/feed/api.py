"""The feed endpoints under /api/v1/: the home feed, explore, trending products and hashtag pages."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.schemas import Text, responses
from agora.catalog.models import Product
from agora.catalog.selectors import get_category
from agora.feed import selectors
from agora.feed.schemas import (
    ExploreOut,
    ExploreQuery,
    FeedPageOut,
    FeedQuery,
    HashtagQuery,
    TrendingProductOut,
    TrendingQuery,
)

router = Router(tags=["feed"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}
BACKEND_HEADER = "X-Agora-Feed-Backend"


def _labelled(products: list[Product]) -> list[Product]:
    popular = selectors.trending_product_ids()
    for product in products:
        product.popular = product.pk in popular  # type: ignore[attr-defined]
    return products


@router.get("feed", response=responses({200: FeedPageOut}))
def home_feed(request: HttpRequest, query: Query[FeedQuery]) -> Any:
    """Your home feed: posts and reposts by the people and shops you follow, and your own, newest first.

    Send `next_cursor` back as `cursor` for the next page. Posts of private accounts you do not follow, of people
    who blocked you or whom you blocked, and removed posts never appear.
    """
    backend = request.headers.get(BACKEND_HEADER) if settings.AGORA_FEED_BACKEND_HEADER else None
    page = selectors.home_feed(user_of(request), cursor=query.cursor, limit=query.limit, backend=backend)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("explore", **PUBLIC, response=responses({200: ExploreOut}))
def explore(request: HttpRequest, query: Query[ExploreQuery]) -> Any:
    """What is trending: posts and products ranked by recent likes, comments, reposts, shares and purchases (newer
    engagement weighs more), and the trending hashtags. `category` narrows both to that category."""
    category = get_category(query.category) if query.category else None
    found = selectors.explore(viewer_of(request), category=category, limit=query.limit)
    hashtags = [{"name": name, "score": score} for name, score in found.hashtags]
    return {"posts": found.posts, "products": _labelled(found.products), "hashtags": hashtags}


@router.get("trending/products", **PUBLIC, response=responses({200: list[TrendingProductOut]}))
def trending_products(request: HttpRequest, query: Query[TrendingQuery]) -> Any:
    """Trending products, best first (optionally in a category and its subcategories). Not paginated: one list."""
    category = get_category(query.category) if query.category else None
    return _labelled(selectors.trending_products(category=category, limit=query.limit))


@router.get("hashtags/{tag}/posts", **PUBLIC, response=responses({200: FeedPageOut}))
def hashtag_posts(request: HttpRequest, tag: Text, query: Query[HashtagQuery]) -> Any:
    """Posts with a hashtag (`tag` without "#"): newest first with a cursor, or `sort=top` for the trending ones."""
    page = selectors.hashtag_posts(
        viewer_of(request), tag[:120], sort=query.sort, cursor=query.cursor, limit=query.limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}

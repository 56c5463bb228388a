"""API shapes of the feed: pages of posts (social's ``PostOut``) with an opaque cursor, explore and trending."""

from __future__ import annotations

from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Schema

from agora.api.schemas import Text
from agora.catalog.schemas import ProductCardOut
from agora.social.schemas import PostOut

Cursor = Annotated[Text, Field(max_length=200)]
Limit = Annotated[int, Field(ge=1, le=settings.AGORA_FEED_MAX_PAGE_SIZE)]


class FeedPageOut(Schema):
    items: list[PostOut]
    next_cursor: str | None = Field(
        ..., description="Send it back as `cursor` for the next page; null on the last page."
    )


class FeedQuery(Schema):
    cursor: Cursor | None = Field(None, description="`next_cursor` of the previous page; none for the first page.")
    limit: Limit = Field(settings.AGORA_FEED_PAGE_SIZE, description="Posts per page.")


class HashtagQuery(FeedQuery):
    sort: Literal["recent", "top"] = Field(
        "recent", description="`recent`: newest first, paginated. `top`: trending posts with the tag (one page)."
    )


class ExploreQuery(Schema):
    category: Annotated[Text, Field(max_length=80)] | None = Field(None, description="Slug of a category.")
    limit: Limit = Field(settings.AGORA_FEED_PAGE_SIZE, description="Posts and products each.")


class TrendingQuery(Schema):
    category: Annotated[Text, Field(max_length=80)] | None = Field(None, description="Slug of a category.")
    limit: Limit = Field(settings.AGORA_FEED_PAGE_SIZE)


class TrendingHashtagOut(Schema):
    name: str
    score: float


class TrendingProductOut(ProductCardOut):
    popular: bool = Field(..., description='Whether the product carries the "popular on Agora" label.')


class ExploreOut(Schema):
    posts: list[PostOut]
    products: list[TrendingProductOut]
    hashtags: list[TrendingHashtagOut]

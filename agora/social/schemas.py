"""API shapes for the social side. People are named by username (ids of people are not public)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema

from agora.accounts.schemas import absolute_file_url
from agora.api.schemas import InputSchema
from agora.catalog.schemas import PhotoOut, money_str
from agora.shops.schemas import ShopRefOut
from agora.social.text import comment_html, post_html


# --- people ---------------------------------------------------------------------------
class UserRefOut(Schema):
    username: str
    display_name: str
    avatar_thumbnail: str | None
    is_private: bool

    @staticmethod
    def resolve_avatar_thumbnail(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.avatar_thumbnail, context)


class FollowResultOut(Schema):
    status: Literal["following", "requested"] = Field(
        ..., description="`requested` when the account is private and its owner must approve."
    )
    created: bool = Field(..., description="False when you already followed (or had asked).")


class FollowOut(Schema):
    """One row of a followers/following list: a person or a shop."""

    user: UserRefOut | None
    shop: ShopRefOut | None
    since: datetime


class FollowRequestOut(Schema):
    requester: UserRefOut
    created_at: datetime


class BlockOut(Schema):
    user: UserRefOut
    created_at: datetime


class RelationshipOut(Schema):
    is_self: bool
    following: bool
    requested: bool
    followed_by: bool
    blocking: bool
    blocked_by: bool
    is_friend: bool
    can_see_posts: bool


class SocialProfileOut(Schema):
    user: UserRefOut
    followers: int
    following: int
    posts: int
    relationship: RelationshipOut


class ShopSocialOut(Schema):
    shop: ShopRefOut
    followers: int
    posts: int
    following: bool


# --- posts ----------------------------------------------------------------------------
class TaggedVariantOut(Schema):
    id: int
    name: str
    price: str | None
    currency: str
    in_stock: bool

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return money_str(obj.price, obj.shop.currency)

    @staticmethod
    def resolve_currency(obj: Any) -> str:
        return str(obj.shop.currency)


class TaggedProductOut(Schema):
    id: int
    slug: str
    title: str
    shop: ShopRefOut


class ProductTagOut(Schema):
    id: int
    product: TaggedProductOut
    variant: TaggedVariantOut | None
    photo_id: int | None
    x: float | None = Field(None, description="Horizontal position on the photo, 0 (left) to 1 (right).")
    y: float | None = Field(None, description="Vertical position on the photo, 0 (top) to 1 (bottom).")


class PollOptionOut(Schema):
    id: int
    text: str
    votes: int
    percent: float
    product_id: int | None
    variant_id: int | None


class PollOut(Schema):
    id: int
    question: str
    closes_at: datetime
    is_open: bool
    total: int
    options: list[PollOptionOut]
    voted_option_id: int | None = Field(None, description="Your vote, when you voted.")


def _tags_of(obj: Any) -> list[Any]:
    tags = getattr(obj, "tag_list", None)
    return list(tags) if tags is not None else list(obj.product_tags.all())


def _photos_of(obj: Any) -> list[Any]:
    photos = getattr(obj, "photo_list", None)
    return list(photos) if photos is not None else list(obj.photos.all())


def _mentioned(obj: Any) -> list[str]:
    return [m.user.username for m in obj.mentions.all() if m.comment_id is None]


class _PostBody(Schema):
    id: int
    author: UserRefOut
    shop: ShopRefOut | None = Field(None, description="Set when the post was made as a shop.")
    text: str
    text_html: str = Field(..., description="The text as safe HTML, with #hashtags and @mentions linked.")
    mentions: list[str]
    photos: list[PhotoOut]
    product_tags: list[ProductTagOut]
    sponsor: ShopRefOut | None
    disclosure: str | None = Field(None, description='"Paid partnership with <shop>" on a sponsored post.')
    poll: PollOut | None = None
    likes_count: int
    comments_count: int
    reposts_count: int
    shares_count: int
    viewer_liked: bool = Field(False, description="Whether you liked this post (false when anonymous).")
    created_at: datetime
    edited_at: datetime | None

    @staticmethod
    def resolve_text_html(obj: Any) -> str:
        return str(post_html(obj))

    @staticmethod
    def resolve_viewer_liked(obj: Any) -> bool:
        return bool(getattr(obj, "viewer_liked", False))

    @staticmethod
    def resolve_mentions(obj: Any) -> list[str]:
        return _mentioned(obj)

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return _photos_of(obj)

    @staticmethod
    def resolve_product_tags(obj: Any) -> list[Any]:
        return _tags_of(obj)

    @staticmethod
    def resolve_disclosure(obj: Any) -> str | None:
        if obj.sponsor is None:
            return None
        return _("Paid partnership with %(shop)s") % {"shop": obj.sponsor.name}

    @staticmethod
    def resolve_poll(obj: Any, context: Any) -> Any:
        from agora.social.selectors import poll_results

        poll = getattr(obj, "poll", None)
        if poll is None:
            return None
        request = (context or {}).get("request")
        return poll_results(poll=poll, viewer=getattr(request, "auth", None))


class OriginalPostOut(_PostBody):
    """The post a repost points at."""


class PostOut(_PostBody):
    repost_of: OriginalPostOut | None = Field(None, description="For a repost: the original post.")

    @staticmethod
    def resolve_repost_of(obj: Any) -> Any:
        original = obj.repost_of
        if original is not None:
            # with_post_data annotates the repost with whether the viewer liked its original.
            original.viewer_liked = bool(getattr(obj, "viewer_liked_original", False))
        return original


class CommentOut(Schema):
    id: int
    author: UserRefOut
    parent_id: int | None
    text: str
    text_html: str = Field(..., description="The text as safe HTML, with #hashtags and @mentions linked.")
    hidden: bool = Field(False, description="Hidden by a moderator: only the post's moderators see it.")
    created_at: datetime
    edited_at: datetime | None

    @staticmethod
    def resolve_text_html(obj: Any) -> str:
        return str(comment_html(obj))

    @staticmethod
    def resolve_hidden(obj: Any) -> bool:
        return obj.hidden_at is not None


class CommentThreadOut(CommentOut):
    """A top-level comment with its replies (one level)."""

    replies: list[CommentOut]

    @staticmethod
    def resolve_replies(obj: Any) -> list[Any]:
        replies = getattr(obj, "reply_list", None)
        return list(replies) if replies is not None else []


class ShareLinkOut(Schema):
    code: str
    path: str = Field(..., description="Open this path on the site (prefix it with the site's address).")
    target: Literal["post", "product"]
    post_id: int | None
    product_id: int | None
    channel: str
    opens_count: int
    created_at: datetime

    @staticmethod
    def resolve_path(obj: Any) -> str:
        from agora.social.selectors import share_path

        return share_path(obj.code)

    @staticmethod
    def resolve_target(obj: Any) -> str:
        return str(obj.target_kind)


class TaggedProductCardOut(Schema):
    id: int
    slug: str
    title: str
    shop: ShopRefOut


# --- in -------------------------------------------------------------------------------
class TagIn(InputSchema):
    product_id: int = Field(..., ge=1)
    variant_id: int | None = Field(None, ge=1)
    photo: int | None = Field(None, ge=0, description="Index of the post's photo the tag is on (0 = the first).")
    x: float | None = Field(None, description="0..1 across the photo; with `y`.")
    y: float | None = Field(None, description="0..1 down the photo; with `x`.")


class PostPatchIn(InputSchema):
    text: str | None = Field(None, max_length=20000)
    tags: list[TagIn] | None = Field(None, max_length=100, description="Replaces all product tags.")
    sponsor: str | None = Field(None, max_length=80, description='Slug of the sponsoring shop; "" removes it.')


class RepostIn(InputSchema):
    text: str = Field("", max_length=20000)


class CommentIn(InputSchema):
    text: str = Field(..., max_length=20000)
    parent_id: int | None = Field(None, ge=1, description="Reply to this top-level comment.")


class CommentPatchIn(InputSchema):
    text: str = Field(..., max_length=20000)


class ShareIn(InputSchema):
    channel: str = Field("", max_length=32, description='Where you share it, e.g. "whatsapp" (free text).')


class ShareOpenIn(InputSchema):
    referrer: str = Field("", max_length=2000)


class VoteIn(InputSchema):
    option_id: int = Field(..., ge=1)


class PostSearch(Schema):
    q: str = Field("", max_length=200, description='Words of the text; "#tag" matches a hashtag.')

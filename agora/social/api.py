"""The social endpoints under /api/v1/: follows and blocks, posts, likes, comments, reposts, share links, polls.

Every post, comment and list goes through the privacy selectors (agora.social.selectors): a post the caller may
not see is a 404, exactly like one that does not exist.
"""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from agora.accounts.models import User
from agora.accounts.selectors import get_user_by_username
from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, Slug, responses
from agora.catalog import selectors as catalog_selectors
from agora.core.errors import ValidationFailed
from agora.core.http import client_ip
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.social import selectors, services
from agora.social.errors import PollInvalid, PostInvalid, SponsorInvalid
from agora.social.models import Comment, Follow, Post, ShareLink
from agora.social.schemas import (
    BlockOut,
    CommentIn,
    CommentOut,
    CommentPatchIn,
    CommentThreadOut,
    FollowOut,
    FollowRequestOut,
    FollowResultOut,
    PollOut,
    PostOut,
    PostPatchIn,
    PostSearch,
    RepostIn,
    ShareIn,
    ShareLinkOut,
    ShareOpenIn,
    ShopSocialOut,
    SocialProfileOut,
    TaggedProductCardOut,
    UserRefOut,
    VoteIn,
)

router = Router(tags=["social"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}


def _person(username: str) -> User:
    return get_user_by_username(username)


def _post(request: HttpRequest, post_id: int, *, allow_removed: bool = False) -> Post:
    return selectors.get_post(post_id=post_id, viewer=viewer_of(request), allow_removed=allow_removed)


def _fresh(request: HttpRequest, post: Post) -> Post:
    """The post again with its card data and new counters (after a write)."""
    return selectors.get_post(post_id=post.pk, viewer=viewer_of(request), allow_removed=True)


def _follow_row(follow: Follow, *, person: str) -> dict[str, Any]:
    user = getattr(follow, person)
    return {"user": user, "shop": follow.target_shop if person == "target_user" else None, "since": follow.created_at}


# --- follows --------------------------------------------------------------------------
@router.post("users/{username}/follow", response=responses({200: FollowResultOut}))
def follow_user(request: HttpRequest, username: Slug) -> Any:
    """Follow a person. A private account gets a request to approve instead (`status: requested`). Idempotent."""
    return services.follow_user(actor=user_of(request), target=_person(username))


@router.delete("users/{username}/follow", response=responses({204: None}))
def unfollow_user(request: HttpRequest, username: Slug) -> Status[None]:
    """Stop following a person, or withdraw a pending request. Idempotent."""
    services.unfollow_user(actor=user_of(request), target=_person(username))
    return Status(204, None)


@router.post("shops/{slug}/follow", response=responses({200: FollowResultOut}))
def follow_shop(request: HttpRequest, slug: Slug) -> Any:
    user = user_of(request)
    return services.follow_shop(actor=user, shop=shop_selectors.get_shop(slug, viewer=user))


@router.delete("shops/{slug}/follow", response=responses({204: None}))
def unfollow_shop(request: HttpRequest, slug: Slug) -> Status[None]:
    user = user_of(request)
    shop = Shop.objects.filter(slug=slug).first() or shop_selectors.get_shop(slug, viewer=user)
    services.unfollow_shop(actor=user, shop=shop)
    return Status(204, None)


@router.get("users/{username}/social", **PUBLIC, response=responses({200: SocialProfileOut}))
def social_profile(request: HttpRequest, username: Slug) -> dict[str, Any]:
    """Counts (followers, following, posts) and how you stand with this person (follow, request, block)."""
    person = _person(username)
    counts = selectors.user_counts(person)
    rel = selectors.relationship(viewer_of(request), person)
    return {
        "user": person,
        "followers": counts.followers,
        "following": counts.following,
        "posts": counts.posts,
        "relationship": {**rel.__dict__, "is_friend": rel.is_friend},
    }


@router.get("shops/{slug}/social", **PUBLIC, response=responses({200: ShopSocialOut}))
def shop_social(request: HttpRequest, slug: Slug) -> dict[str, Any]:
    viewer = viewer_of(request)
    shop = shop_selectors.get_shop(slug, viewer=viewer)
    counts = selectors.shop_counts(shop)
    return {
        "shop": shop,
        "followers": counts.followers,
        "posts": counts.posts,
        "following": selectors.is_following_shop(viewer, shop),
    }


@router.get("users/{username}/followers", **PUBLIC, response=responses({200: list[FollowOut]}))
@paginate(PagePagination)
def followers(request: HttpRequest, username: Slug) -> Any:
    """Who follows this person, newest first. A private account's lists are for itself and its followers."""
    rows = selectors.followers_of(user=_person(username), viewer=viewer_of(request))
    return _follow_rows(rows, person="follower")


@router.get("users/{username}/following", **PUBLIC, response=responses({200: list[FollowOut]}))
@paginate(PagePagination)
def following(request: HttpRequest, username: Slug) -> Any:
    """Whom this person follows: people (`user`) and shops (`shop`), newest first."""
    rows = selectors.following_of(user=_person(username), viewer=viewer_of(request))
    return _follow_rows(rows, person="target_user")


@router.get("users/{username}/friends", **PUBLIC, response=responses({200: list[UserRefOut]}))
@paginate(PagePagination)
def friends(request: HttpRequest, username: Slug) -> Any:
    """Mutual follows."""
    return selectors.friends_of(user=_person(username), viewer=viewer_of(request))


@router.get("shops/{slug}/followers", **PUBLIC, response=responses({200: list[FollowOut]}))
@paginate(PagePagination)
def shop_followers(request: HttpRequest, slug: Slug) -> Any:
    viewer = viewer_of(request)
    return _follow_rows(
        selectors.shop_followers(shop=shop_selectors.get_shop(slug, viewer=viewer), viewer=viewer), person="follower"
    )


class _Mapped:
    """A queryset whose rows are reshaped for the response, still counted and sliced by the database."""

    def __init__(self, rows: Any, shape: Callable[[Any], dict[str, Any]]) -> None:
        self.rows, self.shape = rows, shape

    def __len__(self) -> int:
        return int(self.rows.count())

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [self.shape(row) for row in self.rows[index]]


def _follow_rows(rows: Any, *, person: str) -> _Mapped:
    return _Mapped(rows, lambda follow: _follow_row(follow, person=person))


@router.get("me/follow-requests", response=responses({200: list[FollowRequestOut]}))
@paginate(PagePagination)
def follow_requests(request: HttpRequest) -> Any:
    """People asking to follow you (your account is private)."""
    return selectors.pending_requests(user=user_of(request))


@router.post("me/follow-requests/{username}/approve", response=responses({204: None}))
def approve_request(request: HttpRequest, username: Slug) -> Status[None]:
    services.approve_request(actor=user_of(request), requester=_person(username))
    return Status(204, None)


@router.post("me/follow-requests/{username}/decline", response=responses({204: None}))
def decline_request(request: HttpRequest, username: Slug) -> Status[None]:
    services.decline_request(actor=user_of(request), requester=_person(username))
    return Status(204, None)


@router.delete("me/followers/{username}", response=responses({204: None}))
def remove_follower(request: HttpRequest, username: Slug) -> Status[None]:
    """Make someone stop following you."""
    services.remove_follower(actor=user_of(request), follower=_person(username))
    return Status(204, None)


@router.post("users/{username}/block", response=responses({204: None}))
def block(request: HttpRequest, username: Slug) -> Status[None]:
    """Block a person: follows both ways end; they cannot follow, comment, mention or message you."""
    services.block_user(actor=user_of(request), target=_person(username))
    return Status(204, None)


@router.delete("users/{username}/block", response=responses({204: None}))
def unblock(request: HttpRequest, username: Slug) -> Status[None]:
    services.unblock_user(actor=user_of(request), target=_person(username))
    return Status(204, None)


@router.get("me/blocks", response=responses({200: list[BlockOut]}))
@paginate(PagePagination)
def my_blocks(request: HttpRequest) -> Any:
    return _Mapped(
        selectors.blocked_users(user=user_of(request)), lambda b: {"user": b.blocked, "created_at": b.created_at}
    )


# --- posts ----------------------------------------------------------------------------
def _json_field(raw: str, *, field: str, default: Any) -> Any:
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed(_("%(field)s must be JSON.") % {"field": field}, field=field) from None


def _poll_spec(raw: str) -> dict[str, Any] | None:
    spec = _json_field(raw, field="poll", default=None)
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise PollInvalid(_('poll is a JSON object: {"question": ..., "options": [...]}.'), field="poll")
    closes = spec.get("closes_at")
    hours = spec.pop("duration_hours", None)
    if isinstance(closes, str):
        parsed = parse_datetime(closes)
        if parsed is None:
            raise PollInvalid(_("closes_at is an ISO 8601 date and time with a time zone."), field="poll.closes_at")
        spec["closes_at"] = parsed
    elif closes is not None:
        raise PollInvalid(_("closes_at is an ISO 8601 date and time with a time zone."), field="poll.closes_at")
    elif hours is not None:
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 366:
            raise PollInvalid(_("duration_hours is a number of hours."), field="poll.duration_hours")
        spec["closes_at"] = timezone.now() + timedelta(hours=float(hours))
    return spec


def _shop_field(slug: str, *, viewer: Any, field: str) -> Shop | None:
    slug = slug.strip()
    if not slug:
        return None
    shop = Shop.objects.filter(slug=slug, is_active=True).first()
    if shop is None:
        error = SponsorInvalid if field == "sponsor" else PostInvalid
        raise error(_("No shop '%(slug)s'.") % {"slug": slug}, field=field)
    return shop


@router.post("posts", response=responses({201: PostOut}))
def create_post(
    request: HttpRequest,
    text: Form[str] = "",
    tags: Form[str] = "",
    shop: Form[str] = "",
    sponsor: Form[str] = "",
    poll: Form[str] = "",
    photo_alts: Form[list[str]] = [],  # noqa: B006 - ninja copies defaults
    photos: File[list[UploadedFile]] = [],  # noqa: B006
) -> Status[Post]:
    """Publish a post, as multipart form data (or a urlencoded form when there are no photos).

    * `text` — up to 2,200 characters; #hashtags and @mentions are picked up. Required unless there are photos
      or a poll.
    * `photos` — up to 10 files (JPEG, PNG, WebP, GIF); `photo_alts` — their descriptions, in the same order.
    * `tags` — JSON list of product tags: `[{"product_id": 7, "variant_id": 12, "photo": 0, "x": 0.4, "y": 0.6}]`
      (`photo` is the index of a photo above; `x`/`y` from 0 to 1, optional). Only published products.
    * `shop` — slug of a shop to post as (needs the "post as shop" right in it).
    * `sponsor` — slug of the shop that paid for the post: shown as "Paid partnership with <shop>".
    * `poll` — JSON `{"question": "...", "options": ["Red", {"text": "Blue", "product_id": 7}],
      "closes_at": "2030-01-01T12:00:00Z"}` (or `"duration_hours": 24`); 2 to 6 options.
    """
    user = user_of(request)
    tag_list = _json_field(tags, field="tags", default=[])
    if not isinstance(tag_list, list):
        raise PostInvalid(_("tags is a JSON list of objects."), field="tags")
    post = services.create_post(
        actor=user,
        text=text,
        photos=list(photos or []),
        photo_alts=list(photo_alts or []),
        tags=tag_list,
        shop=_shop_field(shop, viewer=user, field="shop"),
        sponsor=_shop_field(sponsor, viewer=user, field="sponsor"),
        poll=_poll_spec(poll),
    )
    return Status(201, _fresh(request, post))


@router.get("posts", **PUBLIC, response=responses({200: list[PostOut]}))
@paginate(PagePagination)
def search_posts(request: HttpRequest, filters: Query[PostSearch]) -> Any:
    """Search posts you may see, newest first."""
    return selectors.search_posts(q=filters.q, viewer=viewer_of(request))


@router.get("posts/{post_id}", **PUBLIC, response=responses({200: PostOut}))
def get_post(request: HttpRequest, post_id: Id) -> Post:
    return _post(request, post_id)


@router.patch("posts/{post_id}", response=responses({200: PostOut}))
def update_post(request: HttpRequest, post_id: Id, payload: PostPatchIn) -> Post:
    """Edit the text, replace the product tags (`photo` = index of the post's photo), or change the sponsor."""
    user = user_of(request)
    post = _post(request, post_id, allow_removed=True)
    data = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if data.get("text") is not None:
        changes["text"] = data["text"]
    if data.get("tags") is not None:
        changes["tags"] = data["tags"]
    if "sponsor" in data:
        changes["sponsor"] = _shop_field(data["sponsor"] or "", viewer=user, field="sponsor")
    services.update_post(actor=user, post=post, **changes)
    return _fresh(request, post)


@router.delete("posts/{post_id}", response=responses({204: None}))
def delete_post(request: HttpRequest, post_id: Id) -> Status[None]:
    services.delete_post(actor=user_of(request), post=_post(request, post_id, allow_removed=True))
    return Status(204, None)


@router.post("posts/{post_id}/hide", response=responses({204: None}))
def hide_post(request: HttpRequest, post_id: Id) -> Status[None]:
    """Take a post down (Agora's moderators)."""
    services.hide_post(actor=user_of(request), post=_post(request, post_id, allow_removed=True))
    return Status(204, None)


@router.delete("posts/{post_id}/sponsor", response=responses({200: PostOut}))
def remove_sponsorship(request: HttpRequest, post_id: Id) -> Post:
    """The named sponsor's staff remove a "paid partnership" label they did not agree to."""
    post = _post(request, post_id)
    services.remove_sponsorship(actor=user_of(request), post=post)
    return _fresh(request, post)


@router.get("users/{username}/posts", **PUBLIC, response=responses({200: list[PostOut]}))
@paginate(PagePagination)
def user_posts(request: HttpRequest, username: Slug) -> Any:
    """A person's posts and reposts. Empty for a private account unless you are an approved follower."""
    return selectors.profile_posts(profile_user=_person(username), viewer=viewer_of(request))


@router.get("users/{username}/tagged-products", **PUBLIC, response=responses({200: list[TaggedProductCardOut]}))
def tagged_products(request: HttpRequest, username: Slug) -> list[Any]:
    """Products this person tagged in the posts you can see, most recently tagged first (at most 24)."""
    return selectors.tagged_products_of(user=_person(username), viewer=viewer_of(request))


@router.get("shops/{slug}/posts", **PUBLIC, response=responses({200: list[PostOut]}))
@paginate(PagePagination)
def shop_posts(request: HttpRequest, slug: Slug) -> Any:
    viewer = viewer_of(request)
    return selectors.shop_posts(shop=shop_selectors.get_shop(slug, viewer=viewer), viewer=viewer)


@router.get("products/{product_id}/posts", **PUBLIC, response=responses({200: list[PostOut]}))
def product_posts(request: HttpRequest, product_id: Id) -> list[Post]:
    """The latest posts (at most 24) that tag this product."""
    viewer = viewer_of(request)
    product = catalog_selectors.get_product(product_id=product_id, viewer=viewer)
    return selectors.posts_tagging(product=product, viewer=viewer, limit=24)


@router.get("products/{product_id}/friends-who-like", **PUBLIC, response=responses({200: list[UserRefOut]}))
def friends_who_like(request: HttpRequest, product_id: Id) -> list[User]:
    """People you follow who liked a post tagging this product (empty when anonymous)."""
    viewer = viewer_of(request)
    product = catalog_selectors.get_product(product_id=product_id, viewer=viewer)
    return selectors.friends_who_like(product=product, viewer=viewer, limit=20)


# --- likes and reposts ----------------------------------------------------------------
@router.post("posts/{post_id}/like", response=responses({200: PostOut}))
def like(request: HttpRequest, post_id: Id) -> Post:
    """Like a post (liking twice is the same as once)."""
    post = _post(request, post_id, allow_removed=True)
    services.like_post(actor=user_of(request), post=post)
    return _fresh(request, post)


@router.delete("posts/{post_id}/like", response=responses({200: PostOut}))
def unlike(request: HttpRequest, post_id: Id) -> Post:
    post = _post(request, post_id, allow_removed=True)
    services.unlike_post(actor=user_of(request), post=post)
    return _fresh(request, post)


@router.post("posts/{post_id}/repost", response=responses({201: PostOut}))
def repost(request: HttpRequest, post_id: Id, payload: RepostIn) -> Status[Post]:
    """Repost into your profile and your followers' feeds, with an optional comment. Again: the same repost."""
    post = _post(request, post_id, allow_removed=True)
    new = services.repost(actor=user_of(request), post=post, text=payload.text)
    return Status(201, _fresh(request, new))


# --- comments -------------------------------------------------------------------------
@router.get("posts/{post_id}/comments", **PUBLIC, response=responses({200: list[CommentThreadOut]}))
@paginate(PagePagination)
def comments(request: HttpRequest, post_id: Id) -> Any:
    """Top-level comments, oldest first, each with its replies. The post's moderators (its author; for a shop's
    post, its staff with the moderation right) also get the hidden ones, marked `hidden`, to show them again."""
    post = _post(request, post_id)
    return selectors.comments_of(post=post, viewer=viewer_of(request), include_hidden=True)


@router.post("posts/{post_id}/comments", response=responses({201: CommentOut}))
def add_comment(request: HttpRequest, post_id: Id, payload: CommentIn) -> Status[Comment]:
    """Comment, or reply to a top-level comment with `parent_id`."""
    post = _post(request, post_id, allow_removed=True)
    comment = services.add_comment(actor=user_of(request), post=post, text=payload.text, parent_id=payload.parent_id)
    return Status(201, comment)


def _comment(request: HttpRequest, comment_id: int) -> Comment:
    return selectors.get_comment(comment_id=comment_id, viewer=viewer_of(request))


@router.patch("comments/{comment_id}", response=responses({200: CommentOut}))
def edit_comment(request: HttpRequest, comment_id: Id, payload: CommentPatchIn) -> Comment:
    return services.edit_comment(actor=user_of(request), comment=_comment(request, comment_id), text=payload.text)


@router.delete("comments/{comment_id}", response=responses({204: None}))
def delete_comment(request: HttpRequest, comment_id: Id) -> Status[None]:
    services.delete_comment(actor=user_of(request), comment=_comment(request, comment_id))
    return Status(204, None)


@router.post("comments/{comment_id}/hide", response=responses({204: None}))
def hide_comment(request: HttpRequest, comment_id: Id) -> Status[None]:
    """Hide a comment on your post (or, for a shop's post, as its staff with the moderation right)."""
    services.hide_comment(actor=user_of(request), comment=_comment(request, comment_id))
    return Status(204, None)


@router.post("comments/{comment_id}/unhide", response=responses({204: None}))
def unhide_comment(request: HttpRequest, comment_id: Id) -> Status[None]:
    services.unhide_comment(actor=user_of(request), comment=_comment(request, comment_id))
    return Status(204, None)


# --- share links ----------------------------------------------------------------------
@router.post("posts/{post_id}/share", response=responses({201: ShareLinkOut}))
def share_post(request: HttpRequest, post_id: Id, payload: ShareIn) -> Status[ShareLink]:
    """A short link to this post, attributed to you (the same link again for the same channel)."""
    post = _post(request, post_id, allow_removed=True)
    return Status(201, services.create_share_link(actor=user_of(request), post=post, channel=payload.channel))


@router.post("products/{product_id}/share", response=responses({201: ShareLinkOut}))
def share_product(request: HttpRequest, product_id: Id, payload: ShareIn) -> Status[ShareLink]:
    user = user_of(request)
    product = catalog_selectors.get_product(product_id=product_id, viewer=user)
    return Status(201, services.create_share_link(actor=user, product=product, channel=payload.channel))


@router.get("share/{code}", **PUBLIC, response=responses({200: ShareLinkOut}))
def resolve_share(request: HttpRequest, code: Slug) -> ShareLink:
    """What a share code points at (without counting an open). A link to a post you may not see, or to a product
    no longer on sale, is a 404 like an unknown code."""
    return selectors.visible_share_link(code=code, viewer=viewer_of(request))


@router.post("share/{code}/open", **PUBLIC, response=responses({200: ShareLinkOut}))
def open_share(request: HttpRequest, code: Slug, payload: ShareOpenIn) -> ShareLink:
    """Record that the link was opened (by you, or by this anonymous browser session) and return its target.
    Opening it again within a day counts once."""
    viewer = viewer_of(request)
    user = viewer if isinstance(viewer, User) and viewer.is_authenticated else None
    session = getattr(request, "session", None)
    if user is None and session is not None and not session.session_key:
        session.save()  # so that a purchase later in this visit can be attributed to the link
    return services.open_share_link(
        code=code,
        viewer=user,
        session_key=(session.session_key or "") if session is not None else "",
        referrer=payload.referrer or request.headers.get("Referer", ""),
        ip=client_ip(request),
    )


# --- polls ----------------------------------------------------------------------------
@router.get("polls/{poll_id}", **PUBLIC, response=responses({200: PollOut}))
def poll_results(request: HttpRequest, poll_id: Id) -> Any:
    """Live results: votes and percentages per option, and your vote."""
    viewer = viewer_of(request)
    return selectors.poll_results(poll=selectors.get_poll(poll_id=poll_id, viewer=viewer), viewer=viewer)


@router.post("polls/{poll_id}/vote", response=responses({200: PollOut}))
def vote(request: HttpRequest, poll_id: Id, payload: VoteIn) -> Any:
    """Vote once. The same vote again is accepted and changes nothing; another option is a 409."""
    user = user_of(request)
    poll = selectors.get_poll(poll_id=poll_id, viewer=user)
    services.vote(actor=user, poll=poll, option_id=payload.option_id)
    return selectors.poll_results(poll=poll, viewer=user)

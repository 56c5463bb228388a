"""Reads for the social graph and posts, always through the privacy rules.

``visible_posts(viewer)`` is THE filter: whatever lists posts (profiles, product pages, search, the feed, the API)
starts from it, and ``can_view_post`` is the same rule for one post already in memory. A post is visible when:

* it is neither deleted nor hidden, and its author's account is active (a shop post: its shop is active);
* for a post by a user: the author and the viewer have not blocked each other (either way), and the author's
  account is public, or the viewer is the author, or an approved follower of the author;
* a post by a shop is public (blocking a person does not hide the shop they work for);
* a repost is visible only when the original is visible too, by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Product, ProductStatus
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import can
from agora.social.errors import CommentNotFound, PollNotFound, PostNotFound, ShareLinkNotFound
from agora.social.models import (
    Block,
    Comment,
    Follow,
    FollowRequest,
    Like,
    Mention,
    Poll,
    PollOption,
    PollVote,
    Post,
    PostPhoto,
    ProductTag,
    ShareLink,
    ShareOpen,
    ShopStats,
    UserStats,
)

Viewer = User | AnonymousUser | None


def _user(viewer: Viewer) -> User | None:
    return viewer if isinstance(viewer, User) and viewer.is_authenticated else None


# --- graph ----------------------------------------------------------------------------
def blocked_between(a_id: int, b_id: int) -> bool:
    """Whether either of the two people blocked the other."""
    return Block.objects.filter(Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)).exists()


def blocked_ids(user: User) -> set[int]:
    """Everyone ``user`` blocked or was blocked by (cached on the user object for the request)."""
    cached: set[int] | None = getattr(user, "_social_blocked_ids", None)
    if cached is None:
        pairs = Block.objects.filter(Q(blocker=user) | Q(blocked=user)).values_list("blocker_id", "blocked_id")
        cached = {b if a == user.pk else a for a, b in pairs}
        user._social_blocked_ids = cached  # type: ignore[attr-defined]
    return cached


def is_following_user(follower: Viewer, target: User) -> bool:
    user = _user(follower)
    return user is not None and Follow.objects.filter(follower=user, target_user=target).exists()


def is_following_shop(follower: Viewer, shop: Shop) -> bool:
    user = _user(follower)
    return user is not None and Follow.objects.filter(follower=user, target_shop=shop).exists()


def following_ids(user: User) -> tuple[set[int], set[int]]:
    """(user ids, shop ids) that ``user`` follows with an approved follow: what a home feed is made of."""
    users: set[int] = set()
    shops: set[int] = set()
    for target_user_id, target_shop_id in Follow.objects.filter(follower=user).values_list(
        "target_user_id", "target_shop_id"
    ):
        if target_user_id:
            users.add(target_user_id)
        else:
            shops.add(target_shop_id)
    return users, shops


def follower_ids(*, user: User | None = None, shop: Shop | None = None) -> QuerySet[Follow, int]:
    """Ids of the followers of a user or a shop (a lazy queryset: the feed's fan-out iterates it)."""
    follows = Follow.objects.filter(target_user=user) if user is not None else Follow.objects.filter(target_shop=shop)
    return follows.order_by().values_list("follower_id", flat=True)


def can_message(sender: User, recipient: User) -> bool:
    """For a later direct-messages feature: blocked people cannot message each other."""
    return sender.pk != recipient.pk and recipient.is_active and not blocked_between(sender.pk, recipient.pk)


def can_see_profile_posts(viewer: Viewer, profile_user: User) -> bool:
    user = _user(viewer)
    if user is not None and user.pk == profile_user.pk:
        return True
    if user is not None and profile_user.pk in blocked_ids(user):
        return False
    if not profile_user.is_private:
        return True
    return is_following_user(user, profile_user)


@dataclass(frozen=True)
class Relationship:
    """How the viewer stands with another person, for a profile header and its buttons."""

    is_self: bool = False
    following: bool = False  # the viewer follows them (approved)
    requested: bool = False  # the viewer asked to follow them and waits
    followed_by: bool = False  # they follow the viewer
    blocking: bool = False  # the viewer blocked them
    blocked_by: bool = False  # they blocked the viewer
    can_see_posts: bool = True

    @property
    def is_friend(self) -> bool:
        return self.following and self.followed_by


def relationship(viewer: Viewer, other: User) -> Relationship:
    user = _user(viewer)
    if user is None:
        return Relationship(can_see_posts=not other.is_private)
    if user.pk == other.pk:
        return Relationship(is_self=True)
    follows = set(
        Follow.objects.filter(Q(follower=user, target_user=other) | Q(follower=other, target_user=user)).values_list(
            "follower_id", flat=True
        )
    )
    blocks = set(
        Block.objects.filter(Q(blocker=user, blocked=other) | Q(blocker=other, blocked=user)).values_list(
            "blocker_id", flat=True
        )
    )
    following = user.pk in follows
    blocked_any = bool(blocks)
    return Relationship(
        following=following,
        requested=not following and FollowRequest.objects.filter(requester=user, target=other).exists(),
        followed_by=other.pk in follows,
        blocking=user.pk in blocks,
        blocked_by=other.pk in blocks,
        can_see_posts=not blocked_any and (not other.is_private or following),
    )


@dataclass(frozen=True)
class Counts:
    followers: int = 0
    following: int = 0
    posts: int = 0


def user_counts(user: User) -> Counts:
    stats = UserStats.objects.filter(user=user).first()
    return Counts(stats.followers_count, stats.following_count, stats.posts_count) if stats else Counts()


def shop_counts(shop: Shop) -> Counts:
    stats = ShopStats.objects.filter(shop=shop).first()
    return Counts(followers=stats.followers_count, posts=stats.posts_count) if stats else Counts()


def _list_visible(viewer: Viewer, owner: User) -> bool:
    """Followers/following lists of a private account are for the account and its approved followers."""
    return can_see_profile_posts(viewer, owner)


def followers_of(*, user: User, viewer: Viewer) -> QuerySet[Follow]:
    """Who follows ``user``, newest first; empty when the viewer may not see the list. Blocked people left out."""
    if not _list_visible(viewer, user):
        return Follow.objects.none()
    follows = Follow.objects.filter(target_user=user, follower__is_active=True).select_related("follower")
    me = _user(viewer)
    if me is not None and (hidden := blocked_ids(me)):
        follows = follows.exclude(follower_id__in=hidden)
    return follows.order_by("-created_at", "-id")


def following_of(*, user: User, viewer: Viewer) -> QuerySet[Follow]:
    """Whom ``user`` follows (people and shops), newest first."""
    if not _list_visible(viewer, user):
        return Follow.objects.none()
    follows = Follow.objects.filter(follower=user).filter(
        Q(target_user__is_active=True) | Q(target_shop__is_active=True)
    )
    me = _user(viewer)
    if me is not None and (hidden := blocked_ids(me)):
        follows = follows.exclude(target_user_id__in=hidden)
    return follows.select_related("target_user", "target_shop").order_by("-created_at", "-id")


def shop_followers(*, shop: Shop, viewer: Viewer) -> QuerySet[Follow]:
    follows = Follow.objects.filter(target_shop=shop, follower__is_active=True).select_related("follower")
    me = _user(viewer)
    if me is not None and (hidden := blocked_ids(me)):
        follows = follows.exclude(follower_id__in=hidden)
    return follows.order_by("-created_at", "-id")


def friends_of(*, user: User, viewer: Viewer) -> QuerySet[User]:
    """Mutual follows: people ``user`` follows who follow ``user`` back."""
    if not _list_visible(viewer, user):
        return User.objects.none()
    friends = User.objects.filter(
        is_active=True,
        follower_set__follower=user,
        following_set__target_user=user,
    )
    me = _user(viewer)
    if me is not None and (hidden := blocked_ids(me)):
        friends = friends.exclude(pk__in=hidden)
    return friends.order_by("username")


def pending_requests(*, user: User) -> QuerySet[FollowRequest]:
    """Requests to follow ``user`` waiting for an answer (only ``user`` asks for this)."""
    return (
        FollowRequest.objects.filter(target=user, requester__is_active=True)
        .select_related("requester")
        .order_by("-created_at", "-id")
    )


def blocked_users(*, user: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked").order_by("-created_at", "-id")


# --- visibility -----------------------------------------------------------------------
def _audience(viewer: User | None, prefix: str = "") -> Q:
    """The rule of the module docstring for the post at ``prefix`` ("" or "repost_of__"), as a Q."""
    author = f"{prefix}author"
    live = Q(**{f"{prefix}hidden_at__isnull": True, f"{prefix}deleted_at__isnull": True})
    by_shop = Q(**{f"{prefix}shop__isnull": False, f"{prefix}shop__is_active": True})
    by_user = Q(**{f"{prefix}shop__isnull": True, f"{author}__is_active": True})
    if viewer is None:
        return live & (by_shop | (by_user & Q(**{f"{author}__is_private": False})))
    blocked = Exists(
        Block.objects.filter(
            Q(blocker_id=viewer.pk, blocked_id=OuterRef(author)) | Q(blocker_id=OuterRef(author), blocked_id=viewer.pk)
        )
    )
    follows = Exists(Follow.objects.filter(follower_id=viewer.pk, target_user_id=OuterRef(author)))
    audience = Q(**{f"{author}__is_private": False}) | Q(**{author: viewer.pk}) | follows
    return live & (by_shop | (by_user & ~blocked & audience))


def visible_posts(viewer: Viewer, posts: QuerySet[Post] | None = None) -> QuerySet[Post]:
    """``posts`` (default: all) narrowed to those ``viewer`` may see. Compose further filters on the result."""
    user = _user(viewer)
    qs = Post.objects.all() if posts is None else posts
    return qs.filter(_audience(user)).filter(Q(repost_of__isnull=True) | _audience(user, "repost_of__"))


def _may_see_one(user: User | None, post: Post) -> bool:
    if not post.is_live:
        return False
    if post.shop_id is not None:
        return bool(post.shop and post.shop.is_active)
    author = post.author
    if not author.is_active:
        return False
    if user is not None and user.pk == author.pk:
        return True
    if user is not None and author.pk in blocked_ids(user):
        return False
    if not author.is_private:
        return True
    return user is not None and Follow.objects.filter(follower=user, target_user=author).exists()


def can_view_post(viewer: Viewer, post: Post) -> bool:
    """The rule of ``visible_posts`` for one post in memory (and its original, for a repost)."""
    user = _user(viewer)
    if not _may_see_one(user, post):
        return False
    return post.repost_of is None or _may_see_one(user, post.repost_of)


def who_may_see(post: Post, people: QuerySet[User]) -> QuerySet[User]:
    """Those of ``people`` who may see ``post``: the rule of ``visible_posts`` for many viewers at once, in one
    query (who is told that a poll closed, who gets its live results)."""
    if not post.is_live:
        return people.none()
    people = people.filter(is_active=True)
    if post.shop_id is not None:
        return people if post.shop is not None and post.shop.is_active else people.none()
    author = post.author
    if not author.is_active:
        return people.none()
    blocked = Exists(
        Block.objects.filter(
            Q(blocker_id=author.pk, blocked_id=OuterRef("pk")) | Q(blocker_id=OuterRef("pk"), blocked_id=author.pk)
        )
    )
    people = people.filter(~blocked)
    if author.is_private:
        follows = Exists(Follow.objects.filter(follower_id=OuterRef("pk"), target_user_id=author.pk))
        people = people.filter(Q(pk=author.pk) | follows)
    if post.repost_of is not None:
        people = who_may_see(post.repost_of, people)
    return people


def could_view_if_live(viewer: Viewer, post: Post) -> bool:
    """Whether ``viewer`` could see ``post`` were it not deleted or hidden: such a viewer is told "removed"
    (409) when acting on it, anyone else just "not found" (404)."""
    saved = post.hidden_at, post.deleted_at
    post.hidden_at = post.deleted_at = None
    try:
        return can_view_post(viewer, post)
    finally:
        post.hidden_at, post.deleted_at = saved


# --- post data ------------------------------------------------------------------------
def _live_tags() -> QuerySet[ProductTag]:
    # Tags on products that are no longer published (or whose shop closed) are kept but not shown.
    return (
        ProductTag.objects.filter(product__status=ProductStatus.PUBLISHED, product__shop__is_active=True)
        .select_related("product", "product__shop", "variant", "variant__shop")
        .order_by("position", "id")
    )


def with_post_data(posts: QuerySet[Post], viewer: Viewer) -> QuerySet[Post]:
    """What a post card shows (author, shop, sponsor, photos, product tags, poll, the original of a repost and
    whether the viewer liked it), in a fixed number of queries whatever the number of posts."""
    user = _user(viewer)
    photos = PostPhoto.objects.order_by("position", "id")
    polls = Poll.objects.prefetch_related(Prefetch("options", queryset=PollOption.objects.order_by("position", "id")))
    if user is not None:
        polls = polls.prefetch_related(
            Prefetch("votes", queryset=PollVote.objects.filter(user_id=user.pk), to_attr="viewer_votes")
        )
    mentions = Mention.objects.filter(comment__isnull=True).select_related("user")
    posts = posts.select_related(
        "author", "shop", "sponsor", "repost_of", "repost_of__author", "repost_of__shop", "repost_of__sponsor"
    ).prefetch_related(
        Prefetch("photos", queryset=photos, to_attr="photo_list"),
        Prefetch("product_tags", queryset=_live_tags(), to_attr="tag_list"),
        Prefetch("mentions", queryset=mentions),
        Prefetch("poll", queryset=polls),
    )
    # The same names on the original of a repost (django-stubs thinks they land on the same model twice).
    posts = posts.prefetch_related(  # type: ignore[no-redef]
        Prefetch("repost_of__photos", queryset=photos, to_attr="photo_list"),
        Prefetch("repost_of__product_tags", queryset=_live_tags(), to_attr="tag_list"),
        Prefetch("repost_of__mentions", queryset=mentions),
        Prefetch("repost_of__poll", queryset=polls),
    )
    if user is not None:
        posts = posts.annotate(
            viewer_liked=Exists(Like.objects.filter(user_id=user.pk, post_id=OuterRef("pk"))),
            viewer_liked_original=Exists(Like.objects.filter(user_id=user.pk, post_id=OuterRef("repost_of_id"))),
        )
    return posts


def get_post(*, post_id: int, viewer: Viewer, allow_removed: bool = False) -> Post:
    """A post the viewer may see, with its card data. ``allow_removed`` also returns a deleted or hidden post to
    those who could see it otherwise, so that acting on it says "removed" rather than "not found"."""
    post = with_post_data(Post.objects.filter(pk=post_id), viewer).first()
    if post is None:
        raise PostNotFound(_("No post %(id)s.") % {"id": post_id})
    if can_view_post(viewer, post) or (allow_removed and could_view_if_live(viewer, post)):
        return post
    raise PostNotFound(_("No post %(id)s.") % {"id": post_id})


def profile_posts(*, profile_user: User, viewer: Viewer) -> QuerySet[Post]:
    """A person's own posts and reposts (not the ones they wrote for a shop), newest first."""
    posts = visible_posts(viewer, Post.objects.filter(author=profile_user, shop__isnull=True))
    return with_post_data(posts, viewer).order_by("-created_at", "-id")


def shop_posts(*, shop: Shop, viewer: Viewer) -> QuerySet[Post]:
    posts = visible_posts(viewer, Post.objects.filter(shop=shop))
    return with_post_data(posts, viewer).order_by("-created_at", "-id")


# Product pages look at the most recent posts that tag the product, not all of them: a popular product may be in
# thousands of posts, and the privacy joins of `visible_posts` over the whole post table make PostgreSQL's planner
# scan every post (measured: 0.6 s on 500,000 posts) instead of starting from the product's few tags.
TAGGING_CANDIDATES = 200


def _tagging_post_ids(product: Product) -> list[int]:
    """Ids of the latest original, live posts tagging ``product`` (at most TAGGING_CANDIDATES), by the tag index."""
    return list(
        ProductTag.objects.filter(
            product_id=product.pk,
            post__repost_of__isnull=True,
            post__deleted_at__isnull=True,
            post__hidden_at__isnull=True,
        )
        .order_by("-post_id")
        .values_list("post_id", flat=True)
        .distinct()[:TAGGING_CANDIDATES]
    )


def posts_tagging(*, product: Product, viewer: Viewer, limit: int = 12) -> list[Post]:
    """Posts that tag ``product`` (originals only: a repost shows the same picture again), newest first."""
    ids = _tagging_post_ids(product)
    if not ids:
        return []
    tagged = Post.objects.filter(pk__in=ids)
    return list(with_post_data(visible_posts(viewer, tagged), viewer).order_by("-created_at", "-id")[:limit])


def friends_who_like(*, product: Product, viewer: Viewer, limit: int = 5) -> list[User]:
    """People the viewer follows who liked a post (one the viewer can see) that tags ``product``."""
    user = _user(viewer)
    if user is None:
        return []
    ids = _tagging_post_ids(product)
    if not ids:
        return []
    tagged_visible = list(visible_posts(user, Post.objects.filter(pk__in=ids)).values_list("pk", flat=True))
    if not tagged_visible:
        return []
    liked = Like.objects.filter(user_id=OuterRef("pk"), post_id__in=tagged_visible)
    people = User.objects.filter(
        Exists(Follow.objects.filter(follower_id=user.pk, target_user_id=OuterRef("pk"))),
        Exists(liked),
        is_active=True,
    )
    if hidden := blocked_ids(user):
        people = people.exclude(pk__in=hidden)
    return list(people.order_by("username")[:limit])


def tagged_products_of(*, user: User, viewer: Viewer = None, limit: int = 24) -> list[Product]:
    """Published products that ``user`` tagged in the posts the viewer can see, most recently tagged first."""
    posts = visible_posts(viewer, Post.objects.filter(author=user, shop__isnull=True)).values("pk")
    tags = (
        ProductTag.objects.filter(
            post_id__in=posts, product__status=ProductStatus.PUBLISHED, product__shop__is_active=True
        )
        .order_by("-post_id", "position")
        .values_list("product_id", flat=True)
    )
    seen: list[int] = []
    for product_id in tags[: limit * 5]:
        if product_id not in seen:
            seen.append(product_id)
        if len(seen) >= limit:
            break
    by_id = Product.objects.select_related("shop").prefetch_related("images").in_bulk(seen)
    return [by_id[i] for i in seen if i in by_id]


def search_posts(*, q: str, viewer: Viewer) -> QuerySet[Post]:
    """Posts whose text contains every word of ``q`` ("#tag" words match the hashtag), newest first."""
    posts = Post.objects.all()
    for word in q.replace("\x00", "").split()[:8]:
        if word.startswith("#") and len(word) > 1:
            posts = posts.filter(post_hashtags__hashtag__name=word[1:].lower())
        else:
            posts = posts.filter(text__icontains=word)
    return with_post_data(visible_posts(viewer, posts), viewer).order_by("-created_at", "-id")


# --- comments -------------------------------------------------------------------------
def can_moderate(user: Viewer, post: Post) -> bool:
    """Who may hide comments on ``post``: its author (for a personal post), the shop's staff with
    MODERATE_COMMENTS (for a shop post), and the operator's staff."""
    me = _user(user)
    if me is None:
        return False
    if me.is_staff:
        return True
    if post.shop_id is not None:
        return post.shop is not None and can(me, post.shop, ShopAction.MODERATE_COMMENTS)
    return me.pk == post.author_id


def comments_of(*, post: Post, viewer: Viewer, include_hidden: bool = False) -> QuerySet[Comment]:
    """Top-level live comments with their live replies (``reply_list``), oldest first. People blocked by or
    blocking the viewer are left out. ``include_hidden`` adds the hidden ones (``hidden_at`` set) when the viewer
    may moderate the post (``can_moderate``), so that they can show them again; ignored for anyone else."""
    me = _user(viewer)
    shown = Q(deleted_at__isnull=True, author__is_active=True)
    if not (include_hidden and can_moderate(me, post)):
        shown &= Q(hidden_at__isnull=True)
    replies = Comment.objects.filter(shown)
    top = Comment.objects.filter(shown, post=post, parent__isnull=True)
    if me is not None and (hidden := blocked_ids(me)):
        replies = replies.exclude(author_id__in=hidden)
        top = top.exclude(author_id__in=hidden)
    mentions = Prefetch("mentions", queryset=Mention.objects.select_related("user"))
    return (
        top.select_related("author")
        .prefetch_related(
            mentions,
            Prefetch(
                "replies",
                queryset=replies.select_related("author").prefetch_related(mentions).order_by("created_at", "id"),
                to_attr="reply_list",
            ),
        )
        .order_by("created_at", "id")
    )


def get_comment(*, comment_id: int, viewer: Viewer) -> Comment:
    """A comment on a post the viewer can see (removed comments too: acting on them says why it cannot)."""
    comment = (
        Comment.objects.select_related("post", "post__author", "post__shop", "post__repost_of", "author")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        raise CommentNotFound(_("No comment %(id)s.") % {"id": comment_id})
    post = comment.post
    if not (can_view_post(viewer, post) or could_view_if_live(viewer, post)):
        raise CommentNotFound(_("No comment %(id)s.") % {"id": comment_id})
    return comment


@dataclass
class PostDetail:
    post: Post
    comments: list[Comment]
    can_moderate: bool
    can_edit: bool
    poll: PollResults | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def post_detail(*, post: Post, viewer: Viewer, comments_limit: int = 50) -> PostDetail:
    """A post page: the post, its first comments with replies (the hidden ones too for its moderators), the poll's
    results and what the viewer may do."""
    if not can_view_post(viewer, post):
        raise PostNotFound(_("No post %(id)s.") % {"id": post.pk})
    original = post.repost_of or post
    poll: Poll | None = getattr(original, "poll", None)
    return PostDetail(
        post=post,
        comments=list(comments_of(post=post, viewer=viewer, include_hidden=True)[:comments_limit]),
        can_moderate=can_moderate(viewer, post),
        can_edit=can_edit_post(viewer, post),
        poll=poll_results(poll=poll, viewer=viewer) if poll is not None else None,
    )


def can_edit_post(viewer: Viewer, post: Post) -> bool:
    me = _user(viewer)
    if me is None:
        return False
    if post.shop_id is not None:
        return post.shop is not None and can(me, post.shop, ShopAction.POST_AS_SHOP)
    return me.pk == post.author_id


# --- polls ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OptionResult:
    id: int
    text: str
    votes: int
    percent: float
    product_id: int | None
    variant_id: int | None


@dataclass(frozen=True)
class PollResults:
    id: int
    question: str
    closes_at: datetime
    is_open: bool
    total: int
    options: list[OptionResult]
    voted_option_id: int | None


def poll_results(*, poll: Poll, viewer: Viewer) -> PollResults:
    """Counts and shares per option (from the denormalised counters), and what the viewer voted."""
    me = _user(viewer)
    options = list(poll.options.all())
    total = sum(o.votes_count for o in options)
    voted: int | None = None
    if me is not None:
        mine = getattr(poll, "viewer_votes", None)  # prefetched by with_post_data for the viewer
        if mine is not None:
            voted = mine[0].option_id if mine else None
        else:
            voted = PollVote.objects.filter(poll=poll, user=me).values_list("option_id", flat=True).first()
    return PollResults(
        id=poll.pk,
        question=poll.question,
        closes_at=poll.closes_at,
        is_open=poll.closes_at > timezone.now(),
        total=total,
        options=[
            OptionResult(
                id=o.pk,
                text=o.text,
                votes=o.votes_count,
                percent=round(100 * o.votes_count / total, 1) if total else 0.0,
                product_id=o.product_id,
                variant_id=o.variant_id,
            )
            for o in options
        ],
        voted_option_id=voted,
    )


def get_poll(*, poll_id: int, viewer: Viewer) -> Poll:
    poll = Poll.objects.select_related("post", "post__author", "post__shop").filter(pk=poll_id).first()
    if poll is None or not can_view_post(viewer, poll.post):
        raise PollNotFound(_("No poll %(id)s.") % {"id": poll_id})
    return poll


# --- share links ----------------------------------------------------------------------
def share_path(code: str) -> str:
    """Where a share link opens on the site (the web page records the open and redirects to the target)."""
    try:
        return reverse("web:share", args=[code])
    except NoReverseMatch:
        return f"/l/{code}/"


def resolve_share_link(code: str) -> ShareLink:
    """The link behind a short code, with its target (a post or a product), whoever may see it: see
    ``visible_share_link`` for what to show to someone."""
    code = code.strip()
    link = None
    if code and "\x00" not in code:
        link = (
            ShareLink.objects.select_related(
                "sharer", "post", "post__author", "post__shop", "post__repost_of", "product", "product__shop"
            )
            .filter(code=code)
            .first()
        )
    if link is None:
        raise ShareLinkNotFound(_("This share link does not exist."))
    return link


def visible_share_link(*, code: str, viewer: Viewer) -> ShareLink:
    """The link behind a short code when its target is something the viewer may see: a post through the privacy
    rules, a product while it is on sale. Anything else is "not found", like a code that does not exist."""
    link = resolve_share_link(code)
    if link.post is not None:
        visible = can_view_post(viewer, link.post)
    else:
        product = link.product
        visible = product is not None and product.status == ProductStatus.PUBLISHED and product.shop.is_active
    if not visible:
        raise ShareLinkNotFound(_("This share link does not exist."))
    return link


def attributed_share(
    *, product_id: int, user: User | None = None, session_key: str = "", within_days: int = 7
) -> ShareLink | None:
    """The share link that most recently brought this shopper (user or anonymous session) to ``product_id`` —
    a link to the product itself or to a post tagging it — within ``within_days``. For attributing purchases."""
    if user is None and not session_key:
        return None
    who = Q(viewer=user) if user is not None else Q(session_key=session_key)
    if user is not None and session_key:
        who |= Q(session_key=session_key)
    since = timezone.now() - timedelta(days=within_days)
    opened = (
        ShareOpen.objects.filter(who, opened_at__gte=since)
        .filter(Q(link__product_id=product_id) | Q(link__post__product_tags__product_id=product_id))
        .select_related("link")
        .order_by("-opened_at", "-id")
        .first()
    )
    return opened.link if opened is not None else None

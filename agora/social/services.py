"""Writes for the social side: follows and blocks, posts with photos and product tags, likes, comments, reposts,
share links and polls. Each sends its signal (agora.social.signals) right after its write, inside the transaction.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts import services as account_services
from agora.accounts.models import User
from agora.catalog.models import Product, ProductStatus, Variant
from agora.core.errors import NotAuthenticated, PermissionDenied, RateLimited
from agora.core.images import clean_image, make_thumbnail
from agora.core.ratelimit import hit
from agora.core.realtime import send_to_user
from agora.core.text import clean_text
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import can, require
from agora.social import selectors, signals
from agora.social.errors import (
    AlreadyVoted,
    BlockedError,
    CannotBlockSelf,
    CannotFollowSelf,
    CannotRepost,
    CommentInvalid,
    CommentNotFound,
    CommentRemoved,
    FollowRequestNotFound,
    NotYourComment,
    NotYourPost,
    PollClosed,
    PollInvalid,
    PostInvalid,
    PostNotFound,
    PostRemoved,
    ProductNotTaggable,
    ShareInvalid,
    SponsorInvalid,
    TooManyPhotos,
    TooManyTags,
)
from agora.social.models import (
    Block,
    Comment,
    Follow,
    FollowRequest,
    Hashtag,
    Like,
    Mention,
    Poll,
    PollOption,
    PollVote,
    Post,
    PostHashtag,
    PostPhoto,
    ProductTag,
    ShareLink,
    ShareOpen,
    ShopStats,
    UserStats,
)
from agora.social.text import MAX_MENTIONS, mention_candidates, parse_hashtags, profile_url

_UNSET: Any = object()
SHARE_CODE_ALPHABET = string.ascii_letters + string.digits
SHARE_CODE_LENGTH = 8
MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 2, 6
MIN_POLL_MINUTES = 5
# The same person (or browser session) opening a link again within this time is one open, not another.
SHARE_OPEN_WINDOW = timedelta(hours=24)


# --- small helpers --------------------------------------------------------------------
def _signed_in(actor: User | None) -> User:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    return actor


def _rate(action: str, actor: User | str) -> None:
    """Count one ``action`` by ``actor`` (a person, or for anonymous actions an address or session)."""
    key = action.upper()
    hit(
        f"social.{action}",
        actor if isinstance(actor, str) else str(actor.pk),
        limit=getattr(settings, f"AGORA_SOCIAL_{key}_RATE_LIMIT"),
        window=getattr(settings, f"AGORA_SOCIAL_{key}_RATE_WINDOW"),
    )


def _bump(model: type[models.Model], pk: int, field: str, delta: int) -> None:
    """Add ``delta`` to a denormalised counter with F(), never below zero; stats rows are created on first use."""
    if model in (UserStats, ShopStats) and delta > 0:
        key = "user_id" if model is UserStats else "shop_id"
        model._default_manager.bulk_create([model(**{key: pk})], ignore_conflicts=True)
    rows = model._default_manager.filter(pk=pk)
    if delta < 0:
        rows = rows.filter(**{f"{field}__gte": -delta})
    rows.update(**{field: F(field) + delta})


def post_url(post: Post | int) -> str:
    pk = post if isinstance(post, int) else post.pk
    try:
        return reverse("web:post", args=[pk])
    except NoReverseMatch:
        return f"/p/{pk}/"


def _withdraw(**filters: Any) -> None:
    """Take back social notifications whose content the recipient should no longer see (see ``notify``)."""
    from agora.notifications.services import withdraw

    if "urls" in filters and not filters["urls"]:
        return  # no posts, nothing they could point at
    withdraw(kind_prefix="social.", **filters)


def _post_urls(posts: models.QuerySet[Post]) -> list[str]:
    return [post_url(pk) for pk in posts.order_by().values_list("pk", flat=True)]


def _notify(
    recipient: User, kind: str, *, title: str, url: str, actor: User | None, body: str = "", key: str = ""
) -> None:
    # Imported here: the notifications app is written in parallel and must not be needed to import this module.
    from agora.notifications.services import notify

    notify(recipient, kind, title=title, body=body[:300], url=url, actor=actor, dedupe_key=key)


def _snippet(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# --- follows --------------------------------------------------------------------------
@dataclass(frozen=True)
class FollowResult:
    status: str  # "following" or "requested"
    created: bool


def _start_follow(*, follower: User, target_user: User | None = None, target_shop: Shop | None = None) -> bool:
    """Store an approved follow; False when it already existed. Counters and the signal only on a new row."""
    try:
        with transaction.atomic():
            Follow.objects.create(follower=follower, target_user=target_user, target_shop=target_shop)
    except IntegrityError:
        return False
    _bump(UserStats, follower.pk, "following_count", +1)
    if target_user is not None:
        _bump(UserStats, target_user.pk, "followers_count", +1)
    else:
        assert target_shop is not None
        _bump(ShopStats, target_shop.pk, "followers_count", +1)
    signals.follow_started.send(
        sender=Follow,
        follower_id=follower.pk,
        target_user_id=target_user.pk if target_user else None,
        target_shop_id=target_shop.pk if target_shop else None,
    )
    return True


def _end_follow(*, follower_id: int, target_user_id: int | None = None, target_shop_id: int | None = None) -> bool:
    if not (target_user_id or target_shop_id):
        raise ValueError("_end_follow needs a target")  # never "every follow of this person"
    rows = Follow.objects.filter(follower_id=follower_id)
    rows = rows.filter(target_user_id=target_user_id) if target_user_id else rows.filter(target_shop_id=target_shop_id)
    deleted, _by_model = rows.delete()
    if not deleted:
        return False
    _bump(UserStats, follower_id, "following_count", -1)
    if target_user_id:
        _bump(UserStats, target_user_id, "followers_count", -1)
    else:
        assert target_shop_id is not None
        _bump(ShopStats, target_shop_id, "followers_count", -1)
    signals.follow_ended.send(
        sender=Follow, follower_id=follower_id, target_user_id=target_user_id, target_shop_id=target_shop_id
    )
    return True


def follow_user(*, actor: User, target: User) -> FollowResult:
    """Follow ``target``; for a private account this asks them instead (status "requested"). Idempotent."""
    actor = _signed_in(actor)
    if actor.pk == target.pk:
        raise CannotFollowSelf(_("You cannot follow yourself."))
    if not target.is_active:
        raise PermissionDenied(_("This account is closed."), code="account_closed")
    if selectors.blocked_between(actor.pk, target.pk):
        raise BlockedError(_("You cannot follow this account."))
    if Follow.objects.filter(follower=actor, target_user=target).exists():
        return FollowResult("following", created=False)
    _rate("follow", actor)
    with transaction.atomic():
        if target.is_private:
            _request, created = FollowRequest.objects.get_or_create(requester=actor, target=target)
            if created:
                _notify(
                    target,
                    "social.follow_request",
                    title=_("%(name)s asked to follow you") % {"name": actor.public_name},
                    url=_follow_requests_url(),
                    actor=actor,
                    key=f"follow_request:{actor.pk}",
                )
            return FollowResult("requested", created=created)
        created = _start_follow(follower=actor, target_user=target)
        if created:
            _notify_new_follower(follower=actor, target=target)
    return FollowResult("following", created=created)


def _follow_requests_url() -> str:
    try:
        return reverse("web:follow_requests")
    except NoReverseMatch:
        return "/follow-requests/"


def _notify_new_follower(*, follower: User, target: User) -> None:
    _notify(
        target,
        "social.follow",
        title=_("%(name)s started following you") % {"name": follower.public_name},
        url=profile_url(follower.username),
        actor=follower,
        # Follow, unfollow, follow again within the hour: one notification, not three.
        key=f"follow:{follower.pk}",
    )


def unfollow_user(*, actor: User, target: User) -> bool:
    """Stop following ``target`` (or withdraw a pending request). Idempotent: False when there was nothing."""
    actor = _signed_in(actor)
    with transaction.atomic():
        withdrawn, _by_model = FollowRequest.objects.filter(requester=actor, target=target).delete()
        ended = _end_follow(follower_id=actor.pk, target_user_id=target.pk)
    return ended or bool(withdrawn)


def follow_shop(*, actor: User, shop: Shop) -> FollowResult:
    actor = _signed_in(actor)
    if not shop.is_active:
        raise PermissionDenied(_("This shop is closed."), code="shop_closed")
    if Follow.objects.filter(follower=actor, target_shop=shop).exists():
        return FollowResult("following", created=False)
    _rate("follow", actor)
    with transaction.atomic():
        created = _start_follow(follower=actor, target_shop=shop)
    return FollowResult("following", created=created)


def unfollow_shop(*, actor: User, shop: Shop) -> bool:
    actor = _signed_in(actor)
    with transaction.atomic():
        return _end_follow(follower_id=actor.pk, target_shop_id=shop.pk)


def approve_request(*, actor: User, requester: User) -> Follow:
    """Accept ``requester``'s request to follow ``actor``."""
    actor = _signed_in(actor)
    with transaction.atomic():
        deleted, _by_model = FollowRequest.objects.filter(requester=requester, target=actor).delete()
        if not deleted:
            existing = Follow.objects.filter(follower=requester, target_user=actor).first()
            if existing is not None:
                return existing  # approved twice (a double click): the same answer
            raise FollowRequestNotFound(_("%(name)s has not asked to follow you.") % {"name": requester.public_name})
        if selectors.blocked_between(actor.pk, requester.pk):
            raise BlockedError(_("Unblock this person first."))
        if _start_follow(follower=requester, target_user=actor):
            _notify(
                requester,
                "social.follow_approved",
                title=_("%(name)s accepted your follow request") % {"name": actor.public_name},
                url=_profile(actor),
                actor=actor,
            )
        return Follow.objects.get(follower=requester, target_user=actor)


def _profile(user: User) -> str:
    return profile_url(user.username)


def decline_request(*, actor: User, requester: User) -> None:
    actor = _signed_in(actor)
    deleted, _by_model = FollowRequest.objects.filter(requester=requester, target=actor).delete()
    if not deleted:
        raise FollowRequestNotFound(_("%(name)s has not asked to follow you.") % {"name": requester.public_name})


def remove_follower(*, actor: User, follower: User) -> bool:
    """Make ``follower`` stop following ``actor`` (useful after turning the account private)."""
    actor = _signed_in(actor)
    with transaction.atomic():
        return _end_follow(follower_id=follower.pk, target_user_id=actor.pk)


def block_user(*, actor: User, target: User) -> Block:
    """Block ``target``: follows and requests both ways end; neither sees the other's posts any more; they cannot
    follow, comment on, mention or message ``actor``. Idempotent."""
    actor = _signed_in(actor)
    if actor.pk == target.pk:
        raise CannotBlockSelf(_("You cannot block yourself."))
    with transaction.atomic():
        block, created = Block.objects.get_or_create(blocker=actor, blocked=target)
        if created:
            _end_follow(follower_id=actor.pk, target_user_id=target.pk)
            _end_follow(follower_id=target.pk, target_user_id=actor.pk)
            FollowRequest.objects.filter(Q(requester=actor, target=target) | Q(requester=target, target=actor)).delete()
            for user in (actor, target):
                if hasattr(user, "_social_blocked_ids"):
                    del user._social_blocked_ids
            _forget_each_other(actor, target)
            signals.user_blocked.send(sender=Block, blocker_id=actor.pk, blocked_id=target.pk)
    return block


def _forget_each_other(a: User, b: User) -> None:
    """After a block, neither keeps notifications about the other: what one did (a like, a mention, a follow
    request), nor what third parties said on the other's posts (a mention in a comment there); and the mentions of
    each in the other's posts and comments are dropped."""
    for recipient, other in ((a, b), (b, a)):
        _withdraw(recipient_id=recipient.pk, actor_id=other.pk)
        _withdraw(recipient_id=recipient.pk, urls=_post_urls(Post.objects.filter(author=other, shop__isnull=True)))
        # Nor does either stay mentioned by the other: the @name becomes plain text, as if written after the block.
        Mention.objects.filter(
            Q(user=recipient) & (Q(comment__isnull=True, post__author=other) | Q(comment__author=other))
        ).delete()


def unblock_user(*, actor: User, target: User) -> bool:
    actor = _signed_in(actor)
    with transaction.atomic():
        deleted, _by_model = Block.objects.filter(blocker=actor, blocked=target).delete()
        if deleted:
            if hasattr(actor, "_social_blocked_ids"):
                del actor._social_blocked_ids
            signals.user_unblocked.send(sender=Block, blocker_id=actor.pk, blocked_id=target.pk)
    return bool(deleted)


# --- private accounts -----------------------------------------------------------------
def set_private(*, user: User, private: bool) -> User:
    """Turn ``user``'s account private or public (the field is accounts', written through its service) and apply
    what follows from it. Idempotent: nothing happens when the account already is so.

    * Going public approves every pending follow request (as Instagram does: they asked to see the posts, which
      are now public anyway); each requester is told, like after an approval.
    * Going private keeps the followers, and takes back the notifications that showed the account's posts to
      people who are not its approved followers (a mention of them, a reply on one of its posts).

    Sends ``account_privacy_changed`` after the change, inside the transaction.
    """
    user = _signed_in(user)
    private = bool(private)
    with transaction.atomic():
        # Locked, so two requests switching at once apply their consequences once each, in turn.
        was_private = User.objects.select_for_update().values_list("is_private", flat=True).get(pk=user.pk)
        user = account_services.update_profile(user=user, is_private=private)
        if was_private == private:
            return user
        if private:
            audience = User.objects.filter(Q(pk=user.pk) | Q(following_set__target_user=user)).values("pk")
            _withdraw(urls=_post_urls(Post.objects.filter(author=user, shop__isnull=True)), keep_recipient_ids=audience)
        else:
            for pending in FollowRequest.objects.filter(target=user).select_related("requester").order_by("pk"):
                try:
                    approve_request(actor=user, requester=pending.requester)
                except BlockedError:  # cannot happen (a block drops requests); never approve one anyway
                    FollowRequest.objects.filter(pk=pending.pk).delete()
        signals.account_privacy_changed.send(sender=User, user_id=user.pk, is_private=private)
    return user


# --- posts: checks --------------------------------------------------------------------
def _post_text(text: str, *, required: bool) -> str:
    text = clean_text(text, field="text", max_length=settings.AGORA_POST_MAX_LENGTH)
    if required and not text:
        raise PostInvalid(_("Write something or add a photo."), field="text")
    return text


def _taggable(product_id: object, variant_id: object) -> tuple[Product, Variant | None]:
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise ProductNotTaggable(_("Each product tag needs a product id."), field="tags")
    product = Product.objects.select_related("shop").filter(pk=product_id).first()
    if product is None or product.status != ProductStatus.PUBLISHED or not product.shop.is_active:
        raise ProductNotTaggable(
            _("Product %(id)s is not published; only published products can be tagged.") % {"id": product_id},
            field="tags",
        )
    variant = None
    if variant_id is not None:
        if isinstance(variant_id, bool) or not isinstance(variant_id, int):
            raise ProductNotTaggable(_("A variant id is a whole number."), field="tags")
        variant = Variant.objects.filter(pk=variant_id, product=product, is_active=True).first()
        if variant is None:
            raise ProductNotTaggable(
                _("Variant %(variant)s is not an active variant of product %(product)s.")
                % {"variant": variant_id, "product": product_id},
                field="tags",
            )
    return product, variant


def _coordinate(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PostInvalid(_("A tag's %(axis)s is a number from 0 to 1.") % {"axis": name}, field="tags")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise PostInvalid(
            _("A tag's %(axis)s must be between 0 and 1 (a fraction of the photo's size).") % {"axis": name},
            field="tags",
        )
    return number


@dataclass(frozen=True)
class _TagSpec:
    product: Product
    variant: Variant | None
    photo_index: int | None
    x: float | None
    y: float | None


def _check_tags(specs: Sequence[Mapping[str, Any]], photo_count: int) -> list[_TagSpec]:
    if len(specs) > settings.AGORA_POST_MAX_PRODUCT_TAGS:
        raise TooManyTags(
            _("A post tags at most %(max)d products.") % {"max": settings.AGORA_POST_MAX_PRODUCT_TAGS}, field="tags"
        )
    checked: list[_TagSpec] = []
    for spec in specs:
        if not isinstance(spec, Mapping):
            raise PostInvalid(_("Each product tag is an object with a product_id."), field="tags")
        product, variant = _taggable(spec.get("product_id"), spec.get("variant_id"))
        photo = spec.get("photo")
        x, y = spec.get("x"), spec.get("y")
        if photo is not None and (
            isinstance(photo, bool) or not isinstance(photo, int) or not 0 <= photo < photo_count
        ):
            raise PostInvalid(
                _("A tag's photo is the number of a photo of this post, from 0 to %(last)d.")
                % {"last": max(photo_count - 1, 0)},
                field="tags",
            )
        if (x is None) != (y is None):
            raise PostInvalid(_("A tag's position needs both x and y."), field="tags")
        if x is not None and photo is None:
            raise PostInvalid(_("A tag with a position must say which photo it is on."), field="tags")
        checked.append(
            _TagSpec(
                product=product,
                variant=variant,
                photo_index=photo,
                x=_coordinate(x, "x") if x is not None else None,
                y=_coordinate(y, "y") if y is not None else None,
            )
        )
    return checked


def _check_sponsor(sponsor: Shop | None, *, shop: Shop | None) -> Shop | None:
    if sponsor is None:
        return None
    if not sponsor.is_active:
        raise SponsorInvalid(_("The sponsoring shop is closed."), field="sponsor")
    if shop is not None and sponsor.pk == shop.pk:
        raise SponsorInvalid(_("A shop's own post cannot be sponsored by the shop itself."), field="sponsor")
    return sponsor


@dataclass(frozen=True)
class _PollSpec:
    question: str
    closes_at: datetime
    options: list[tuple[str, Product | None, Variant | None]]


def _check_poll(spec: Mapping[str, Any] | None) -> _PollSpec | None:
    if spec is None:
        return None
    question = spec.get("question") or ""
    if not isinstance(question, str):
        raise PollInvalid(_("The poll question must be text, not a number or a list."), field="question")
    question = clean_text(question, field="question", max_length=200, required=True)
    options = spec.get("options") or []
    # A string is a Sequence too: "options": "AB" would be two options, "A" and "B".
    if (
        isinstance(options, str)
        or not isinstance(options, Sequence)
        or not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS
    ):
        raise PollInvalid(
            _("A poll has %(min)d to %(max)d options.") % {"min": MIN_POLL_OPTIONS, "max": MAX_POLL_OPTIONS},
            field="poll.options",
        )
    now = timezone.now()
    closes_at = spec.get("closes_at")
    if closes_at is None:
        closes_at = now + timedelta(days=1)
    if not isinstance(closes_at, datetime) or timezone.is_naive(closes_at):
        raise PollInvalid(_("The closing time needs a date, a time and a time zone."), field="poll.closes_at")
    if closes_at < now + timedelta(minutes=MIN_POLL_MINUTES):
        raise PollInvalid(
            _("A poll stays open at least %(minutes)d minutes.") % {"minutes": MIN_POLL_MINUTES},
            field="poll.closes_at",
        )
    if closes_at > now + timedelta(days=settings.AGORA_POLL_MAX_DAYS):
        raise PollInvalid(
            _("A poll closes within %(days)d days.") % {"days": settings.AGORA_POLL_MAX_DAYS}, field="poll.closes_at"
        )
    checked: list[tuple[str, Product | None, Variant | None]] = []
    seen: set[str] = set()
    for option in options:
        if isinstance(option, str):
            option = {"text": option}
        if not isinstance(option, Mapping):
            raise PollInvalid(_("Each poll option has a text."), field="poll.options")
        product: Product | None = None
        variant: Variant | None = None
        if option.get("product_id") is not None:
            product, variant = _taggable(option.get("product_id"), option.get("variant_id"))
        text = option.get("text") or ""
        if not isinstance(text, str):
            raise PollInvalid(
                _("The text of a poll option must be text, not a number or a list."), field="poll.options"
            )
        text = clean_text(text, field="option", max_length=100)
        if not text and product is not None:
            text = (f"{product.title} · {variant.name}" if variant and variant.name else product.title)[:100]
        if not text:
            raise PollInvalid(_("Each poll option needs a text or a product."), field="poll.options")
        if text.lower() in seen:
            raise PollInvalid(_("Two options say “%(text)s”.") % {"text": text}, field="poll.options")
        seen.add(text.lower())
        checked.append((text, product, variant))
    return _PollSpec(question=question, closes_at=closes_at, options=checked)


# --- posts: hashtags and mentions -----------------------------------------------------
def _set_hashtags(post: Post, text: str) -> None:
    names = parse_hashtags(text)
    PostHashtag.objects.filter(post=post).exclude(hashtag__name__in=names).delete()
    if not names:
        return
    # Sorted, so that two posts creating the same new tags take their locks in one order.
    Hashtag.objects.bulk_create([Hashtag(name=n) for n in sorted(names)], ignore_conflicts=True)
    tags = Hashtag.objects.filter(name__in=names)
    PostHashtag.objects.bulk_create(
        [PostHashtag(post=post, hashtag=t, created_at=post.created_at) for t in tags], ignore_conflicts=True
    )


def _mentionable(author: User, text: str) -> list[User]:
    """People named with @ who exist, are active, are not the author, and have not blocked (nor been blocked by)
    the author: a blocked person's @name is left as plain text and tells nobody anything."""
    names = mention_candidates(text)
    if not names:
        return []
    # Lower(username) is what the case-insensitive unique index holds, so this is an index lookup.
    people = {
        u.username.lower(): u
        for u in User.objects.annotate(lower_name=Lower("username")).filter(lower_name__in=names, is_active=True)
    }
    hidden = selectors.blocked_ids(author)
    found: list[User] = []
    for name in names:
        user = people.get(name)
        if user is not None and user.pk != author.pk and user.pk not in hidden and user not in found:
            found.append(user)
        if len(found) >= MAX_MENTIONS:
            break
    return found


def _set_mentions(post: Post, text: str, *, comment: Comment | None = None) -> list[User]:
    """Store the mentions of ``text`` (in the post itself, or in ``comment``); return the newly mentioned."""
    people = _mentionable(comment.author if comment else post.author, text)
    existing = Mention.objects.filter(post=post, comment=comment)
    before = set(existing.values_list("user_id", flat=True))
    existing.exclude(user__in=people).delete()
    # An edit that drops @someone takes back the notification that quoted the old text to them.
    for user_id in before - {u.pk for u in people}:
        _withdraw(recipient_id=user_id, dedupe_key=_mention_key(post, comment))
    new = [u for u in people if u.pk not in before]
    Mention.objects.bulk_create(
        [Mention(post=post, comment=comment, user=u) for u in new],
        ignore_conflicts=True,
    )
    return new


def _notify_mentions(post: Post, people: list[User], *, actor: User, comment: Comment | None = None) -> None:
    for person in people:
        if not selectors.can_view_post(person, post):
            continue  # they could not open it: a private author's post mentioning a non-follower
        _notify(
            person,
            "social.mention",
            title=_("%(name)s mentioned you") % {"name": actor.public_name},
            body=_snippet(comment.text if comment else post.text),
            url=post_url(post),
            actor=actor,
            key=_mention_key(post, comment),
        )


def _mention_key(post: Post, comment: Comment | None) -> str:
    return f"mention:{post.pk}:{comment.pk if comment else 0}"


# --- posts: photos --------------------------------------------------------------------
def _delete_photo_files(photo: PostPhoto) -> None:
    for f in (photo.image, photo.thumbnail_small, photo.thumbnail_medium):
        if f:
            f.storage.delete(f.name)


def _prepare_photos(uploads: Sequence[object], alts: Sequence[str]) -> list[PostPhoto]:
    """Check every picture first (nothing is written if one is bad), then write the files."""
    if len(uploads) > settings.AGORA_POST_MAX_PHOTOS:
        raise TooManyPhotos(
            _("A post has at most %(max)d photos.") % {"max": settings.AGORA_POST_MAX_PHOTOS}, field="photos"
        )
    cleaned = [clean_image(upload, field="photos") for upload in uploads]
    alt_texts = [clean_text(a, field="alt", max_length=200) for a in alts]
    sizes = settings.AGORA_THUMBNAIL_SIZES
    photos: list[PostPhoto] = []
    try:
        for index, image in enumerate(cleaned):
            data = image.content.read()
            image.content.seek(0)
            photo = PostPhoto(
                width=image.width,
                height=image.height,
                alt=alt_texts[index] if index < len(alt_texts) else "",
                position=index,
            )
            photo.image.save(image.content.name or "photo.jpg", image.content, save=False)
            small, medium = make_thumbnail(data, sizes["small"]), make_thumbnail(data, sizes["medium"])
            photo.thumbnail_small.save(small.name or "small.jpg", small, save=False)
            photo.thumbnail_medium.save(medium.name or "medium.jpg", medium, save=False)
            photos.append(photo)
    except Exception:
        for photo in photos:
            _delete_photo_files(photo)
        raise
    return photos


def _write_tags(post: Post, tags: list[_TagSpec], photos: list[PostPhoto]) -> None:
    ProductTag.objects.bulk_create(
        [
            ProductTag(
                post=post,
                product=t.product,
                variant=t.variant,
                photo=photos[t.photo_index] if t.photo_index is not None else None,
                x=t.x,
                y=t.y,
                position=i,
            )
            for i, t in enumerate(tags)
        ]
    )


def _check_author(actor: User, shop: Shop | None) -> None:
    if shop is not None:
        require(actor, shop, ShopAction.POST_AS_SHOP)
        if not shop.is_active:
            raise PostInvalid(_("The shop is closed; reopen it before posting."), field="shop")


# --- posts ----------------------------------------------------------------------------
def create_post(
    *,
    actor: User,
    text: str = "",
    photos: Sequence[object] = (),
    photo_alts: Sequence[str] = (),
    tags: Sequence[Mapping[str, Any]] = (),
    shop: Shop | None = None,
    sponsor: Shop | None = None,
    poll: Mapping[str, Any] | None = None,
) -> Post:
    """Publish a post as ``actor`` (or as ``shop``, with POST_AS_SHOP). ``tags`` are
    ``{"product_id", "variant_id"?, "photo"? (index into ``photos``), "x"?, "y"?}``; ``poll`` is
    ``{"question", "options": [{"text", "product_id"?, "variant_id"?}], "closes_at"?}``. All or nothing."""
    actor = _signed_in(actor)
    _check_author(actor, shop)
    text = _post_text(text, required=not photos and poll is None)
    tag_specs = _check_tags(list(tags), len(photos))
    sponsor = _check_sponsor(sponsor, shop=shop)
    poll_spec = _check_poll(poll)
    if len(photos) > settings.AGORA_POST_MAX_PHOTOS:
        raise TooManyPhotos(
            _("A post has at most %(max)d photos.") % {"max": settings.AGORA_POST_MAX_PHOTOS}, field="photos"
        )
    _rate("post", actor)
    photo_rows = _prepare_photos(photos, photo_alts)
    try:
        with transaction.atomic():
            post = Post.objects.create(author=actor, shop=shop, text=text, sponsor=sponsor)
            for photo in photo_rows:
                photo.post = post
            PostPhoto.objects.bulk_create(photo_rows)
            photo_rows = list(post.photos.order_by("position", "id"))  # with their ids (SQLite returns none)
            _write_tags(post, tag_specs, photo_rows)
            if poll_spec is not None:
                _write_poll(post, poll_spec)
            _set_hashtags(post, text)
            mentioned = _set_mentions(post, text)
            if shop is not None:
                _bump(ShopStats, shop.pk, "posts_count", +1)
            else:
                _bump(UserStats, actor.pk, "posts_count", +1)
            signals.post_published.send(sender=Post, post=post)
            _notify_mentions(post, mentioned, actor=actor)
    except Exception:
        for photo in photo_rows:
            _delete_photo_files(photo)
        raise
    return post


def _write_poll(post: Post, spec: _PollSpec) -> Poll:
    poll = Poll.objects.create(post=post, question=spec.question, closes_at=spec.closes_at)
    PollOption.objects.bulk_create(
        [
            PollOption(poll=poll, text=text, product=product, variant=variant, position=i)
            for i, (text, product, variant) in enumerate(spec.options)
        ]
    )
    return poll


def _require_editor(actor: User, post: Post) -> None:
    if not selectors.can_edit_post(actor, post):
        raise NotYourPost(_("Only the author can change this post."))


def update_post(
    *,
    actor: User,
    post: Post,
    text: str = _UNSET,
    tags: Sequence[Mapping[str, Any]] = _UNSET,
    sponsor: Shop | None = _UNSET,
    remove_tag_ids: Collection[int] = (),
) -> Post:
    """Edit a post's text, product tags (replaced as a whole; ``photo`` is the index of one of its photos) or
    sponsor; or just take some of its tags off (``remove_tag_ids``, ids of its ProductTag rows: the others stay as
    they are, even on a product unpublished since). Hashtags and mentions follow the new text; only newly
    mentioned people are notified."""
    actor = _signed_in(actor)
    _require_editor(actor, post)
    if not post.is_live:
        raise PostRemoved(_("This post was removed; it cannot be edited."))
    _rate("edit", actor)  # each edit may mention (and notify) someone anew
    photos = list(post.photos.order_by("position", "id"))  # type: ignore[attr-defined]
    fields = ["edited_at"]
    if text is not _UNSET:
        has_content = bool(photos) or hasattr(post, "poll") or post.repost_of_id is not None
        post.text = _post_text(text, required=not has_content)
        fields.append("text")
    tag_specs = _check_tags(list(tags), len(photos)) if tags is not _UNSET else None
    if tag_specs and post.repost_of_id is not None:
        raise PostInvalid(_("A repost cannot tag products; the original's tags are shown."), field="tags")
    if sponsor is not _UNSET:
        post.sponsor = _check_sponsor(sponsor, shop=post.shop)
        fields.append("sponsor")
    with transaction.atomic():
        post.edited_at = timezone.now()
        post.save(update_fields=fields)
        if tag_specs is not None:
            post.product_tags.all().delete()  # type: ignore[attr-defined]
            _write_tags(post, tag_specs, photos)
        elif remove_tag_ids:
            ProductTag.objects.filter(post=post, pk__in=list(remove_tag_ids)).delete()
        mentioned: list[User] = []
        if "text" in fields:
            _set_hashtags(post, post.text)
            mentioned = _set_mentions(post, post.text)
        _notify_mentions(post, mentioned, actor=actor)
    return post


def _remove(post: Post, *, field: str) -> None:
    now = timezone.now()
    changed = Post.objects.filter(pk=post.pk, hidden_at__isnull=True, deleted_at__isnull=True).update(**{field: now})
    setattr(post, field, now)
    if not changed:
        return  # already removed: nothing to count again
    if post.repost_of_id is not None:
        _bump(Post, post.repost_of_id, "reposts_count", -1)
    if post.shop_id is not None:
        _bump(ShopStats, post.shop_id, "posts_count", -1)
    else:
        _bump(UserStats, post.author_id, "posts_count", -1)
    # Notifications quoting it, or its reposts (which disappear with it), are taken back.
    _withdraw(urls=_post_urls(Post.objects.filter(Q(pk=post.pk) | Q(repost_of_id=post.pk))))
    signals.post_removed.send(sender=Post, post=post)


def delete_post(*, actor: User, post: Post) -> None:
    """Delete a post (its author, the shop's staff for a shop post, or the operator's staff). Idempotent."""
    actor = _signed_in(actor)
    if not (selectors.can_edit_post(actor, post) or actor.is_staff):
        raise NotYourPost(_("Only the author can delete this post."))
    with transaction.atomic():
        _remove(post, field="deleted_at")


def hide_post(*, actor: User, post: Post) -> None:
    """Take a post down (the operator's staff): it disappears for everyone, its author included."""
    actor = _signed_in(actor)
    if not actor.is_staff:
        raise PermissionDenied(_("Only Agora's moderators can hide posts."))
    with transaction.atomic():
        _remove(post, field="hidden_at")


def remove_sponsorship(*, actor: User, post: Post) -> Post:
    """The named sponsor's staff (POST_AS_SHOP) say "we did not sponsor this": the label goes away."""
    actor = _signed_in(actor)
    if post.sponsor is None or not can(actor, post.sponsor, ShopAction.POST_AS_SHOP):
        raise PermissionDenied(_("Only the sponsoring shop can remove its sponsorship label."))
    Post.objects.filter(pk=post.pk).update(sponsor=None)
    post.sponsor = None
    return post


# --- reposts --------------------------------------------------------------------------
def repost(*, actor: User, post: Post, text: str = "") -> Post:
    """Repost ``post`` (its original, when it is itself a repost) into one's own profile and followers' feeds,
    with an optional comment. Reposting the same post again returns the existing repost."""
    actor = _signed_in(actor)
    original = post.repost_of or post
    if not selectors.can_view_post(actor, original):
        raise PostNotFound(_("No post %(id)s.") % {"id": post.pk})
    if not original.is_live:
        raise PostRemoved(_("This post was removed; it cannot be reposted."))
    if original.shop_id is None and original.author_id == actor.pk:
        raise CannotRepost(_("You cannot repost your own post."))
    if original.shop_id is None and original.author.is_private:
        raise CannotRepost(_("Posts of private accounts cannot be reposted."))
    text = _post_text(text, required=False)
    existing = Post.objects.filter(author=actor, shop__isnull=True, repost_of=original, deleted_at__isnull=True).first()
    if existing is not None:
        return existing
    _rate("post", actor)
    try:
        with transaction.atomic():
            new = Post.objects.create(author=actor, text=text, repost_of=original)
            _set_hashtags(new, text)
            mentioned = _set_mentions(new, text)
            _bump(Post, original.pk, "reposts_count", +1)
            _bump(UserStats, actor.pk, "posts_count", +1)
            signals.post_published.send(sender=Post, post=new)
            signals.post_shared.send(
                sender=Post, post=original, product_id=None, user_id=actor.pk, kind="repost", repost=new
            )
            # A private reposter's comment is for their followers: the author of the original is only told.
            shown = selectors.can_view_post(original.author, new)
            _notify(
                original.author,
                "social.repost",
                title=_("%(name)s reposted your post") % {"name": actor.public_name},
                body=_snippet(text) if shown else "",
                url=post_url(new if shown else original),
                actor=actor,
                key=f"repost:{original.pk}",
            )
            _notify_mentions(new, mentioned, actor=actor)
    except IntegrityError:
        # A double click: the other request made the repost.
        return Post.objects.get(author=actor, shop__isnull=True, repost_of=original, deleted_at__isnull=True)
    return new


# --- likes ----------------------------------------------------------------------------
def _require_open(actor: User, post: Post, *, removed: str) -> None:
    """``post`` must be visible to ``actor`` (404 otherwise) and live (409 with the ``removed`` message)."""
    if not selectors.could_view_if_live(actor, post):
        raise PostNotFound(_("No post %(id)s.") % {"id": post.pk})
    if not post.is_live or (post.repost_of is not None and not post.repost_of.is_live):
        raise PostRemoved(removed)
    if not selectors.can_view_post(actor, post):
        raise PostNotFound(_("No post %(id)s.") % {"id": post.pk})


def like_post(*, actor: User, post: Post) -> bool:
    """Like ``post``; True when this added a like, False when it was already liked (idempotent)."""
    actor = _signed_in(actor)
    _require_open(actor, post, removed=_("This post was removed; it cannot be liked."))
    if Like.objects.filter(user=actor, post=post).exists():
        return False
    # Like, unlike, like again...: each new like notifies and pushes to the author, so new likes are limited.
    _rate("like", actor)
    try:
        with transaction.atomic():
            Like.objects.create(user=actor, post=post)
            _bump(Post, post.pk, "likes_count", +1)
            signals.post_liked.send(sender=Like, post=post, user_id=actor.pk)
            likes = Post.objects.filter(pk=post.pk).values_list("likes_count", flat=True).first() or 1
            post.likes_count = likes
            if likes > 1:
                title = _("%(name)s and %(count)d others liked your post") % {
                    "name": actor.public_name,
                    "count": likes - 1,
                }
            else:
                title = _("%(name)s liked your post") % {"name": actor.public_name}
            _notify(post.author, "social.like", title=title, url=post_url(post), actor=actor, key=f"like:{post.pk}")
            _push_likes(post, likes)
    except IntegrityError:
        return False
    return True


def _push_likes(post: Post, likes: int) -> None:
    """The post's author sees the count move on any page showing the post (``agora:like`` in social.js)."""
    send_to_user(post.author_id, "like", {"post_id": post.pk, "likes": likes})


def unlike_post(*, actor: User, post: Post) -> bool:
    actor = _signed_in(actor)
    with transaction.atomic():
        deleted, _by_model = Like.objects.filter(user=actor, post=post).delete()
        if deleted:
            _bump(Post, post.pk, "likes_count", -1)
            signals.post_unliked.send(sender=Like, post=post, user_id=actor.pk)
            likes = Post.objects.filter(pk=post.pk).values_list("likes_count", flat=True).first() or 0
            post.likes_count = likes
            _push_likes(post, likes)
    return bool(deleted)


# --- comments -------------------------------------------------------------------------
def _comment_text(text: str) -> str:
    return clean_text(text, field="text", max_length=settings.AGORA_COMMENT_MAX_LENGTH, required=True)


def add_comment(*, actor: User, post: Post, text: str, parent_id: int | None = None) -> Comment:
    """Comment on ``post``, or reply to one of its top-level comments (``parent_id``)."""
    actor = _signed_in(actor)
    _require_open(actor, post, removed=_("This post was removed; it cannot be commented on."))
    if post.shop_id is None and selectors.blocked_between(actor.pk, post.author_id):
        raise BlockedError(_("You cannot comment on this post."))
    text = _comment_text(text)
    parent: Comment | None = None
    if parent_id is not None:
        parent = Comment.objects.select_related("author").filter(pk=parent_id, post=post).first()
        if parent is None:
            raise CommentNotFound(_("This post has no comment %(id)s.") % {"id": parent_id}, field="parent_id")
        if parent.parent_id is not None:
            raise CommentInvalid(_("Reply to the first comment of the thread instead."), field="parent_id")
        if not parent.is_live:
            raise CommentRemoved(_("That comment was removed; it cannot be replied to."), field="parent_id")
        if selectors.blocked_between(actor.pk, parent.author_id):
            raise BlockedError(_("You cannot reply to this comment."))
    _rate("comment", actor)
    with transaction.atomic():
        comment = Comment.objects.create(post=post, author=actor, parent=parent, text=text)
        _bump(Post, post.pk, "comments_count", +1)
        mentioned = _set_mentions(post, text, comment=comment)
        signals.post_commented.send(sender=Comment, post=post, comment=comment)
        url = post_url(post)
        notified = {actor.pk}
        # Someone who can no longer see the post (removed as a follower, blocked by its author) is not told.
        if parent is not None and parent.author_id not in notified and selectors.can_view_post(parent.author, post):
            _notify(
                parent.author,
                "social.reply",
                title=_("%(name)s replied to your comment") % {"name": actor.public_name},
                body=_snippet(text),
                url=url,
                actor=actor,
                key=f"reply:{parent.pk}",
            )
            notified.add(parent.author_id)
        if post.author_id not in notified and selectors.can_view_post(post.author, post):
            _notify(
                post.author,
                "social.comment",
                title=_("%(name)s commented on your post") % {"name": actor.public_name},
                body=_snippet(text),
                url=url,
                actor=actor,
                key=f"comment:{post.pk}",
            )
            notified.add(post.author_id)
        _notify_mentions(post, [u for u in mentioned if u.pk not in notified], actor=actor, comment=comment)
    return comment


def edit_comment(*, actor: User, comment: Comment, text: str) -> Comment:
    actor = _signed_in(actor)
    if comment.author_id != actor.pk:
        raise NotYourComment(_("You can only edit your own comments."))
    if not comment.is_live:
        raise CommentRemoved(_("This comment was removed; it cannot be edited."))
    new_text = _comment_text(text)
    _rate("edit", actor)  # each edit may mention (and notify) someone anew
    comment.text = new_text
    comment.edited_at = timezone.now()
    with transaction.atomic():
        comment.save(update_fields=["text", "edited_at"])
        mentioned = _set_mentions(comment.post, comment.text, comment=comment)
        _notify_mentions(comment.post, mentioned, actor=actor, comment=comment)
    return comment


def _take_down(comment: Comment, **changes: Any) -> bool:
    changed = Comment.objects.filter(pk=comment.pk, hidden_at__isnull=True, deleted_at__isnull=True).update(**changes)
    for name, value in changes.items():
        setattr(comment, name, value)
    if changed:
        _bump(Post, comment.post_id, "comments_count", -1)
        _withdraw(dedupe_key=f"mention:{comment.post_id}:{comment.pk}")
    return bool(changed)


def delete_comment(*, actor: User, comment: Comment) -> None:
    """Delete one's own comment (its replies stay, under a "deleted" placeholder in the web). Idempotent."""
    actor = _signed_in(actor)
    if comment.author_id != actor.pk and not actor.is_staff:
        raise NotYourComment(_("You can only delete your own comments; the post's author can hide others."))
    with transaction.atomic():
        _take_down(comment, deleted_at=timezone.now())


def hide_comment(*, actor: User, comment: Comment) -> Comment:
    """Hide a comment: the post's author, or the shop's staff with MODERATE_COMMENTS on a shop post."""
    actor = _signed_in(actor)
    if not selectors.can_moderate(actor, comment.post):
        raise PermissionDenied(_("Only the post's author can hide comments on it."))
    with transaction.atomic():
        _take_down(comment, hidden_at=timezone.now(), hidden_by=actor)
    return comment


def unhide_comment(*, actor: User, comment: Comment) -> Comment:
    actor = _signed_in(actor)
    if not selectors.can_moderate(actor, comment.post):
        raise PermissionDenied(_("Only the post's author can show hidden comments again."))
    with transaction.atomic():
        if Comment.objects.filter(pk=comment.pk, hidden_at__isnull=False, deleted_at__isnull=True).update(
            hidden_at=None, hidden_by=None
        ):
            _bump(Post, comment.post_id, "comments_count", +1)
        comment.hidden_at = None
        comment.hidden_by = None
    return comment


# --- share links ----------------------------------------------------------------------
def _new_code() -> str:
    return "".join(secrets.choice(SHARE_CODE_ALPHABET) for _i in range(SHARE_CODE_LENGTH))


def create_share_link(
    *, actor: User, post: Post | None = None, product: Product | None = None, channel: str = ""
) -> ShareLink:
    """A short link to a post or a product, made by ``actor``; the same sharer, target and channel get the same
    link back (so "copy link" twice is one link)."""
    actor = _signed_in(actor)
    if (post is None) == (product is None):
        raise ShareInvalid(_("Share either a post or a product."))
    channel = clean_text(channel, field="channel", max_length=32).lower()
    if post is not None:
        _require_open(actor, post, removed=_("This post was removed; it cannot be shared."))
        post = post.repost_of or post  # a link always opens the original
    if product is not None and (product.status != ProductStatus.PUBLISHED or not product.shop.is_active):
        raise ShareInvalid(_("Only published products can be shared."), field="product_id")
    existing = ShareLink.objects.filter(sharer=actor, post=post, product=product, channel=channel).first()
    if existing is not None:
        return existing
    _rate("share", actor)  # a new link per channel name: without a limit, rows (and "shares") without end
    for _attempt in range(5):
        try:
            with transaction.atomic():
                # shares_count counts people who shared, not their channels: more channels are not more shares.
                first_of_sharer = post is not None and not ShareLink.objects.filter(sharer=actor, post=post).exists()
                link = ShareLink.objects.create(
                    code=_new_code(), sharer=actor, post=post, product=product, channel=channel
                )
                if post is not None and first_of_sharer:
                    _bump(Post, post.pk, "shares_count", +1)
                signals.post_shared.send(
                    sender=ShareLink,
                    post=post,
                    product_id=product.pk if product else None,
                    user_id=actor.pk,
                    kind="link",
                    link=link,
                )
                return link
        except IntegrityError:
            # The same link made at the same moment by another request, or a code collision (one in 62^8).
            existing = ShareLink.objects.filter(sharer=actor, post=post, product=product, channel=channel).first()
            if existing is not None:
                return existing
    raise ShareInvalid(_("Could not make a share link right now. Try again."))


def open_share_link(
    *, code: str, viewer: User | None, session_key: str = "", referrer: str = "", ip: str = ""
) -> ShareLink:
    """Record that someone opened a share link and return it. A link to something the viewer may not see (a
    private or blocked author's post, a product no longer on sale) is not found, and not recorded.

    Counted once per person (or browser session) per ``SHARE_OPEN_WINDOW``: opening it again only refreshes the
    time of the open (what purchase attribution reads). Not counted: the sharer opening their own link, an
    anonymous open without a session, and anonymous opens from one address (``ip``) above
    ``AGORA_SOCIAL_SHARE_OPEN_RATE_LIMIT`` per window (a bot reloading a link earns its sharer nothing)."""
    link = selectors.visible_share_link(code=code, viewer=viewer)
    user = viewer if viewer is not None and viewer.is_authenticated else None
    session_key = (session_key or "")[:64]
    if user is not None and user.pk == link.sharer_id:
        return link
    if user is None and not session_key:
        return link
    now = timezone.now()
    who = Q(viewer=user) if user is not None else Q(viewer__isnull=True, session_key=session_key)
    with transaction.atomic():
        again = (
            ShareOpen.objects.filter(who, link=link, opened_at__gte=now - SHARE_OPEN_WINDOW)
            .order_by("-opened_at", "-id")
            .values_list("pk", flat=True)
            .first()
        )
        if again is not None:
            ShareOpen.objects.filter(pk=again).update(opened_at=now)
            return link
        if user is None:
            try:
                _rate("share_open", f"ip:{ip}" if ip else f"session:{session_key}")
            except RateLimited:
                return link
        ShareOpen.objects.create(
            link=link,
            viewer=user,
            session_key=session_key,
            referrer=(referrer or "").replace("\x00", "")[:500],
            opened_at=now,
        )
        _bump(ShareLink, link.pk, "opens_count", +1)
    link.refresh_from_db(fields=["opens_count"])
    return link


# --- polls ----------------------------------------------------------------------------
def vote(*, actor: User, poll: Poll, option_id: int) -> PollVote:
    """Vote in a poll. A vote is final: voting again for the same option returns the same vote; for another
    option it is refused (409 already_voted) and changes nothing."""
    actor = _signed_in(actor)
    post = poll.post
    _require_open(actor, post, removed=_("This post was removed; its poll is closed."))
    option = PollOption.objects.filter(pk=option_id, poll=poll).first()
    if option is None:
        raise PollInvalid(_("This poll has no option %(id)s.") % {"id": option_id}, field="option_id")
    existing = PollVote.objects.filter(poll=poll, user=actor).first()
    if existing is not None:
        return _same_vote(existing, option)
    if not poll.is_open:
        raise PollClosed(_("This poll is closed."))
    try:
        with transaction.atomic():
            vote = PollVote.objects.create(poll=poll, option=option, user=actor)
            _bump(PollOption, option.pk, "votes_count", +1)
            _bump(Poll, poll.pk, "votes_count", +1)
            _later_push_poll(poll.pk)
    except IntegrityError:
        return _same_vote(PollVote.objects.get(poll=poll, user=actor), option)
    return vote


def _later_push_poll(poll_id: int) -> None:
    from agora.social import tasks  # tasks imports this module

    # robust: a broker that is down must not undo a vote; viewers still refresh the results every 20 seconds.
    transaction.on_commit(lambda: tasks.push_poll_results.delay(poll_id), robust=True)


def push_poll_results(*, poll_id: int) -> int:
    """Push a poll's current results (``poll`` event: poll_id, post_id, total, options with id, votes and percent)
    to the people likely to be watching it who may see it: its author and its latest voters, at most
    ``AGORA_POLL_LIVE_PUSH_MAX``. Returns how many were sent to. Anyone else's page refreshes every 20 s."""
    poll = (
        Poll.objects.select_related("post", "post__author", "post__shop", "post__repost_of").filter(pk=poll_id).first()
    )
    if poll is None:
        return 0
    results = selectors.poll_results(poll=poll, viewer=None)
    payload = {
        "poll_id": poll.pk,
        "post_id": poll.post_id,
        "total": results.total,
        "is_open": results.is_open,
        "options": [{"id": o.id, "votes": o.votes, "percent": o.percent} for o in results.options],
    }
    latest = list(
        PollVote.objects.filter(poll=poll)
        .order_by("-created_at", "-id")
        .values_list("user_id", flat=True)[: settings.AGORA_POLL_LIVE_PUSH_MAX]
    )
    people = User.objects.filter(pk__in=[poll.post.author_id, *latest])
    sent = 0
    for user_id in selectors.who_may_see(poll.post, people).values_list("pk", flat=True):
        send_to_user(user_id, "poll", payload)
        sent += 1
    return sent


def _same_vote(existing: PollVote, option: PollOption) -> PollVote:
    if existing.option_id != option.pk:
        raise AlreadyVoted(_("You already voted in this poll; votes cannot be changed."))
    return existing


def close_due_polls(*, now: datetime | None = None, batch: int = 100) -> int:
    """Announce every poll that has closed to its author and voters, once. Returns how many were announced."""
    now = now or timezone.now()
    done = 0
    due = list(
        Poll.objects.filter(closes_at__lte=now, closed_notified_at__isnull=True)
        .order_by("closes_at")
        .values_list("pk", flat=True)[:batch]
    )
    for poll_id in due:
        with transaction.atomic():
            # The conditional update claims the poll: two workers never announce it twice.
            if not Poll.objects.filter(pk=poll_id, closed_notified_at__isnull=True).update(closed_notified_at=now):
                continue
            poll = Poll.objects.select_related("post", "post__author").get(pk=poll_id)
            if not poll.post.is_live:
                continue
            leader = poll.options.order_by("-votes_count", "position").first()  # type: ignore[attr-defined]
            body = (
                _("Most votes: %(option)s (%(votes)d of %(total)d).")
                % {"option": leader.text, "votes": leader.votes_count, "total": poll.votes_count}
                if leader is not None and poll.votes_count
                else _("Nobody voted.")
            )
            title = _("The poll “%(question)s” has closed") % {"question": _snippet(poll.question, 60)}
            url = post_url(poll.post)
            author = poll.post.author
            people = User.objects.filter(Q(pk=author.pk) | Q(poll_votes__poll=poll)).distinct()
            # Voters who can no longer see the post (blocked since, or not approved by a now private author) are
            # not told: the notification carries the question and the winner.
            for person in selectors.who_may_see(poll.post, people).order_by("pk").iterator():
                _notify(
                    person, "social.poll_closed", title=title, body=body, url=url, actor=None, key=f"poll:{poll_id}"
                )
            done += 1
    return done

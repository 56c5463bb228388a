"""Template helpers of the social pages: ``{% load social_tags %}``.

- ``{{ post|post_text }}``, ``{{ comment|comment_text }}``: the text escaped, with #hashtags and @mentions linked.
- ``{% popular_badge product %}``: the "Popular on Agora" label when the product trends (one cache read per page).
- ``{{ tag|buy_url }}``, ``{{ tag|tag_price }}``: what a product chip of a post links to and costs.
- ``{% poll_view poll %}``: a poll's results for the viewer, from the data the post card already loaded.
- ``{% product_social product as social %}``: posts tagging a product and the viewer's friends who bought or like it.
- ``{% can_unsponsor post as flag %}``: whether the viewer may take the "paid partnership" label off a post.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.cache import cache
from django.http import HttpRequest
from django.template.context import Context
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Product, Variant
from agora.shops.permissions import ShopAction
from agora.shops.selectors import can
from agora.social import selectors as social_selectors
from agora.social.models import Comment, Poll, Post, ProductTag
from agora.social.selectors import OptionResult, PollResults
from agora.social.text import render_text
from agora.web.templatetags.money import money

register = template.Library()

POSTS_ON_PRODUCT = 6


# --- text ----------------------------------------------------------------------------
@register.filter
def post_text(post: Post) -> SafeString:
    """A post's text as HTML; only the people actually stored as its mentions are linked."""
    mentioned = [m.user.username for m in post.mentions.all()]  # prefetched by with_post_data
    return render_text(post.text, mentioned=mentioned)


@register.filter
def comment_text(comment: Comment) -> SafeString:
    mentions = getattr(comment, "mention_list", None)
    if mentions is None:
        mentions = list(comment.mentions.select_related("user"))  # type: ignore[attr-defined]
    return render_text(comment.text, mentioned=[m.user.username for m in mentions])


@register.filter
def pct(value: float | None) -> str:
    """A fraction (0..1) as a CSS percentage number: 0.25 → "25.00"."""
    if value is None:
        return "50"
    return f"{max(0.0, min(1.0, float(value))) * 100:.2f}"


# --- "popular on Agora" ----------------------------------------------------------------
POPULAR_CACHE_KEY = "web:popular-product-ids"
POPULAR_CACHE_SECONDS = 60


def popular_product_ids() -> frozenset[int]:
    """The products labelled "Popular on Agora" (feed's ``trending_product_ids``), kept a minute in the cache.

    A page never computes the trends itself: until feed's periodic task (or the explore page) has stored a
    snapshot, nothing is labelled. So a product card costs no query, even on a cold cache.
    """
    from agora.feed import trending
    from agora.feed.selectors import trending_product_ids

    ids: frozenset[int] | None = cache.get(POPULAR_CACHE_KEY)
    if ids is None:
        if cache.get(trending.CACHE_KEY) is None:
            return frozenset()
        ids = trending_product_ids()
        cache.set(POPULAR_CACHE_KEY, ids, POPULAR_CACHE_SECONDS)
    return ids


def trending_ids(context: Context) -> frozenset[int]:
    """``popular_product_ids``, read once per request (kept on the request object)."""
    request: HttpRequest | None = context.get("request")
    cached: frozenset[int] | None = getattr(request, "_agora_popular_ids", None) if request is not None else None
    if cached is None:
        try:
            cached = popular_product_ids()
        except Exception:  # the label is decoration: a failing trend computation must not break the page
            cached = frozenset()
        if request is not None:
            request._agora_popular_ids = cached  # type: ignore[attr-defined]
    return cached


@register.simple_tag(takes_context=True)
def is_popular(context: Context, product: Product | int) -> bool:
    product_id = product if isinstance(product, int) else getattr(product, "pk", None)
    return product_id is not None and product_id in trending_ids(context)


@register.simple_tag(takes_context=True)
def popular_badge(context: Context, product: Product | int) -> SafeString:
    if not is_popular(context, product):
        return mark_safe("")
    return format_html('<span class="badge badge-popular" data-popular>{}</span>', _("Popular on Agora"))


# --- product tags ------------------------------------------------------------------------
def _cart_add_exists() -> bool:
    try:
        resolve("/cart/add")
    except Resolver404:
        return False
    return True


def buy_variant(tag: ProductTag) -> Variant | None:
    """The variant a "Buy" on this tag buys: the tagged one, else the product's first active one in stock."""
    if tag.variant_id is not None:
        return tag.variant
    variants: list[Variant] = getattr(tag.product, "buyable_variants", None) or []
    return next((v for v in variants if v.stock_quantity > 0), None)


@register.filter
def product_url(tag: ProductTag) -> str:
    url = reverse("web:product", args=[tag.product.shop.slug, tag.product.slug])
    return f"{url}?variant={tag.variant_id}" if tag.variant_id else url


@register.filter
def buy_url(tag: ProductTag) -> str:
    """Straight to the cart when the shop's cart pages exist and a variant in stock is known; else the product
    page (with the tagged variant picked), where "buy" is right there."""
    variant = buy_variant(tag)
    if variant is not None and _cart_add_exists():
        return f"/cart/add?items={variant.pk}:1"
    return product_url(tag)


@register.filter
def tag_price(tag: ProductTag) -> str:
    """The tagged variant's price, or "from" the cheapest active variant's; empty when unknown."""
    currency = tag.product.shop.currency
    if tag.variant_id is not None and tag.variant is not None:
        return money(tag.variant.price, currency)
    variants: list[Variant] = getattr(tag.product, "buyable_variants", None) or []
    if not variants:
        return ""
    low = min(v.price for v in variants)
    if all(v.price == low for v in variants):
        return money(low, currency)
    return _("from %(price)s") % {"price": money(low, currency)}


@register.filter
def photo_tags(tags: list[ProductTag], photo_id: int) -> list[ProductTag]:
    """The tags placed on one photo (with a position)."""
    return [t for t in tags or [] if t.photo_id == photo_id and t.x is not None]


# --- polls ---------------------------------------------------------------------------
@register.simple_tag(takes_context=True)
def poll_view(context: Context, poll: Poll) -> PollResults:
    """``poll_results`` computed from what ``with_post_data`` prefetched (options, the viewer's vote), so a page of
    posts with polls costs no query per poll."""
    options = list(poll.options.all())
    total = sum(o.votes_count for o in options)
    votes = getattr(poll, "viewer_votes", None)
    user = context.get("user")
    if votes is None and isinstance(user, User) and user.is_authenticated:
        return social_selectors.poll_results(poll=poll, viewer=user)
    voted = votes[0].option_id if votes else None
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


# --- product page ----------------------------------------------------------------------
@register.simple_tag(takes_context=True)
def product_social(context: Context, product: Product) -> dict[str, Any]:
    """What the product page shows of the social side: posts tagging it (through the privacy rules) and whether it
    trends. The viewer's friends who bought or like it come in a second request (``web:product_friends``), so that
    the page itself stays the same for everyone and costs one query more than without this section."""
    from agora.web.views.social_common import prepare_posts

    user = context.get("user")
    viewer = user if isinstance(user, User) and user.is_authenticated else None
    if not product.is_published:
        return {"posts": [], "popular": False}
    posts = social_selectors.posts_tagging(product=product, viewer=viewer, limit=POSTS_ON_PRODUCT)
    return {"posts": prepare_posts(posts), "popular": is_popular(context, product)}


@register.simple_tag(takes_context=True)
def can_unsponsor(context: Context, post: Post) -> bool:
    """Whether the viewer speaks for the shop a post names as its sponsor (and so may take the label off). Only
    asked of sponsored posts; the role is cached on the user for the request, one query per sponsoring shop."""
    user = context.get("user")
    if post.sponsor is None or not isinstance(user, User) or not user.is_authenticated:
        return False
    return can(user, post.sponsor, ShopAction.POST_AS_SHOP)


@register.simple_tag
def share_url(request: HttpRequest, code: str) -> str:
    """The absolute short link of a share code."""
    try:
        path = reverse("web:share", args=[code])
    except NoReverseMatch:
        path = f"/l/{code}/"
    return request.build_absolute_uri(path)

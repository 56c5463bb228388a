"""Helpers shared by the social pages: HTMX-aware errors and redirects, post card data, "more" pagination."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.core.errors import DomainError, NotAuthenticated
from agora.social.models import Comment, Mention, Post, ProductTag
from agora.web.views.common import safe_next

F = TypeVar("F", bound=Callable[..., HttpResponse])


def is_fragment(request: HttpRequest) -> bool:
    """An HTMX request that wants a piece of a page (not a boosted navigation or a history restore)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


def me(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def htmx_errors(view: F) -> F:
    """A DomainError raised by an HTMX request becomes a short plain-text answer with its status, which social.js
    shows as a message (htmx does not swap error answers, so the page stays as it was). Without HTMX the error goes
    on to ``DomainErrorMiddleware`` (an error page, or the sign-in page for 401)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            if not is_fragment(request) or isinstance(exc, NotAuthenticated):
                raise
            response = HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
            response["X-Agora-Error"] = exc.code
            return response

    return cast(F, wrapper)


def back(request: HttpRequest, fallback: str) -> HttpResponse:
    """After a plain (no-JS) POST: back to the page it came from (``next``), else ``fallback``."""
    return redirect(safe_next(request, fallback))


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL gives a fragment or a page depending on this header: caches must keep both apart.
    response.headers["Vary"] = "HX-Request"
    return response


def _tags_of(posts: Iterable[Post]) -> list[ProductTag]:
    tags: list[ProductTag] = []
    for post in posts:
        for item in (post, post.repost_of):
            if item is not None:
                tags.extend(getattr(item, "tag_list", []))
    return tags


def prepare_posts(posts: list[Post]) -> list[Post]:
    """Post cards also show a price and a "Buy" link for tags without a variant: the product's active variants,
    in one query for the whole page (``product.buyable_variants``)."""
    tags = [t for t in _tags_of(posts) if not hasattr(t.product, "buyable_variants")]
    # Every product object (a repost and its original each hold their own copies), each once.
    products = list({id(t.product): t.product for t in tags}.values())
    if products:
        prefetch_related_objects(
            products,
            Prefetch(
                "variants",
                queryset=Variant.objects.filter(is_active=True).order_by("position", "id"),
                to_attr="buyable_variants",
            ),
        )
    return posts


def prepare_comments(comments: list[Comment]) -> list[Comment]:
    """Mentions of the comments and their replies (to link @names), in one query."""
    everything = list(comments)
    for comment in comments:
        everything.extend(getattr(comment, "reply_list", []))
    if everything:
        prefetch_related_objects(
            everything, Prefetch("mentions", queryset=Mention.objects.select_related("user"), to_attr="mention_list")
        )
    return comments


def page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1

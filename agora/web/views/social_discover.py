"""Discovering through people: the explore page (what trends, overall or in a category) and hashtag pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from agora.catalog import selectors as catalog_selectors
from agora.catalog.models import Category
from agora.feed import selectors as feed_selectors
from agora.web.views.social_common import is_fragment, prepare_posts, vary_on_htmx


@require_GET
def explore(request: HttpRequest) -> HttpResponse:
    """Trending posts and products, and the hashtags of the moment; ``?category=<slug>`` narrows both."""
    category: Category | None = None
    if slug := request.GET.get("category", "").strip():
        category = catalog_selectors.get_category(slug)
    found = feed_selectors.explore(request.user, category=category)
    return render(
        request,
        "web/social/explore.html",
        {
            "posts": prepare_posts(found.posts),
            "products": found.products,
            "hashtags": found.hashtags,
            "category": category,
            "categories": catalog_selectors.category_tree(),
            "canonical_url": request.build_absolute_uri(request.path),
        },
    )


@require_GET
def hashtag(request: HttpRequest, name: str) -> HttpResponse:
    """Posts with a hashtag: newest first (``?cursor=`` continues) or ``?sort=top``."""
    sort = request.GET.get("sort", "recent")
    sort = sort if sort in feed_selectors.SORTS else "recent"
    tag = feed_selectors.get_hashtag(name)
    page = feed_selectors.hashtag_posts(request.user, tag.name, sort=sort, cursor=request.GET.get("cursor") or None)
    next_url = ""
    if page.next_cursor:
        next_url = reverse("web:hashtag", args=[tag.name]) + "?" + urlencode({"sort": sort, "cursor": page.next_cursor})
    context: dict[str, Any] = {"posts": prepare_posts(page.items), "next_url": next_url}
    if is_fragment(request):
        return vary_on_htmx(render(request, "web/social/_post_list.html", context))
    context.update(
        {
            "hashtag": tag,
            "sort": sort,
            "canonical_url": request.build_absolute_uri(reverse("web:hashtag", args=[tag.name])),
        }
    )
    return vary_on_htmx(render(request, "web/social/hashtag.html", context))

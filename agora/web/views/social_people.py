"""People and shops on the social side: follow, unfollow, follow requests, blocks, followers and following lists,
and what profile and shop pages show of it (``profile_context``/``shop_context``, used by the storefront views)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agora.accounts import selectors as account_selectors
from agora.accounts.models import User
from agora.catalog import selectors as catalog_selectors
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.social import selectors, services
from agora.social.models import Follow, FollowRequest, Post
from agora.social.selectors import Relationship
from agora.web.views.common import paginate
from agora.web.views.social_common import (
    back,
    htmx_errors,
    is_fragment,
    me,
    page_number,
    prepare_posts,
    vary_on_htmx,
)

POSTS_PER_PAGE = 12
PEOPLE_PER_PAGE = 30
TAGGED_PRODUCTS = 8


def slice_page(posts: QuerySet[Post], page: int, size: int = POSTS_PER_PAGE) -> tuple[list[Post], bool]:
    """Posts of page ``page`` and whether there is a next one, without counting the whole list."""
    start = (page - 1) * size
    rows = list(posts[start : start + size + 1])
    return prepare_posts(rows[:size]), len(rows) > size


# --- what profile and shop pages show ----------------------------------------------------------
def _profile_data(request: HttpRequest, person: User) -> dict[str, Any]:
    viewer = me(request)
    rel = selectors.relationship(viewer, person)
    data: dict[str, Any] = {
        "rel": rel,
        "counts": selectors.user_counts(person),
        "posts": [],
        "more_url": "",
        "tagged_products": [],
        "pending_requests": 0,
    }
    if rel.can_see_posts:
        posts, has_next = slice_page(selectors.profile_posts(profile_user=person, viewer=viewer), 1)
        data["posts"] = posts
        if has_next:
            data["more_url"] = reverse("web:profile_posts", args=[person.username]) + "?page=2"
        ids = [p.pk for p in selectors.tagged_products_of(user=person, viewer=viewer, limit=TAGGED_PRODUCTS)]
        if ids:
            by_id = {p.pk: p for p in catalog_selectors.search_products().filter(pk__in=ids)}
            data["tagged_products"] = [by_id[i] for i in ids if i in by_id]
    if rel.is_self and person.is_private:
        data["pending_requests"] = selectors.pending_requests(user=person).count()
    return data


def profile_context(request: HttpRequest, person: User) -> dict[str, Any]:
    """For ``web/profile.html``: ``social`` with the relationship, counts, first posts and tagged products."""
    return {"social": _profile_data(request, person)}


def _shop_data(request: HttpRequest, shop: Shop) -> dict[str, Any]:
    return {"following": selectors.is_following_shop(me(request), shop), "counts": selectors.shop_counts(shop)}


def _manage_url(shop: Shop) -> str:
    try:
        return reverse("web:shop_dashboard", args=[shop.slug])
    except NoReverseMatch:
        return f"/dashboard/s/{shop.slug}/"


def _shop_page(request: HttpRequest, shop: Shop, tab: str) -> dict[str, Any]:
    """What the head of a shop's social tabs needs (``web/social/_shop_hero.html``)."""
    return {
        "shop": shop,
        "social": _shop_data(request, shop),
        "shop_tab": tab,
        "is_staff": shop_selectors.can(request.user, shop, ShopAction.VIEW_DRAFTS),
        "manage_url": _manage_url(shop),
    }


def shop_context(request: HttpRequest, shop: Shop) -> dict[str, Any]:
    """For ``web/shop.html``: ``social`` (follow state and counts), computed only if the template reads it (an
    HTMX sort of the catalogue does not)."""
    return {"social": SimpleLazyObject(lambda: _shop_data(request, shop)), "shop_tab": "products"}


# --- follow buttons ----------------------------------------------------------------------
def _user_button(request: HttpRequest, person: User) -> HttpResponse:
    # In a list ("compact") there is no follower count to refresh next to the button.
    compact = bool(request.POST.get("compact"))
    return render(
        request,
        "web/social/_follow_user.html",
        {
            "person": person,
            "rel": selectors.relationship(me(request), person),
            "counts": None if compact else selectors.user_counts(person),
            "oob_counts": not compact,
            "compact": compact,
        },
    )


@login_required
@require_POST
@htmx_errors
def follow_user(request: HttpRequest, username: str) -> HttpResponse:
    """Follow a person; a private account gets a request to approve instead."""
    user = me(request)
    assert user is not None
    person = account_selectors.get_user_by_username(username)
    result = services.follow_user(actor=user, target=person)
    if is_fragment(request):
        return _user_button(request, person)
    if result.status == "requested":
        messages.info(request, _("Request sent: %(name)s approves followers.") % {"name": person.public_name})
    return back(request, reverse("web:profile", args=[person.username]))


@login_required
@require_POST
@htmx_errors
def unfollow_user(request: HttpRequest, username: str) -> HttpResponse:
    """Stop following (or withdraw a pending request)."""
    user = me(request)
    assert user is not None
    person = account_selectors.get_user_by_username(username)
    services.unfollow_user(actor=user, target=person)
    if is_fragment(request):
        return _user_button(request, person)
    return back(request, reverse("web:profile", args=[person.username]))


@login_required
@require_POST
@htmx_errors
def block_user(request: HttpRequest, username: str) -> HttpResponse:
    user = me(request)
    assert user is not None
    person = account_selectors.get_user_by_username(username)
    services.block_user(actor=user, target=person)
    messages.success(request, _("You blocked %(name)s.") % {"name": person.public_name})
    if is_fragment(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # a block changes the whole profile (posts, lists, buttons)
        return response
    return back(request, reverse("web:profile", args=[person.username]))


@login_required
@require_POST
@htmx_errors
def unblock_user(request: HttpRequest, username: str) -> HttpResponse:
    user = me(request)
    assert user is not None
    person = account_selectors.get_user_by_username(username)
    services.unblock_user(actor=user, target=person)
    messages.success(request, _("You unblocked %(name)s.") % {"name": person.public_name})
    if is_fragment(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return back(request, reverse("web:profile", args=[person.username]))


@login_required
@require_POST
@htmx_errors
def remove_follower(request: HttpRequest, username: str) -> HttpResponse:
    user = me(request)
    assert user is not None
    person = account_selectors.get_user_by_username(username)
    services.remove_follower(actor=user, follower=person)
    if is_fragment(request):
        return HttpResponse("")
    return back(request, reverse("web:followers", args=[user.username]))


def _shop_button(request: HttpRequest, shop: Shop) -> HttpResponse:
    return render(
        request,
        "web/social/_follow_shop.html",
        {"shop": shop, "social": _shop_data(request, shop), "oob_counts": True},
    )


@login_required
@require_POST
@htmx_errors
def follow_shop(request: HttpRequest, shop_slug: str) -> HttpResponse:
    user = me(request)
    assert user is not None
    shop = shop_selectors.get_shop(shop_slug, viewer=user)
    services.follow_shop(actor=user, shop=shop)
    if is_fragment(request):
        return _shop_button(request, shop)
    return back(request, reverse("web:shop", args=[shop.slug]))


@login_required
@require_POST
@htmx_errors
def unfollow_shop(request: HttpRequest, shop_slug: str) -> HttpResponse:
    user = me(request)
    assert user is not None
    shop = Shop.objects.filter(slug=shop_slug).first() or shop_selectors.get_shop(shop_slug, viewer=user)
    services.unfollow_shop(actor=user, shop=shop)
    if is_fragment(request):
        return _shop_button(request, shop)
    return back(request, reverse("web:shop", args=[shop.slug]))


# --- follow requests and blocks ----------------------------------------------------------------
@login_required
@require_GET
def follow_requests(request: HttpRequest) -> HttpResponse:
    """People asking to follow the viewer's private account."""
    user = me(request)
    assert user is not None
    page = paginate(request, selectors.pending_requests(user=user), per_page=PEOPLE_PER_PAGE)
    return render(request, "web/social/follow_requests.html", {"page_obj": page, "requests": page.object_list})


def _answer(request: HttpRequest, request_id: int, *, approve: bool) -> HttpResponse:
    user = me(request)
    assert user is not None
    pending = FollowRequest.objects.select_related("requester").filter(pk=request_id, target=user).first()
    requester = pending.requester if pending is not None else None
    if requester is None:
        # Answered already (a double click, another tab): nothing is left to do.
        if is_fragment(request):
            return render(request, "web/social/_request_answered.html", {"approved": None})
        return back(request, reverse("web:follow_requests"))
    if approve:
        services.approve_request(actor=user, requester=requester)
    else:
        services.decline_request(actor=user, requester=requester)
    if is_fragment(request):
        return render(request, "web/social/_request_answered.html", {"approved": approve, "person": requester})
    if approve:
        messages.success(request, _("%(name)s now follows you.") % {"name": requester.public_name})
    return back(request, reverse("web:follow_requests"))


@login_required
@require_POST
@htmx_errors
def follow_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    return _answer(request, request_id, approve=True)


@login_required
@require_POST
@htmx_errors
def follow_request_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    return _answer(request, request_id, approve=False)


@login_required
@require_http_methods(["GET", "POST"])
def privacy(request: HttpRequest) -> HttpResponse:
    """Private account on or off; links to the follow requests and the blocked accounts."""
    user = me(request)
    assert user is not None
    if request.method == "POST":
        private = request.POST.get("is_private") in ("on", "true", "1")
        pending = 0 if private else selectors.pending_requests(user=user).count()
        services.set_private(user=user, private=private)
        if private:
            messages.success(request, _("Your account is private: only followers you approve see your posts."))
        else:
            messages.success(request, _("Your account is public: everyone can see your posts."))
            if pending:
                messages.info(
                    request,
                    ngettext(
                        "The %(count)d pending follow request was approved.",
                        "The %(count)d pending follow requests were approved.",
                        pending,
                    )
                    % {"count": pending},
                )
        return redirect("web:privacy")
    context = {
        "pending_requests": selectors.pending_requests(user=user).count(),
        "blocked_count": selectors.blocked_users(user=user).count(),
    }
    return render(request, "web/social/privacy.html", context)


@login_required
@require_GET
def blocked_users(request: HttpRequest) -> HttpResponse:
    user = me(request)
    assert user is not None
    page = paginate(request, selectors.blocked_users(user=user), per_page=PEOPLE_PER_PAGE)
    return render(request, "web/social/blocked.html", {"page_obj": page, "blocks": page.object_list})


# --- lists -------------------------------------------------------------------------------
def _relationships(viewer: User | None, people: list[User]) -> dict[int, Relationship]:
    """How the viewer stands with each person of a list, in two queries (for the list's follow buttons)."""
    if viewer is None:
        return {p.pk: Relationship(can_see_posts=not p.is_private) for p in people}
    ids = [p.pk for p in people]
    following = set(
        Follow.objects.filter(follower=viewer, target_user_id__in=ids).values_list("target_user_id", flat=True)
    )
    requested = set(
        FollowRequest.objects.filter(requester=viewer, target_id__in=ids).values_list("target_id", flat=True)
    )
    return {
        p.pk: Relationship(
            is_self=p.pk == viewer.pk,
            following=p.pk in following,
            requested=p.pk in requested,
            can_see_posts=not p.is_private or p.pk in following,
        )
        for p in people
    }


def _people_page(request: HttpRequest, person: User, *, which: str) -> HttpResponse:
    viewer = me(request)
    rel = selectors.relationship(viewer, person)
    if which == "followers":
        follows = selectors.followers_of(user=person, viewer=viewer)
    else:
        follows = selectors.following_of(user=person, viewer=viewer)
    page = paginate(request, follows, per_page=PEOPLE_PER_PAGE)
    rows = []
    people = [f.follower if which == "followers" else f.target_user for f in page.object_list]
    rels = _relationships(viewer, [p for p in people if p is not None])
    for follow, other in zip(page.object_list, people, strict=True):
        rows.append(
            {
                "user": other,
                "shop": follow.target_shop,
                "since": follow.created_at,
                "rel": rels.get(other.pk) if other is not None else None,
            }
        )
    return render(
        request,
        "web/social/people.html",
        {
            "person": person,
            "rel": rel,
            "counts": selectors.user_counts(person),
            "which": which,
            "page_obj": page,
            "rows": rows,
        },
    )


@require_GET
def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people_page(request, account_selectors.get_user_by_username(username), which="followers")


@require_GET
def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people_page(request, account_selectors.get_user_by_username(username), which="following")


@require_GET
def profile_posts(request: HttpRequest, username: str) -> HttpResponse:
    """More of a person's posts (HTMX appends them under the profile; without it, a page of its own)."""
    person = account_selectors.get_user_by_username(username)
    viewer = me(request)
    page = page_number(request)
    posts, has_next = slice_page(selectors.profile_posts(profile_user=person, viewer=viewer), page)
    more_url = f"{reverse('web:profile_posts', args=[person.username])}?page={page + 1}" if has_next else ""
    context = {"posts": posts, "next_url": more_url, "person": person, "page": page}
    if is_fragment(request):
        return vary_on_htmx(render(request, "web/social/_post_list.html", context))
    context["rel"] = selectors.relationship(viewer, person)
    return vary_on_htmx(render(request, "web/social/profile_posts.html", context))


@require_GET
def shop_posts(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """A shop's posts tab."""
    shop = shop_selectors.get_shop(shop_slug, viewer=request.user)
    page = page_number(request)
    posts, has_next = slice_page(selectors.shop_posts(shop=shop, viewer=request.user), page)
    more_url = f"{reverse('web:shop_posts', args=[shop.slug])}?page={page + 1}" if has_next else ""
    context: dict[str, Any] = {"posts": posts, "next_url": more_url}
    if is_fragment(request):
        return vary_on_htmx(render(request, "web/social/_post_list.html", context))
    context.update(_shop_page(request, shop, "posts"))
    context["can_post"] = me(request) is not None and shop_selectors.can(request.user, shop, ShopAction.POST_AS_SHOP)
    return vary_on_htmx(render(request, "web/social/shop_posts.html", context))


@require_GET
def shop_followers(request: HttpRequest, shop_slug: str) -> HttpResponse:
    shop = shop_selectors.get_shop(shop_slug, viewer=request.user)
    page = paginate(request, selectors.shop_followers(shop=shop, viewer=request.user), per_page=PEOPLE_PER_PAGE)
    people = [f.follower for f in page.object_list]
    rels = _relationships(me(request), people)
    rows = [{"user": f.follower, "since": f.created_at, "rel": rels.get(f.follower_id)} for f in page.object_list]
    context = _shop_page(request, shop, "followers")
    context.update({"page_obj": page, "rows": rows})
    return render(request, "web/social/shop_followers.html", context)

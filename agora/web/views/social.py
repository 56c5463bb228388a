"""The social pages: the home feed with its composer, post pages, likes, comments, reposts, share links, polls.

Every action is a POST that works without JavaScript (it redirects back); with HTMX it answers with the piece of
the page that changed (a like button, a comment thread, a poll), so nothing reloads.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agora.accounts.models import User
from agora.catalog import selectors as catalog_selectors
from agora.catalog.models import Product
from agora.core.errors import DomainError
from agora.core.http import client_ip
from agora.feed import selectors as feed_selectors
from agora.shops import selectors as shop_selectors
from agora.shops.models import Membership, Shop
from agora.shops.permissions import ShopAction, role_allows
from agora.social import selectors, services
from agora.social.errors import (
    NotYourComment,
    NotYourPost,
    PollInvalid,
    PollNotFound,
    PostInvalid,
    PostRemoved,
    SponsorInvalid,
)
from agora.social.models import Comment, Post
from agora.web.errors import apply_domain_error
from agora.web.views.social_common import (
    back,
    htmx_errors,
    is_fragment,
    me,
    prepare_comments,
    prepare_posts,
    vary_on_htmx,
)
from agora.web.views.social_forms import CommentForm, PostEditForm, PostForm, RepostForm

PICKER_RESULTS = 8
FRIENDS_SHOWN = 5


# --- the home feed and the composer ------------------------------------------------------
def _postable_shops(user: User) -> list[Shop]:
    """Shops the user may speak for (POST_AS_SHOP), active ones only."""
    memberships = Membership.objects.filter(user=user, shop__is_active=True).select_related("shop")
    return [m.shop for m in memberships.order_by("shop__name") if role_allows(m.role, ShopAction.POST_AS_SHOP)]


def _post_form(request: HttpRequest, user: User, data: Any = None, files: Any = None) -> PostForm:
    shops = _postable_shops(user)
    return PostForm(data, files, shop_choices=[(s.slug, s.name) for s in shops])


def _feed_context(request: HttpRequest, user: User) -> dict[str, Any]:
    page = feed_selectors.home_feed(user, cursor=request.GET.get("cursor") or None)
    return {
        "posts": prepare_posts(page.items),
        "next_url": f"{reverse('web:feed')}?cursor={page.next_cursor}" if page.next_cursor else "",
    }


@login_required
@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    """The home feed; ``?cursor=`` continues it (HTMX gets only the next posts and the next "more" link)."""
    user = me(request)
    assert user is not None
    context = _feed_context(request, user)
    if is_fragment(request):
        return vary_on_htmx(render(request, "web/social/_post_list.html", context))
    context["form"] = _post_form(request, user)
    context["pending_requests"] = selectors.pending_requests(user=user).count() if user.is_private else 0
    return vary_on_htmx(render(request, "web/social/feed.html", context))


def _sponsor(slug: str) -> Shop | None:
    slug = slug.strip().strip("/").removeprefix("s/").strip("/")
    if not slug:
        return None
    shop = Shop.objects.filter(slug__iexact=slug, is_active=True).first()
    if shop is None:
        raise SponsorInvalid(_("No open shop at /s/%(slug)s/.") % {"slug": slug}, field="sponsor")
    return shop


@login_required
@require_POST
def post_create(request: HttpRequest) -> HttpResponse:
    """Publish from the composer (a plain multipart POST); errors come back on the feed page next to the fields."""
    user = me(request)
    assert user is not None
    form = _post_form(request, user, request.POST, request.FILES)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            shop = None
            if data.get("as_shop"):
                shop = shop_selectors.get_shop(data["as_shop"], viewer=user)
            post = services.create_post(
                actor=user,
                text=data.get("text") or "",
                photos=data.get("photos") or [],
                tags=data["tags"],
                shop=shop,
                sponsor=_sponsor(data.get("sponsor") or ""),
                poll=data["poll"],
            )
        except DomainError as exc:
            field = {"poll.options": "poll_option_0", "poll.closes_at": "poll_duration", "question": "poll_question"}
            exc.field = field.get(exc.field or "", exc.field)
            if exc.field == "tags" or exc.field not in form.fields:
                exc.field = None
            apply_domain_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Posted."))
            return redirect(reverse("web:feed") + f"#post-{post.pk}")
    context = _feed_context(request, user)
    context["form"] = form
    context["composer_open"] = True
    return render(request, "web/social/feed.html", context, status=status)


@login_required
@require_GET
def tag_products(request: HttpRequest) -> HttpResponse:
    """The composer's product picker: published products matching ``q`` (the viewer's own shops' first)."""
    q = (request.GET.get("tag_q") or request.GET.get("q") or "").strip()[:100]
    products: list[Any] = []
    if q:
        found = catalog_selectors.search_products(q=q, sort="popular")
        products = list(found.prefetch_related("variants")[:PICKER_RESULTS])
        for product in products:
            product.active_variants = [v for v in product.variants.all() if v.is_active]
    return render(request, "web/social/_tag_picker_results.html", {"products": products, "q": q})


# --- one post ----------------------------------------------------------------------------
def _detail_context(request: HttpRequest, post: Post) -> dict[str, Any]:
    shown = post.repost_of or post
    # A repost's page shows the original's conversation: that is where its comments go.
    detail = selectors.post_detail(post=shown, viewer=request.user)
    prepare_posts([post])
    return {
        "post": post,
        "shown": shown,
        "detail_page": True,
        "comments": prepare_comments(detail.comments),
        "can_moderate": detail.can_moderate,
        "can_edit": detail.can_edit,
        "comment_form": CommentForm(),
        "canonical_url": request.build_absolute_uri(reverse("web:post", args=[post.pk])),
    }


@require_GET
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    """A post's own page (the address notifications and share links lead to): the post and its comments."""
    post = selectors.get_post(post_id=post_id, viewer=request.user)
    return render(request, "web/social/post_detail.html", _detail_context(request, post))


@login_required
@require_POST
@htmx_errors
def post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    services.delete_post(actor=user, post=post)
    if is_fragment(request):
        return HttpResponse("")  # the card is swapped out of the page
    messages.success(request, _("Your post was deleted."))
    return redirect("web:feed")


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """Edit one's post (for a shop's post: its staff who may post as the shop): the text, and which of its product
    tags stay. A page of its own that works without JavaScript; saving goes back to the post."""
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    if not selectors.can_edit_post(user, post):
        raise NotYourPost(_("Only the author can change this post."))
    if not post.is_live:
        raise PostRemoved(_("This post was removed; it cannot be edited."))
    tags = list(getattr(post, "tag_list", []))
    form = PostEditForm(request.POST or None, initial={"text": post.text}, tags=tags)
    status = 200
    if request.method == "POST" and form.is_valid():
        kept = set(form.cleaned_data["keep_tags"])
        try:
            services.update_post(
                actor=user,
                post=post,
                text=form.cleaned_data["text"],
                remove_tag_ids=[t.pk for t in tags if str(t.pk) not in kept],
            )
        except DomainError as exc:
            if exc.status != 422:
                raise
            apply_domain_error(form, exc if exc.field in form.fields else _without_field(exc))
            status = exc.status
        else:
            messages.success(request, _("Your post was saved."))
            return redirect("web:post", post_id=post.pk)
    elif request.method == "POST":
        status = 422
    return render(request, "web/social/post_edit.html", {"post": post, "form": form, "tags": tags}, status=status)


def _without_field(exc: DomainError) -> DomainError:
    exc.field = None
    return exc


@login_required
@require_POST
@htmx_errors
def post_unsponsor(request: HttpRequest, post_id: int) -> HttpResponse:
    """The named sponsor's staff: "we did not sponsor this" takes the "paid partnership" label off the post."""
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user)
    sponsor = post.sponsor
    services.remove_sponsorship(actor=user, post=post)
    if is_fragment(request):
        return HttpResponse("")  # the label is swapped out of the card
    if sponsor is not None:
        messages.success(request, _("The “paid partnership with %(shop)s” label was removed.") % {"shop": sponsor.name})
    return back(request, reverse("web:post", args=[post.pk]))


# --- likes -------------------------------------------------------------------------------
def _like_box(request: HttpRequest, post: Post, *, liked: bool) -> HttpResponse:
    count = Post.objects.filter(pk=post.pk).values_list("likes_count", flat=True).first() or 0
    return render(request, "web/social/_like.html", {"target": post, "liked": liked, "likes": count})


@login_required
@require_POST
@htmx_errors
def post_like(request: HttpRequest, post_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    services.like_post(actor=user, post=post)
    if is_fragment(request):
        return _like_box(request, post, liked=True)
    return back(request, reverse("web:post", args=[post.pk]))


@login_required
@require_POST
@htmx_errors
def post_unlike(request: HttpRequest, post_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    services.unlike_post(actor=user, post=post)
    if is_fragment(request):
        return _like_box(request, post, liked=False)
    return back(request, reverse("web:post", args=[post.pk]))


# --- comments ----------------------------------------------------------------------------
def _comments_box(request: HttpRequest, post: Post, *, form: CommentForm | None = None, status: int = 200) -> Any:
    comments = prepare_comments(list(selectors.comments_of(post=post, viewer=request.user, include_hidden=True)))
    count = Post.objects.filter(pk=post.pk).values_list("comments_count", flat=True).first() or 0
    return render(
        request,
        "web/social/_comments.html",
        {
            "post": post,
            "comments": comments,
            "comments_count": count,
            "can_moderate": selectors.can_moderate(request.user, post),
            "comment_form": form or CommentForm(),
            # After a change, the count on the post card follows (an out-of-band swap).
            "oob_count": request.method == "POST",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@htmx_errors
def post_comments(request: HttpRequest, post_id: int) -> HttpResponse:
    """GET: the thread (HTMX loads it under a card; without HTMX this is the post page). POST: add a comment or a
    reply (``parent_id``)."""
    if request.method == "GET":
        post = selectors.get_post(post_id=post_id, viewer=request.user)
        if not is_fragment(request):
            return redirect("web:post", post_id=post.pk)
        return vary_on_htmx(_comments_box(request, post))
    user = me(request)
    if user is None:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(reverse("web:post", args=[post_id]))
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(
                actor=user, post=post, text=form.cleaned_data["text"], parent_id=form.cleaned_data.get("parent_id")
            )
        except DomainError as exc:
            if exc.status != 422:
                raise  # HTMX: a message (htmx_errors); without it: the error page
            apply_domain_error(form, exc)
        else:
            if is_fragment(request):
                return _comments_box(request, post)
            return back(request, reverse("web:post", args=[post.pk]) + "#comments")
    if is_fragment(request):
        return _comments_box(request, post, form=form)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return back(request, reverse("web:post", args=[post.pk]))


def _own_comment(request: HttpRequest, comment_id: int) -> tuple[User, Comment]:
    user = me(request)
    assert user is not None
    return user, selectors.get_comment(comment_id=comment_id, viewer=user)


@login_required
@require_http_methods(["GET", "POST"])
@htmx_errors
def comment_edit(request: HttpRequest, comment_id: int) -> HttpResponse:
    """GET: the edit form (inline with HTMX, a small page without). POST: save and show the thread again."""
    user, comment = _own_comment(request, comment_id)
    if comment.author_id != user.pk:
        raise NotYourComment(_("You can only edit your own comments."))
    form = CommentForm(request.POST or None, initial={"text": comment.text})
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_comment(actor=user, comment=comment, text=form.cleaned_data["text"])
        except DomainError as exc:
            if exc.status != 422:
                raise
            apply_domain_error(form, exc)
        else:
            if is_fragment(request):
                return _comments_box(request, comment.post)
            return redirect(reverse("web:post", args=[comment.post_id]) + f"#comment-{comment.pk}")
    template = "web/social/_comment_edit.html" if is_fragment(request) else "web/social/comment_edit.html"
    return render(request, template, {"comment": comment, "form": form, "post": comment.post})


def _after_comment_change(request: HttpRequest, comment: Comment, *, anchor: str = "#comments") -> HttpResponse:
    """The post's comments again: the box alone for HTMX, else back to the page at ``anchor``."""
    if is_fragment(request):
        return _comments_box(request, comment.post)
    return back(request, reverse("web:post", args=[comment.post_id]) + anchor)


@login_required
@require_POST
@htmx_errors
def comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    user, comment = _own_comment(request, comment_id)
    services.delete_comment(actor=user, comment=comment)
    return _after_comment_change(request, comment)


@login_required
@require_POST
@htmx_errors
def comment_hide(request: HttpRequest, comment_id: int) -> HttpResponse:
    user, comment = _own_comment(request, comment_id)
    services.hide_comment(actor=user, comment=comment)
    return _after_comment_change(request, comment)


@login_required
@require_POST
@htmx_errors
def comment_unhide(request: HttpRequest, comment_id: int) -> HttpResponse:
    """Show a hidden comment again (the post's moderators see hidden comments, marked, with this button)."""
    user, comment = _own_comment(request, comment_id)
    services.unhide_comment(actor=user, comment=comment)
    return _after_comment_change(request, comment, anchor=f"#comment-{comment.pk}")


# --- reposts and share links ----------------------------------------------------------------
@login_required
@require_POST
@htmx_errors
def post_repost(request: HttpRequest, post_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    form = RepostForm(request.POST)
    if not form.is_valid():
        # Never repost without the comment the person wrote (a NUL character, say): say what is wrong instead.
        errors = [str(e) for e in form.errors.get("text", [])] or [_("This comment cannot be posted.")]
        raise PostInvalid(" ".join(errors), field="text")
    new = services.repost(actor=user, post=post, text=form.cleaned_data.get("text") or "")
    original = post.repost_of or post
    if is_fragment(request):
        count = Post.objects.filter(pk=original.pk).values_list("reposts_count", flat=True).first() or 0
        return render(request, "web/social/_reposted.html", {"target": original, "repost": new, "reposts": count})
    messages.success(request, _("Reposted to your followers."))
    return back(request, reverse("web:post", args=[new.pk]))


@login_required
@require_POST
@htmx_errors
def post_share(request: HttpRequest, post_id: int) -> HttpResponse:
    """Make (or find again) the viewer's short link to a post and show it, ready to copy."""
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    link = services.create_share_link(actor=user, post=post, channel=request.POST.get("channel", "")[:32])
    template = "web/social/_share_link.html" if is_fragment(request) else "web/social/share.html"
    return render(request, template, {"link": link, "target_post": post.repost_of or post})


@login_required
@require_POST
@htmx_errors
def product_share(request: HttpRequest, product_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    product = catalog_selectors.get_product(product_id=product_id, viewer=user)
    link = services.create_share_link(actor=user, product=product, channel=request.POST.get("channel", "")[:32])
    template = "web/social/_share_link.html" if is_fragment(request) else "web/social/share.html"
    return render(request, template, {"link": link, "target_product": product})


def friends_who_bought(product: Product, user: User, limit: int = FRIENDS_SHOWN) -> list[User]:
    """People ``user`` follows who bought ``product`` (orders' ``buyers_among``; nobody when orders is absent)."""
    try:
        from agora.orders.selectors import buyers_among
    except ImportError:  # the orders app is optional for this section
        return []
    followed, _shops = selectors.following_ids(user)
    followed -= selectors.blocked_ids(user)
    bought = buyers_among(product, followed) if followed else set()
    if not bought:
        return []
    return list(User.objects.filter(pk__in=bought, is_active=True).order_by("username")[:limit])


@require_GET
def product_friends(request: HttpRequest, product_id: int) -> HttpResponse:
    """Social proof under a product, for the signed-in viewer: people they follow who bought it or like a post of
    it. Loaded by HTMX after the product page (which stays the same for everyone)."""
    product = catalog_selectors.get_product(product_id=product_id, viewer=request.user)
    if not is_fragment(request):
        return redirect("web:product", shop_slug=product.shop.slug, product_slug=product.slug)
    user = me(request)
    bought = friends_who_bought(product, user) if user is not None and product.is_published else []
    liked: list[User] = []
    if user is not None and product.is_published:
        taken = {u.pk for u in bought}
        liked = [
            u
            for u in selectors.friends_who_like(product=product, viewer=user, limit=FRIENDS_SHOWN + len(taken))
            if u.pk not in taken
        ][:FRIENDS_SHOWN]
    context = {"friends_bought": bought, "friends_like": liked}
    return vary_on_htmx(render(request, "web/social/_product_friends.html", context))


@require_GET
def share_open(request: HttpRequest, code: str) -> HttpResponse:
    """A short link: record who opened it (the signed-in person, or this browser's session) and go to its post or
    product. A link to something the viewer may not see is a 404 (and not recorded)."""
    if not request.session.session_key:
        request.session.save()  # so that a purchase later in this visit can be attributed to the link
    link = services.open_share_link(
        code=code,
        viewer=me(request),
        session_key=request.session.session_key or "",
        referrer=request.META.get("HTTP_REFERER", ""),
        ip=client_ip(request),
    )
    if link.post_id is not None:
        return redirect("web:post", post_id=link.post_id)
    assert link.product is not None
    return redirect("web:product", shop_slug=link.product.shop.slug, product_slug=link.product.slug)


# --- polls -------------------------------------------------------------------------------
def _poll_box(request: HttpRequest, post: Post) -> HttpResponse:
    # Loaded again: the counters and the viewer's vote prefetched with ``post`` predate the vote just cast.
    fresh = selectors.get_post(post_id=post.pk, viewer=request.user)
    results = selectors.poll_results(poll=fresh.poll, viewer=request.user)  # type: ignore[attr-defined]
    return render(request, "web/social/_poll.html", {"poll_post": post, "results": results})


@require_GET
def post_poll(request: HttpRequest, post_id: int) -> HttpResponse:
    """A poll's current results (HTMX polls this while the poll is open, so the numbers stay live)."""
    post = selectors.get_post(post_id=post_id, viewer=request.user)
    if not hasattr(post, "poll"):
        return redirect("web:post", post_id=post.pk)
    if not is_fragment(request):
        return redirect("web:post", post_id=post.pk)
    return vary_on_htmx(_poll_box(request, post))


@login_required
@require_POST
@htmx_errors
def poll_vote(request: HttpRequest, post_id: int) -> HttpResponse:
    user = me(request)
    assert user is not None
    post = selectors.get_post(post_id=post_id, viewer=user, allow_removed=True)
    poll = getattr(post, "poll", None)
    if poll is None:
        raise PollNotFound(_("This post has no poll."))
    try:
        option_id = int(request.POST.get("option", ""))
    except ValueError:
        raise PollInvalid(_("Pick one of the options."), field="option_id") from None
    services.vote(actor=user, poll=poll, option_id=option_id)
    if is_fragment(request):
        return _poll_box(request, post)
    return back(request, reverse("web:post", args=[post.pk]))

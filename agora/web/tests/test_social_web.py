"""The social web pages: feed and composer, post cards and their actions (HTMX fragments and plain POSTs), post
pages, share links, polls, explore and hashtags, profiles and shops, the product page's social section, privacy
and query budgets."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductStatus
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, shop_with_owner
from agora.social import services
from agora.social.models import (
    Block,
    Comment,
    Follow,
    FollowRequest,
    Like,
    PollVote,
    Post,
    ProductTag,
    ShareLink,
    ShareOpen,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _social_settings(settings: Any) -> None:
    settings.AGORA_FEED_BACKEND = "database"
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 1000


def html(response: Any) -> str:
    return str(response.content.decode())


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(image_bytes: Callable[..., bytes], name: str = "p.jpg", color: str = "teal") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(color=color), content_type="image/jpeg")


def post_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-post="(\d+)"', page)]


@pytest.fixture
def alice() -> Any:
    return UserFactory(username="alice", display_name="Alice")


@pytest.fixture
def bob() -> Any:
    return UserFactory(username="bob", display_name="Bob")


@pytest.fixture
def carol() -> Any:
    return UserFactory(username="carol", display_name="Carol")


@pytest.fixture
def shop() -> Any:
    the_shop, owner = shop_with_owner(name="Clay Studio", slug="clay-studio", currency="EUR")
    the_shop.owner = owner
    return the_shop


@pytest.fixture
def mug(shop: Any) -> Any:
    return published_product(shop=shop, title="Blue mug", slug="blue-mug", variant__price=Decimal("12.50"))


# --- the feed ---------------------------------------------------------------------------------
def test_feed_needs_sign_in(client: Client) -> None:
    response = client.get("/feed/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_header_links_to_the_feed(alice: Any) -> None:
    page = html(client_for(alice).get("/"))
    assert 'href="/feed/"' in page


def test_feed_shows_followed_people_and_shops_newest_first(alice: Any, bob: Any, carol: Any, shop: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    services.follow_shop(actor=alice, shop=shop)
    old = services.create_post(actor=bob, text="Bob's first")
    shop_post = services.create_post(actor=shop.owner, shop=shop, text="New glaze!")
    stranger = services.create_post(actor=carol, text="Carol, not followed")
    own = services.create_post(actor=alice, text="My own words")
    response = client_for(alice).get("/feed/")
    assert response.status_code == 200
    page = html(response)
    assert post_ids(page) == [own.pk, shop_post.pk, old.pk]
    assert stranger.pk not in post_ids(page)
    assert "data-composer" in page
    assert "Clay Studio" in page


def test_empty_feed_points_to_explore(alice: Any) -> None:
    page = html(client_for(alice).get("/feed/"))
    assert "Your feed is empty." in page and 'href="/explore/"' in page


def test_feed_continues_by_cursor_and_htmx_gets_only_the_next_posts(alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_FEED_PAGE_SIZE = 3
    services.follow_user(actor=alice, target=bob)
    posts = [services.create_post(actor=bob, text=f"post {i}") for i in range(7)]
    client = client_for(alice)
    first = html(client.get("/feed/"))
    assert post_ids(first) == [p.pk for p in reversed(posts)][:3]
    more = re.search(r'hx-get="(/feed/\?cursor=[^"]+)"', first)
    assert more, "no 'more' link"
    fragment = client.get(more.group(1).replace("&amp;", "&"), **HX)
    body = html(fragment)
    assert "<html" not in body and "HX-Request" in fragment["Vary"]
    assert post_ids(body) == [p.pk for p in reversed(posts)][3:6]
    last = re.search(r'hx-get="(/feed/\?cursor=[^"]+)"', body)
    assert last
    tail = html(client.get(last.group(1), **HX))
    assert post_ids(tail) == [posts[0].pk]
    assert "data-feed-more" not in tail
    # Without HTMX the same address is a whole page starting there.
    whole = html(client.get(more.group(1)))
    assert "<html" in whole and post_ids(whole) == [p.pk for p in reversed(posts)][3:6]


def test_a_bad_cursor_is_a_clear_422(alice: Any) -> None:
    response = client_for(alice).get("/feed/?cursor=not-ours")
    assert response.status_code == 422
    assert "cursor" in html(response)


# --- the composer -----------------------------------------------------------------------------
def test_compose_a_shoppable_post_with_a_photo_tag_a_poll_and_a_sponsor(
    alice: Any, mug: Any, shop: Any, image_bytes: Callable[..., bytes]
) -> None:
    variant = mug.variants.get()
    client = client_for(alice)
    response = client.post(
        "/feed/post/",
        {
            "text": "Morning coffee in my new #BlueMug",
            "photos": [upload(image_bytes), upload(image_bytes, "b.jpg", "red")],
            "tag": [f"{mug.pk}:{variant.pk}:1:0.25:0.6", f"{mug.pk}"],
            "sponsor": "clay-studio",
            "poll_question": "Which colour next?",
            "poll_option_0": "Green",
            "poll_option_1": "Sand",
            "poll_duration": "3d",
        },
    )
    assert response.status_code == 302, html(response)
    post = Post.objects.get()
    assert response["Location"] == f"/feed/#post-{post.pk}"
    assert post.sponsor == shop and post.photos.count() == 2
    placed, listed = ProductTag.objects.filter(post=post).order_by("position")
    assert (placed.variant_id, placed.photo_id, placed.x, placed.y) == (
        variant.pk,
        post.photos.order_by("position")[1].pk,
        0.25,
        0.6,
    )
    assert listed.photo_id is None and listed.x is None
    assert [o.text for o in post.poll.options.all()] == ["Green", "Sand"]
    assert timedelta(days=2, hours=23) < post.poll.closes_at - timezone.now() <= timedelta(days=3)

    page = html(client.get("/feed/"))
    assert 'href="/tags/bluemug/"' in page
    assert "Paid partnership with" in page and 'href="/s/clay-studio/"' in page
    assert page.count("data-tag-dot") == 1 and "left: 25.00%; top: 60.00%;" in page
    assert page.count("data-product-tag=") == 2 and "€12.50" in page
    assert f"/s/clay-studio/p/blue-mug/?variant={variant.pk}" in page
    assert "Which colour next?" in page and "data-poll-option" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "   "}, "Write something or add a photo."),
        ({"text": "x", "tag": "12:abc"}, "A product tag could not be read"),
        ({"text": "x", "sponsor": "no-such-shop"}, "No open shop at /s/no-such-shop/."),
        ({"text": "x", "poll_question": "Which?", "poll_option_0": "Only one"}, "A poll has 2 to 6 options."),
    ],
)
def test_composer_errors_are_shown_on_the_feed(alice: Any, data: dict[str, Any], message: str) -> None:
    response = client_for(alice).post("/feed/post/", data)
    assert response.status_code == 422
    assert message in html(response)
    assert "data-composer" in html(response)
    assert not Post.objects.exists()


def test_composer_refuses_an_unpublished_product_and_too_many_photos(
    alice: Any, shop: Any, image_bytes: Callable[..., bytes], settings: Any
) -> None:
    draft = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None)
    client = client_for(alice)
    response = client.post("/feed/post/", {"text": "look", "tag": str(draft.pk)})
    assert response.status_code == 422 and "only published products can be tagged" in html(response)
    settings.AGORA_POST_MAX_PHOTOS = 2
    photos = [upload(image_bytes, f"{i}.jpg") for i in range(3)]
    response = client.post("/feed/post/", {"text": "many", "photos": photos})
    assert response.status_code == 422 and "at most 2 photos" in html(response)
    assert not Post.objects.exists()


def test_posting_as_a_shop_needs_the_role(alice: Any, shop: Any) -> None:
    owner_client = client_for(shop.owner)
    assert "Clay Studio" in html(owner_client.get("/feed/"))  # offered in "Post as"
    assert owner_client.post("/feed/post/", {"text": "From the studio", "as_shop": "clay-studio"}).status_code == 302
    assert Post.objects.get().shop == shop
    response = client_for(alice).post("/feed/post/", {"text": "Not mine", "as_shop": "clay-studio"})
    assert response.status_code in (403, 422)
    assert Post.objects.count() == 1


def test_tag_picker_finds_published_products_only(alice: Any, mug: Any, shop: Any) -> None:
    ProductFactory(shop=shop, title="Blue draft", status=ProductStatus.DRAFT, published_at=None)
    VariantFactory(product=mug, name="Large")
    page = html(client_for(alice).get("/feed/products/?tag_q=blue", **HX))
    assert "Blue mug" in page and "Blue draft" not in page
    assert f'data-product-id="{mug.pk}"' in page and "Large" in page
    assert "No published product" in html(client_for(alice).get("/feed/products/?q=zzz", **HX))


def test_post_text_is_escaped_and_only_real_mentions_are_linked(alice: Any, bob: Any) -> None:
    services.create_post(actor=alice, text="<script>alert(1)</script> hi @bob and @nobody #Tea")
    page = html(client_for(alice).get("/feed/"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a class="mention" href="/u/bob/">@bob</a>' in page
    assert "@nobody" in page and 'href="/u/nobody/"' not in page
    assert '<a class="hashtag" href="/tags/tea/">#Tea</a>' in page


# --- likes --------------------------------------------------------------------------------------
def test_like_and_unlike_through_htmx_answer_with_the_button(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Like me")
    client = client_for(alice)
    response = client.post(f"/p/{post.pk}/like/", **HX)
    assert response.status_code == 200
    fragment = html(response)
    assert "<html" not in fragment and 'aria-pressed="true"' in fragment
    assert re.search(r"data-like-count>1<", fragment)
    assert f'hx-post="/p/{post.pk}/unlike/"' in fragment
    again = html(client.post(f"/p/{post.pk}/like/", **HX))  # idempotent
    assert re.search(r"data-like-count>1<", again)
    assert Like.objects.filter(post=post).count() == 1
    fragment = html(client.post(f"/p/{post.pk}/unlike/", **HX))
    assert re.search(r"data-like-count>0<", fragment) and 'aria-pressed="false"' in fragment
    assert not Like.objects.exists()


def test_like_without_javascript_redirects_back(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Like me")
    response = client_for(alice).post(f"/p/{post.pk}/like/", {"next": "/feed/"})
    assert response.status_code == 302 and response["Location"] == "/feed/"
    assert Like.objects.filter(user=alice, post=post).exists()
    response = client_for(alice).post(f"/p/{post.pk}/like/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/p/{post.pk}/"


def test_signed_out_like_goes_to_sign_in(client: Client, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Like me")
    response = client.post(f"/p/{post.pk}/like/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(f"/p/{post.pk}/like/", **HX)
    assert response.status_code == 204 and "/accounts/login/" in response["HX-Redirect"]
    assert not Like.objects.exists()


def test_a_refused_htmx_action_answers_with_a_message(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="soon gone")
    services.delete_post(actor=bob, post=post)
    response = client_for(alice).post(f"/p/{post.pk}/like/", **HX)
    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/plain") and "removed" in html(response)
    response = client_for(alice).post(f"/p/{post.pk}/like/")  # without HTMX: the error page
    assert response.status_code == 409 and "<html" in html(response)


# --- comments -----------------------------------------------------------------------------------
def test_comment_reply_edit_delete_through_htmx(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=bob, text="Thoughts?")
    client = client_for(alice)
    thread = html(client.get(f"/p/{post.pk}/comments/", **HX))
    assert f'id="comments-{post.pk}"' in thread and "comment-form" in thread

    thread = html(client.post(f"/p/{post.pk}/comments/", {"text": "Lovely <b>glaze</b> @bob"}, **HX))
    comment = Comment.objects.get()
    assert "Lovely &lt;b&gt;glaze&lt;/b&gt;" in thread and '<a class="mention" href="/u/bob/">@bob</a>' in thread
    assert "1 comment" in thread
    assert f'<span id="comments-count-{post.pk}" hx-swap-oob="true">1 comment</span>' in thread

    carol_client = client_for(carol)
    thread = html(carol_client.post(f"/p/{post.pk}/comments/", {"text": "Agreed", "parent_id": comment.pk}, **HX))
    reply = Comment.objects.get(parent=comment)
    assert "comment-replies" in thread and f'id="comment-{reply.pk}"' in thread

    form = html(client.get(f"/comments/{comment.pk}/edit/", **HX))
    assert "<html" not in form and "Lovely &lt;b&gt;glaze&lt;/b&gt; @bob</textarea>" in form
    assert carol_client.get(f"/comments/{comment.pk}/edit/", **HX).status_code == 403
    thread = html(client.post(f"/comments/{comment.pk}/edit/", {"text": "Lovely glaze, edited"}, **HX))
    assert "Lovely glaze, edited" in thread and "edited" in thread

    assert carol_client.post(f"/comments/{comment.pk}/delete/", **HX).status_code == 403
    thread = html(client.post(f"/comments/{comment.pk}/delete/", **HX))
    assert "Lovely glaze" not in thread
    comment.refresh_from_db()
    assert comment.deleted_at is not None


def test_empty_comment_shows_the_error_in_the_thread(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Thoughts?")
    response = client_for(alice).post(f"/p/{post.pk}/comments/", {"text": "   "}, **HX)
    assert response.status_code == 200 and "field-error" in html(response)
    assert not Comment.objects.exists()


def test_post_author_hides_a_comment_others_cannot(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=bob, text="My post")
    comment = services.add_comment(actor=alice, post=post, text="rude words")
    assert client_for(carol).post(f"/comments/{comment.pk}/hide/", **HX).status_code == 403
    thread = html(client_for(bob).get(f"/p/{post.pk}/comments/", **HX))
    assert f'hx-post="/comments/{comment.pk}/hide/"' in thread
    thread = html(client_for(bob).post(f"/comments/{comment.pk}/hide/", **HX))
    # The author still sees it, marked hidden, with a button to show it again; nobody else does.
    assert "rude words" in thread and "data-comment-hidden" in thread
    assert f'hx-post="/comments/{comment.pk}/unhide/"' in thread
    assert "rude words" not in html(client_for(carol).get(f"/p/{post.pk}/"))
    assert "rude words" not in html(client_for(alice).get(f"/p/{post.pk}/"))


def test_shop_staff_hide_comments_on_shop_posts(alice: Any, shop: Any) -> None:
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    post = services.create_post(actor=shop.owner, shop=shop, text="New glaze")
    comment = services.add_comment(actor=alice, post=post, text="spam spam")
    response = client_for(support).post(f"/comments/{comment.pk}/hide/", {"next": f"/p/{post.pk}/"})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_at is not None


def test_comment_without_javascript(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Thoughts?")
    response = client_for(alice).post(f"/p/{post.pk}/comments/", {"text": "Plain form", "next": f"/p/{post.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/"
    assert "Plain form" in html(client_for(alice).get(f"/p/{post.pk}/"))
    comment = Comment.objects.get()
    page = html(client_for(alice).get(f"/comments/{comment.pk}/edit/"))
    assert "<html" in page and "Edit your comment" in page
    response = client_for(alice).post(f"/comments/{comment.pk}/edit/", {"text": "Plain, edited"})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/#comment-{comment.pk}"
    # The thread URL without HTMX is the post page.
    assert client_for(alice).get(f"/p/{post.pk}/comments/")["Location"] == f"/p/{post.pk}/"


def test_blocked_person_cannot_comment(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="Thoughts?")
    services.block_user(actor=bob, target=alice)
    response = client_for(alice).post(f"/p/{post.pk}/comments/", {"text": "hello"}, **HX)
    assert response.status_code == 404
    assert not Comment.objects.exists()


# --- reposts and shares --------------------------------------------------------------------------
def test_repost_with_a_comment_reaches_the_reposters_followers(alice: Any, bob: Any, carol: Any) -> None:
    original = services.create_post(actor=bob, text="Original words")
    services.follow_user(actor=carol, target=alice)
    fragment = html(client_for(alice).post(f"/p/{original.pk}/repost/", {"text": "So true #wisdom"}, **HX))
    repost = Post.objects.get(repost_of=original)
    assert repost.text == "So true #wisdom" and "Reposted" in fragment and f"/p/{repost.pk}/" in fragment
    assert re.search(r"data-repost-count>1<", fragment)
    page = html(client_for(carol).get("/feed/"))
    assert post_ids(page) == [repost.pk]
    assert "Alice</a> reposted" in page and "Original words" in page and "So true" in page
    # Reposting twice keeps one repost.
    client_for(alice).post(f"/p/{original.pk}/repost/", {"text": ""}, **HX)
    assert Post.objects.filter(repost_of=original).count() == 1


def test_own_post_cannot_be_reposted(alice: Any) -> None:
    post = services.create_post(actor=alice, text="mine")
    response = client_for(alice).post(f"/p/{post.pk}/repost/", **HX)
    assert response.status_code == 422 and "own post" in html(response)


def test_share_link_is_made_shown_and_records_opens(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=bob, text="Share me")
    fragment = html(client_for(alice).post(f"/p/{post.pk}/share/", **HX))
    link = ShareLink.objects.get()
    assert link.sharer == alice and link.post == post
    assert f"http://testserver/l/{link.code}" in fragment and "data-copy" in fragment
    # The same link again for a second click.
    client_for(alice).post(f"/p/{post.pk}/share/", **HX)
    assert ShareLink.objects.count() == 1

    response = client_for(carol).get(f"/l/{link.code}", HTTP_REFERER="https://chat.example/")
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/"
    opened = ShareOpen.objects.get()
    assert opened.viewer == carol and opened.referrer == "https://chat.example/"
    anonymous = Client()
    assert anonymous.get(f"/l/{link.code}/")["Location"] == f"/p/{post.pk}/"
    second = ShareOpen.objects.exclude(pk=opened.pk).get()
    assert second.viewer is None and second.session_key
    assert Client().get("/l/nosuchcode").status_code == 404


def test_share_a_product_link(alice: Any, mug: Any) -> None:
    fragment = html(client_for(alice).post(f"/products/{mug.pk}/share/", **HX))
    link = ShareLink.objects.get()
    assert link.product == mug and f"/l/{link.code}" in fragment
    response = Client().get(f"/l/{link.code}")
    assert response["Location"] == "/s/clay-studio/p/blue-mug/"
    page = html(client_for(alice).post(f"/products/{mug.pk}/share/"))  # without HTMX: a page with the link
    assert "Your share link" in page and f"/l/{link.code}" in page


# --- polls --------------------------------------------------------------------------------------
def _poll_post(author: Any) -> Post:
    return services.create_post(
        actor=author,
        text="Vote!",
        poll={"question": "Which colour next?", "options": [{"text": "Green"}, {"text": "Sand"}]},
    )


def test_vote_shows_live_results(alice: Any, bob: Any, carol: Any) -> None:
    post = _poll_post(bob)
    green, sand = post.poll.options.order_by("position")
    services.vote(actor=carol, poll=post.poll, option_id=sand.pk)
    client = client_for(alice)
    fragment = html(client.post(f"/p/{post.pk}/vote/", {"option": green.pk}, **HX))
    assert "data-poll-option" not in fragment
    assert re.search(rf'data-poll-result="{green.pk}">.*?50%', fragment, re.S)
    assert "(your vote)" in fragment and "2 votes" in fragment
    assert f'hx-get="/p/{post.pk}/poll/"' in fragment and 'hx-trigger="every 20s, poll-refresh"' in fragment
    # Voting again for the other option is refused with a message; the vote stays.
    response = client.post(f"/p/{post.pk}/vote/", {"option": sand.pk}, **HX)
    assert response.status_code == 409 and "already voted" in html(response)
    assert PollVote.objects.get(user=alice).option == green
    # The live refresh.
    assert "2 votes" in html(client.get(f"/p/{post.pk}/poll/", **HX))
    assert client.get(f"/p/{post.pk}/poll/")["Location"] == f"/p/{post.pk}/"


def test_vote_without_javascript_and_bad_option(alice: Any, bob: Any) -> None:
    post = _poll_post(bob)
    green = post.poll.options.order_by("position").first()
    client = client_for(alice)
    assert client.post(f"/p/{post.pk}/vote/", {"option": "x"}, **HX).status_code == 422
    response = client.post(f"/p/{post.pk}/vote/", {"option": green.pk, "next": "/feed/"})
    assert response.status_code == 302 and response["Location"] == "/feed/"
    page = html(client.get(f"/p/{post.pk}/"))
    assert "(your vote)" in page and "data-poll-option" not in page


def test_closed_poll_shows_final_results(alice: Any, bob: Any) -> None:
    post = _poll_post(bob)
    post.poll.__class__.objects.filter(pk=post.poll.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    page = html(client_for(alice).get(f"/p/{post.pk}/"))
    assert "final results" in page and "data-poll-option" not in page and "every 20s" not in page


# --- post pages ----------------------------------------------------------------------------------
def test_post_page_shows_the_post_and_its_comments(client: Client, alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="A post with a page")
    services.add_comment(actor=alice, post=post, text="First!")
    response = client.get(f"/p/{post.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert "A post with a page" in page and "First!" in page and "Sign in to comment" in page
    assert f'<link rel="canonical" href="http://testserver/p/{post.pk}/">' in page
    assert 'property="og:type" content="article"' in page


def test_repost_page_shows_the_originals_conversation(alice: Any, bob: Any, carol: Any) -> None:
    original = services.create_post(actor=bob, text="Original")
    services.add_comment(actor=carol, post=original, text="On the original")
    repost = services.repost(actor=alice, post=original, text="Look")
    page = html(client_for(carol).get(f"/p/{repost.pk}/"))
    assert "On the original" in page and f'hx-post="/p/{original.pk}/comments/"' in page


def test_deleted_post_is_gone_and_its_author_deletes_through_htmx(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="Regret")
    assert client_for(bob).post(f"/p/{post.pk}/delete/", **HX).status_code == 403
    response = client_for(alice).post(f"/p/{post.pk}/delete/", **HX)
    assert response.status_code == 200 and html(response) == ""
    assert client_for(bob).get(f"/p/{post.pk}/").status_code == 404
    assert client_for(alice).get(f"/p/{post.pk}/").status_code == 404


# --- explore and hashtags -------------------------------------------------------------------------
def test_explore_shows_posts_products_and_hashtags(client: Client, alice: Any, mug: Any) -> None:
    CategoryFactory(name="Ceramics", slug="ceramics")
    post = services.create_post(actor=alice, text="Loving #pottery", tags=[{"product_id": mug.pk}])
    services.like_post(actor=UserFactory(), post=post)
    response = client.get("/explore/")
    assert response.status_code == 200
    page = html(response)
    assert post.pk in post_ids(page) and "Blue mug" in page
    assert 'href="/explore/?category=ceramics"' in page
    assert client.get("/explore/?category=ceramics").status_code == 200
    assert client.get("/explore/?category=nope").status_code == 404


def test_hashtag_page_newest_and_top(client: Client, alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_FEED_PAGE_SIZE = 2
    posts = [services.create_post(actor=alice, text=f"#Glaze number {i}") for i in range(3)]
    services.create_post(actor=bob, text="no tag here")
    page = html(client.get("/tags/glaze/"))
    assert "<h1>#glaze</h1>" in page and post_ids(page) == [posts[2].pk, posts[1].pk]
    more = re.search(r'hx-get="(/tags/glaze/\?[^"]+)"', page)
    assert more
    rest = html(client.get(more.group(1).replace("&amp;", "&"), **HX))
    assert post_ids(rest) == [posts[0].pk]
    assert client.get("/tags/glaze/?sort=top").status_code == 200
    assert client.get("/tags/GLAZE/").status_code == 200
    assert client.get("/tags/never-used/").status_code == 404


# --- follows, requests, blocks --------------------------------------------------------------------
def test_follow_and_unfollow_through_htmx_update_the_button_and_the_count(alice: Any, bob: Any) -> None:
    client = client_for(alice)
    page = html(client.get("/u/bob/"))
    assert 'data-follow-state="none"' in page and 'id="followers-count-u' in page
    fragment = html(client.post("/u/bob/follow/", **HX))
    assert Follow.objects.filter(follower=alice, target_user=bob).exists()
    assert 'data-follow-state="following"' in fragment
    assert f'<span id="followers-count-u{bob.pk}" hx-swap-oob="true">1</span>' in fragment
    fragment = html(client.post("/u/bob/unfollow/", **HX))
    assert 'data-follow-state="none"' in fragment and "hx-swap-oob" in fragment
    assert not Follow.objects.exists()
    # In a list the button is compact and leaves the counts alone.
    fragment = html(client.post("/u/bob/follow/", {"compact": "1"}, **HX))
    assert "btn-small" in fragment and "hx-swap-oob" not in fragment


def test_follow_back_and_friends(alice: Any, bob: Any) -> None:
    services.follow_user(actor=bob, target=alice)
    page = html(client_for(alice).get("/u/bob/"))
    assert "Follow back" in page and "Follows you" in page
    client_for(alice).post("/u/bob/follow/", {"next": "/u/bob/"})
    assert "Friends" in html(client_for(alice).get("/u/bob/"))


def test_following_yourself_is_refused(alice: Any) -> None:
    response = client_for(alice).post("/u/alice/follow/", **HX)
    assert response.status_code == 422 and "yourself" in html(response)


def test_private_account_request_approve_and_decline(alice: Any, bob: Any, carol: Any) -> None:
    bob.is_private = True
    bob.save()
    secret = services.create_post(actor=bob, text="Only for friends")
    alice_client = client_for(alice)
    page = html(alice_client.get("/u/bob/"))
    assert "This account is private." in page and "Only for friends" not in page and "Request to follow" in page
    fragment = html(alice_client.post("/u/bob/follow/", **HX))
    assert 'data-follow-state="requested"' in fragment and "Requested" in fragment
    client_for(carol).post("/u/bob/follow/")
    bob_client = client_for(bob)
    assert "2 follow requests" in html(bob_client.get("/u/bob/"))
    requests_page = html(bob_client.get("/follow-requests/"))
    assert "Alice" in requests_page and "Carol" in requests_page
    alice_request = FollowRequest.objects.get(requester=alice)
    carol_request = FollowRequest.objects.get(requester=carol)
    assert "Approved" in html(bob_client.post(f"/follow-requests/{alice_request.pk}/approve/", **HX))
    assert "Declined" in html(bob_client.post(f"/follow-requests/{carol_request.pk}/decline/", **HX))
    assert "Already answered" in html(bob_client.post(f"/follow-requests/{carol_request.pk}/approve/", **HX))
    assert Follow.objects.filter(follower=alice, target_user=bob).exists()
    assert not Follow.objects.filter(follower=carol).exists()
    assert secret.pk in post_ids(html(alice_client.get("/u/bob/")))
    assert secret.pk in post_ids(html(alice_client.get("/feed/")))
    assert secret.pk not in post_ids(html(client_for(carol).get("/u/bob/")))
    # Someone else's request cannot be answered.
    other = FollowRequest.objects.create(requester=carol, target=alice)
    response = bob_client.post(f"/follow-requests/{other.pk}/approve/")
    assert response.status_code == 302 and FollowRequest.objects.filter(pk=other.pk).exists()


def test_withdraw_a_request(alice: Any, bob: Any) -> None:
    bob.is_private = True
    bob.save()
    client = client_for(alice)
    client.post("/u/bob/follow/")
    fragment = html(client.post("/u/bob/unfollow/", **HX))
    assert 'data-follow-state="none"' in fragment and not FollowRequest.objects.exists()


def test_block_and_unblock(alice: Any, bob: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    services.follow_user(actor=bob, target=alice)
    post = services.create_post(actor=bob, text="Bob speaks")
    client = client_for(alice)
    response = client.post("/u/bob/block/", {"next": "/u/bob/"})
    assert response.status_code == 302 and Block.objects.filter(blocker=alice, blocked=bob).exists()
    assert not Follow.objects.exists()
    page = html(client.get("/u/bob/"))
    assert "You blocked this account." in page and post.pk not in post_ids(page) and "data-unblock" in page
    bob_page = html(client_for(bob).get("/u/alice/"))
    assert "not available" in bob_page and 'data-follow-state="none"' not in bob_page
    assert client_for(bob).post("/u/alice/follow/", **HX).status_code == 403
    assert "Bob" in html(client.get("/accounts/blocked/"))
    client.post("/u/bob/unblock/")
    assert not Block.objects.exists()
    assert post.pk in post_ids(html(client.get("/u/bob/")))


def test_followers_and_following_lists(alice: Any, bob: Any, carol: Any, shop: Any) -> None:
    services.follow_user(actor=bob, target=alice)
    services.follow_user(actor=carol, target=alice)
    services.follow_user(actor=alice, target=bob)
    services.follow_shop(actor=alice, shop=shop)
    page = html(client_for(bob).get("/u/alice/followers/"))
    assert "Bob" in page and "Carol" in page
    assert 'data-follow-state="none"' in page  # bob may follow carol from the list
    own = html(client_for(alice).get("/u/alice/followers/"))
    assert own.count('action="/u/') and "/remove-follower/" in own
    following = html(client_for(carol).get("/u/alice/following/"))
    assert "Bob" in following and "Clay Studio" in following and 'href="/s/clay-studio/"' in following
    response = client_for(alice).post("/u/carol/remove-follower/", **HX)
    assert response.status_code == 200 and not Follow.objects.filter(follower=carol, target_user=alice).exists()


def test_private_lists_are_for_approved_followers(alice: Any, bob: Any, carol: Any) -> None:
    alice.is_private = True
    alice.save()
    services.follow_user(actor=bob, target=alice)  # a request
    services.approve_request(actor=alice, requester=bob)
    assert "Bob" not in html(client_for(carol).get("/u/alice/followers/")).split("</nav>")[-1]
    assert "Bob" in html(client_for(bob).get("/u/alice/followers/"))


# --- profiles -----------------------------------------------------------------------------------
def test_profile_shows_counts_posts_and_tagged_products(client: Client, alice: Any, mug: Any, settings: Any) -> None:
    posts = [services.create_post(actor=alice, text=f"post {i}") for i in range(14)]
    services.create_post(actor=alice, text="with a mug", tags=[{"product_id": mug.pk}])
    page = html(client.get("/u/alice/"))
    assert "<strong>15</strong> posts" in page
    assert "Tagged products" in page and "Blue mug" in page
    assert len(post_ids(page)) == 12
    more = re.search(r'hx-get="(/u/alice/posts/\?page=2)"', page)
    assert more
    rest = html(client.get(more.group(1), **HX))
    assert post_ids(rest) == [p.pk for p in reversed(posts)][11:]
    assert "<html" in html(client.get(more.group(1)))


def test_shop_page_keeps_its_catalog_and_gains_follow_and_posts(alice: Any, shop: Any, mug: Any) -> None:
    services.create_post(actor=shop.owner, shop=shop, text="Kiln day")
    client = client_for(alice)
    page = html(client.get("/s/clay-studio/"))
    assert "Blue mug" in page and 'data-follow-state="none"' in page
    assert 'href="/s/clay-studio/posts/"' in page and f'id="followers-count-s{shop.pk}">0<' in page
    fragment = html(client.post("/s/clay-studio/follow/", **HX))
    assert 'data-follow-state="following"' in fragment
    assert f'<span id="followers-count-s{shop.pk}" hx-swap-oob="true">1</span>' in fragment
    assert "Kiln day" in html(client.get("/s/clay-studio/posts/"))
    assert "Alice" in html(client.get("/s/clay-studio/followers/"))
    fragment = html(client.post("/s/clay-studio/unfollow/", **HX))
    assert 'data-follow-state="none"' in fragment and not Follow.objects.exists()
    # The catalogue's HTMX sort still answers with the results only.
    results = html(client.get("/s/clay-studio/?sort=price_asc", **HX))
    assert 'id="results"' in results and "shop-hero" not in results


# --- the product page ------------------------------------------------------------------------------
def test_product_page_shows_posts_tagging_it_and_loads_friends(
    alice: Any, bob: Any, carol: Any, mug: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = services.create_post(actor=bob, text="My mug", tags=[{"product_id": mug.pk}])
    services.like_post(actor=carol, post=post)
    services.follow_user(actor=alice, target=carol)
    services.follow_user(actor=alice, target=bob)
    monkeypatch.setattr("agora.orders.selectors.buyers_among", lambda product, ids: {bob.pk} & set(ids))
    client = client_for(alice)
    page = html(client.get("/s/clay-studio/p/blue-mug/"))
    assert post.pk in post_ids(page)
    assert f'hx-get="/products/{mug.pk}/friends/"' in page and "data-share-product" in page
    friends = html(client.get(f"/products/{mug.pk}/friends/", **HX))
    bought = friends.split("data-friends-bought")[1].split("</p>")[0]
    assert "Bob" in bought and "bought this" in bought
    liked = friends.split("data-friends-like")[1].split("</p>")[0]
    assert "Carol" in liked and "likes this" in liked
    assert client.get(f"/products/{mug.pk}/friends/")["Location"] == "/s/clay-studio/p/blue-mug/"


def test_friends_leave_out_blocked_people_and_strangers(
    alice: Any, bob: Any, carol: Any, mug: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = services.create_post(actor=carol, text="My mug", tags=[{"product_id": mug.pk}])
    services.like_post(actor=bob, post=post)  # alice does not follow bob
    services.follow_user(actor=alice, target=carol)
    services.block_user(actor=carol, target=alice)  # ends the follow too
    monkeypatch.setattr("agora.orders.selectors.buyers_among", lambda product, ids: set(ids))
    friends = html(client_for(alice).get(f"/products/{mug.pk}/friends/", **HX))
    assert "data-friends-bought" not in friends and "data-friends-like" not in friends


def test_product_page_for_a_stranger_has_posts_but_no_friends(client: Client, bob: Any, mug: Any) -> None:
    post = services.create_post(actor=bob, text="My mug", tags=[{"product_id": mug.pk}])
    page = html(client.get("/s/clay-studio/p/blue-mug/"))
    assert post.pk in post_ids(page)
    assert "/friends/" not in page and "data-share-product" not in page
    assert "data-friends-bought" not in html(client.get(f"/products/{mug.pk}/friends/", **HX))


def test_product_page_costs_one_query_for_its_social_section(alice: Any, mug: Any) -> None:
    from agora.feed import trending

    trending.refresh()  # what the periodic task keeps warm
    client = client_for(alice)
    client.get("/s/clay-studio/p/blue-mug/")
    with_section = _count_queries(client, "/s/clay-studio/p/blue-mug/")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.template.loader_tags.IncludeNode.render", _include_without_section())
        without = _count_queries(client, "/s/clay-studio/p/blue-mug/")
    assert with_section - without == 1


def _include_without_section() -> Any:
    from django.template.loader_tags import IncludeNode

    render = IncludeNode.render

    def patched(self: Any, context: Any) -> Any:
        if self.template.resolve(context) == "web/social/_product_social.html":
            return ""
        return render(self, context)

    return patched


def test_popular_label_on_trending_products(client: Client, mug: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from agora.feed import trending

    calls: list[int] = []

    def trending_ids() -> frozenset[int]:
        calls.append(1)
        return frozenset({mug.pk})

    monkeypatch.setattr("agora.feed.selectors.trending_product_ids", trending_ids)
    # Before any snapshot exists a page does not compute the trends: no label.
    assert "Popular on Agora" not in html(client.get("/s/clay-studio/p/blue-mug/")) and not calls
    trending.refresh()
    page = html(client.get("/s/clay-studio/p/blue-mug/"))
    assert "Popular on Agora" in page
    assert len(calls) == 1
    html(client.get("/s/clay-studio/p/blue-mug/"))
    assert len(calls) == 1  # kept a minute in the cache


def test_buy_links_go_to_the_product_with_the_variant(alice: Any, mug: Any) -> None:
    variant = mug.variants.get()
    services.create_post(actor=alice, text="tagged", tags=[{"product_id": mug.pk, "variant_id": variant.pk}])
    page = html(client_for(alice).get("/feed/"))
    buy = re.search(r'href="([^"]+)" data-buy', page)
    assert buy
    assert buy.group(1) in (f"/s/clay-studio/p/blue-mug/?variant={variant.pk}", f"/cart/add?items={variant.pk}:1")


# --- privacy: a private or blocked author's posts never leak ------------------------------------------
@pytest.fixture
def hidden_posts(alice: Any, bob: Any, carol: Any, mug: Any) -> dict[str, Any]:
    """Bob is private (Carol may see him); Alice blocked Carol. Alice follows Bob (request pending) and Carol."""
    bob.is_private = True
    bob.save()
    services.follow_user(actor=carol, target=bob)
    services.approve_request(actor=bob, requester=carol)
    services.follow_user(actor=alice, target=bob)  # stays a request
    services.follow_user(actor=alice, target=carol)
    tag = [{"product_id": mug.pk}]
    private = services.create_post(actor=bob, text="Private #secretglaze", tags=tag)
    blocked = services.create_post(actor=carol, text="Carol here #secretglaze", tags=tag)
    services.like_post(actor=carol, post=private)  # engagement, so that both would trend
    services.like_post(actor=UserFactory(), post=blocked)
    services.block_user(actor=alice, target=carol)
    return {"private": private, "blocked": blocked}


@pytest.mark.parametrize(
    "url",
    ["/feed/", "/u/bob/", "/u/carol/", "/s/clay-studio/p/blue-mug/", "/explore/", "/tags/secretglaze/"],
)
def test_hidden_posts_never_appear_on_lists(alice: Any, hidden_posts: dict[str, Any], url: str) -> None:
    response = client_for(alice).get(url)
    assert response.status_code == 200
    shown = post_ids(html(response))
    assert hidden_posts["private"].pk not in shown and hidden_posts["blocked"].pk not in shown
    assert "Private #secretglaze" not in html(response) and "Carol here" not in html(response)


@pytest.mark.parametrize("which", ["private", "blocked"])
def test_hidden_posts_have_no_page_and_no_actions(alice: Any, hidden_posts: dict[str, Any], which: str) -> None:
    post = hidden_posts[which]
    client = client_for(alice)
    assert client.get(f"/p/{post.pk}/").status_code == 404
    assert client.get(f"/p/{post.pk}/comments/", **HX).status_code == 404
    for action in ("like", "repost", "share"):
        assert client.post(f"/p/{post.pk}/{action}/", **HX).status_code == 404
    assert client.post(f"/p/{post.pk}/comments/", {"text": "hi"}, **HX).status_code == 404


def test_signed_out_visitors_do_not_see_private_posts(client: Client, hidden_posts: dict[str, Any]) -> None:
    private = hidden_posts["private"]
    assert client.get(f"/p/{private.pk}/").status_code == 404
    for url in ("/u/bob/", "/s/clay-studio/p/blue-mug/", "/explore/", "/tags/secretglaze/"):
        assert private.pk not in post_ids(html(client.get(url)))
    # The approved follower does see it.
    assert private.pk in post_ids(html(client_for(hidden_posts["private"].author).get("/u/bob/")))


def test_approved_follower_sees_the_private_post_everywhere(carol: Any, hidden_posts: dict[str, Any]) -> None:
    private = hidden_posts["private"]
    client = client_for(carol)
    for url in ("/feed/", "/u/bob/", "/s/clay-studio/p/blue-mug/", "/tags/secretglaze/", f"/p/{private.pk}/"):
        assert private.pk in post_ids(html(client.get(url))), url


def test_a_share_link_to_a_private_post_does_not_open_it_for_strangers(
    client: Client, carol: Any, hidden_posts: dict[str, Any]
) -> None:
    private = hidden_posts["private"]
    link = services.create_share_link(actor=carol, post=private)
    response = client.get(f"/l/{link.code}", follow=True)
    assert response.status_code == 404


# --- query budgets -------------------------------------------------------------------------------------
def _busy_feed(viewer: Any, mug: Any, image_bytes: Callable[..., bytes], count: int) -> None:
    for i in range(count):
        author = UserFactory()
        services.follow_user(actor=viewer, target=author)
        post = services.create_post(
            actor=author,
            text=f"#tag{i} hello @{viewer.username}",
            photos=[upload(image_bytes)],
            tags=[{"product_id": mug.pk, "photo": 0, "x": 0.5, "y": 0.5}],
            poll={"question": "Yes?", "options": ["Yes", "No"]} if i % 2 else None,
        )
        services.add_comment(actor=viewer, post=post, text="nice")
        if i % 3 == 0:
            services.like_post(actor=viewer, post=post)
        if i % 4 == 0:
            services.repost(actor=author, post=services.create_post(actor=UserFactory(), text="orig"))


def _count_queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_feed_page_query_budget_does_not_grow_with_posts(
    alice: Any, mug: Any, image_bytes: Callable[..., bytes], django_assert_max_num_queries: Any
) -> None:
    client = client_for(alice)
    _busy_feed(alice, mug, image_bytes, 4)
    client.get("/feed/")  # warms the caches (category menu, trending snapshot)
    few = _count_queries(client, "/feed/")
    _busy_feed(alice, mug, image_bytes, 12)
    many = _count_queries(client, "/feed/")
    assert many == few
    with django_assert_max_num_queries(30):
        client.get("/feed/")


def test_profile_page_query_budget_does_not_grow_with_posts(
    alice: Any, bob: Any, mug: Any, image_bytes: Callable[..., bytes], django_assert_max_num_queries: Any
) -> None:
    client = client_for(alice)

    def posts(n: int) -> None:
        for i in range(n):
            post = services.create_post(
                actor=bob, text=f"#tag{i}", photos=[upload(image_bytes)], tags=[{"product_id": mug.pk}]
            )
            services.like_post(actor=alice, post=post)

    posts(2)
    client.get("/u/bob/")
    few = _count_queries(client, "/u/bob/")
    posts(12)
    many = _count_queries(client, "/u/bob/")
    assert many == few
    with django_assert_max_num_queries(35):
        client.get("/u/bob/")


def test_popular_label_on_product_cards(client: Client, mug: Any, shop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from agora.feed import trending

    other = published_product(shop=shop, title="Red mug")
    trending.refresh()
    monkeypatch.setattr("agora.feed.selectors.trending_product_ids", lambda: frozenset({mug.pk}))
    page = html(client.get("/search/?q=mug"))
    assert page.count("data-popular") == 1
    card = page.split('<article class="card product-card">')
    assert any("Blue mug" in c and "data-popular" in c for c in card)
    assert not any(other.title in c and "data-popular" in c for c in card)


def test_a_repost_card_is_as_shoppable_as_the_original(alice: Any, bob: Any, carol: Any, mug: Any) -> None:
    original = services.create_post(actor=bob, text="My mug", tags=[{"product_id": mug.pk}])
    repost = services.repost(actor=alice, post=original, text="Want")
    services.follow_user(actor=carol, target=alice)
    services.follow_user(actor=carol, target=bob)
    page = html(client_for(carol).get("/feed/"))
    assert post_ids(page) == [repost.pk, original.pk]
    assert page.count("€12.50") == 2 and page.count("data-buy") == 2
    # Its author can take the repost back from the card.
    mine = html(client_for(alice).get("/feed/"))
    assert "Undo repost" in mine
    assert client_for(alice).post(f"/p/{repost.pk}/delete/", **HX).status_code == 200
    assert Post.objects.get(pk=repost.pk).deleted_at is not None


def test_notifications_point_at_these_pages(alice: Any, bob: Any) -> None:
    from agora.notifications.models import Notification

    bob.is_private = True
    bob.save()
    post = services.create_post(actor=alice, text="Hello")
    services.like_post(actor=bob, post=post)
    services.follow_user(actor=alice, target=bob)
    like = Notification.objects.get(recipient=alice, kind="social.like")
    request = Notification.objects.get(recipient=bob, kind="social.follow_request")
    assert like.url == f"/p/{post.pk}/" and client_for(alice).get(like.url).status_code == 200
    assert request.url == "/follow-requests/" and "Alice" in html(client_for(bob).get(request.url))


def test_privacy_page_turns_the_account_private(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="Soon private")
    client = client_for(alice)
    assert 'href="/accounts/privacy/"' in html(client.get("/u/alice/"))
    assert "Private account" in html(client.get("/accounts/privacy/"))
    response = client.post("/accounts/privacy/", {"is_private": "on"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_private
    assert post.pk not in post_ids(html(client_for(bob).get("/u/alice/")))
    assert client_for(bob).get(f"/p/{post.pk}/").status_code == 404
    client.post("/accounts/privacy/", {})
    alice.refresh_from_db()
    assert not alice.is_private


# --- second read: editing posts, sponsorship labels, hidden comments, share links -------------------------------
def test_edit_own_post_text_and_take_a_tag_off(alice: Any, bob: Any, mug: Any, shop: Any) -> None:
    vase = published_product(shop=shop, title="Tall vase", slug="tall-vase")
    post = services.create_post(actor=alice, text="Old #words", tags=[{"product_id": mug.pk}, {"product_id": vase.pk}])
    client = client_for(alice)
    assert f'href="/p/{post.pk}/edit/"' in html(client.get(f"/p/{post.pk}/"))
    page = html(client.get(f"/p/{post.pk}/edit/"))
    assert "Old #words" in page and "Blue mug" in page and "Tall vase" in page
    _mug_tag, vase_tag = ProductTag.objects.filter(post=post).order_by("position")
    response = client.post(f"/p/{post.pk}/edit/", {"text": "New text @bob #fresh", "keep_tags": [str(vase_tag.pk)]})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/"
    post.refresh_from_db()
    assert post.text == "New text @bob #fresh" and post.edited_at is not None
    assert list(ProductTag.objects.filter(post=post).values_list("product_id", flat=True)) == [vase.pk]
    shown = html(client.get(f"/p/{post.pk}/"))
    assert 'href="/tags/fresh/"' in shown and 'class="mention"' in shown and "edited" in shown


def test_editing_keeps_the_rules_and_is_the_authors(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="Mine")
    assert client_for(bob).get(f"/p/{post.pk}/edit/").status_code == 403
    assert client_for(bob).post(f"/p/{post.pk}/edit/", {"text": "Hacked"}).status_code == 403
    assert f"/p/{post.pk}/edit/" not in html(client_for(bob).get(f"/p/{post.pk}/"))
    response = client_for(alice).post(f"/p/{post.pk}/edit/", {"text": "   "})
    assert response.status_code == 422 and "Write something" in html(response)
    response = client_for(alice).post(f"/p/{post.pk}/edit/", {"text": "x" * 3000})
    assert response.status_code == 422
    post.refresh_from_db()
    assert post.text == "Mine"
    assert Client().get(f"/p/{post.pk}/edit/").status_code == 302  # to the sign-in page


def test_shop_staff_edit_a_shop_post_from_its_page(alice: Any, shop: Any) -> None:
    post = services.create_post(actor=shop.owner, shop=shop, text="From the shop")
    MembershipFactory(shop=shop, user=alice, role=Role.MANAGER)
    assert f'href="/p/{post.pk}/edit/"' in html(client_for(alice).get(f"/p/{post.pk}/"))
    assert client_for(alice).post(f"/p/{post.pk}/edit/", {"text": "Edited by a manager"}).status_code == 302
    post.refresh_from_db()
    assert post.text == "Edited by a manager"


def test_sponsor_staff_take_the_label_off(alice: Any, bob: Any, shop: Any) -> None:
    post = services.create_post(actor=alice, text="Sponsored?", sponsor=shop)
    owner = client_for(shop.owner)
    page = html(owner.get(f"/p/{post.pk}/"))
    assert "Paid partnership with" in page and f'hx-post="/p/{post.pk}/sponsor/remove/"' in page
    assert f"/p/{post.pk}/sponsor/remove/" not in html(client_for(bob).get(f"/p/{post.pk}/"))
    assert client_for(bob).post(f"/p/{post.pk}/sponsor/remove/", **HX).status_code == 403
    response = owner.post(f"/p/{post.pk}/sponsor/remove/", **HX)
    assert response.status_code == 200 and html(response) == ""
    post.refresh_from_db()
    assert post.sponsor is None
    assert "Paid partnership" not in html(client_for(bob).get(f"/p/{post.pk}/"))


def test_sponsor_label_removal_without_javascript(alice: Any, shop: Any) -> None:
    post = services.create_post(actor=alice, text="Sponsored?", sponsor=shop)
    response = client_for(shop.owner).post(f"/p/{post.pk}/sponsor/remove/", {"next": f"/p/{post.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/"
    post.refresh_from_db()
    assert post.sponsor is None


def test_unhide_a_comment(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=bob, text="My post")
    comment = services.add_comment(actor=alice, post=post, text="second thoughts")
    services.hide_comment(actor=bob, comment=comment)
    page = html(client_for(bob).get(f"/p/{post.pk}/"))
    assert "second thoughts" in page and "data-comment-hidden" in page and "Unhide" in page
    assert client_for(carol).post(f"/comments/{comment.pk}/unhide/", **HX).status_code == 403
    thread = html(client_for(bob).post(f"/comments/{comment.pk}/unhide/", **HX))
    assert "second thoughts" in thread and "data-comment-hidden" not in thread
    assert "second thoughts" in html(client_for(carol).get(f"/p/{post.pk}/"))
    post.refresh_from_db()
    assert post.comments_count == 1


def test_hidden_comments_in_the_api_only_for_moderators(alice: Any, bob: Any, api: Any) -> None:
    from agora.accounts.services import issue_token

    post = services.create_post(actor=bob, text="My post")
    kept = services.add_comment(actor=alice, post=post, text="fine")
    gone = services.add_comment(actor=alice, post=post, text="rude")
    services.hide_comment(actor=bob, comment=gone)
    _token, raw = issue_token(user=bob, name="t")
    mine = api.get(f"/api/v1/posts/{post.pk}/comments", headers={"Authorization": f"Bearer {raw}"}).json()
    assert [(c["id"], c["hidden"]) for c in mine["items"]] == [(kept.pk, False), (gone.pk, True)]
    public = api.get(f"/api/v1/posts/{post.pk}/comments").json()
    assert [c["id"] for c in public["items"]] == [kept.pk]


def test_a_share_link_to_a_post_one_may_not_see_records_nothing(
    client: Client, carol: Any, hidden_posts: dict[str, Any]
) -> None:
    link = services.create_share_link(actor=carol, post=hidden_posts["private"])
    assert client.get(f"/l/{link.code}").status_code == 404
    assert not ShareOpen.objects.exists()
    assert client_for(carol).get(f"/l/{link.code}").status_code == 302  # she may see it (her own link: no count)


def test_opening_a_link_twice_counts_once(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=bob, text="Share me")
    link = services.create_share_link(actor=alice, post=post)
    visitor = Client()
    for _i in range(3):
        assert visitor.get(f"/l/{link.code}").status_code == 302
        assert client_for(carol).get(f"/l/{link.code}").status_code == 302
    link.refresh_from_db()
    assert link.opens_count == 2 and ShareOpen.objects.count() == 2


def test_poll_and_like_counts_have_live_hooks(alice: Any, bob: Any) -> None:
    post = _poll_post(bob)
    page = html(client_for(alice).get(f"/p/{post.pk}/"))
    assert f'data-poll="{post.poll.pk}"' in page and "poll-refresh" in page
    assert f'data-like-box="{post.pk}"' in page and "data-like-count" in page
    assert "web/social.js" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_no_open_redirects_from_social_actions(alice: Any, bob: Any, target: str) -> None:
    post = services.create_post(actor=bob, text="Share me")
    link = services.create_share_link(actor=bob, post=post)
    client = client_for(alice)
    assert client.get(f"/l/{link.code}?next={target}")["Location"] == f"/p/{post.pk}/"
    response = client.post(f"/p/{post.pk}/like/", {"next": target})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.pk}/"
    response = client.post("/u/bob/follow/", {"next": target})
    assert response.status_code == 302 and response["Location"] == "/u/bob/"

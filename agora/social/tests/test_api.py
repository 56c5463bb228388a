"""The social API end to end: status codes, shapes, bad input, and query budgets."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductStatus
from agora.catalog.tests.factories import ProductFactory, published_product
from agora.shops.tests.factories import shop_with_owner
from agora.social import services
from agora.social.models import Comment, Follow, Like, PollVote, Post, ShareOpen
from agora.social.selectors import share_path
from agora.social.text import hashtag_url

pytestmark = pytest.mark.django_db


def photo(image_bytes: Callable[..., bytes], name: str = "p.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(), content_type="image/jpeg")


def post_form(client: Any, **fields: Any) -> Any:
    return client.post("/api/v1/posts", fields, headers=client._headers(None))


# --- posts ----------------------------------------------------------------------------
def test_create_post_with_photo_and_tags_multipart(
    api_as: Callable[[Any], Any], alice: Any, image_bytes: Callable[..., bytes]
) -> None:
    product = published_product(title="Teal mug")
    variant = product.variants.first()
    _sponsor, _owner = shop_with_owner(name="Mug Co", slug="mug-co")
    client = api_as(alice)
    tags = [{"product_id": product.pk, "variant_id": variant.pk, "photo": 0, "x": 0.3, "y": 0.7}]
    response = post_form(
        client,
        text="My #mug <3 @alice",
        tags=json.dumps(tags),
        sponsor="mug-co",
        photos=[photo(image_bytes), photo(image_bytes, "b.jpg")],
        photo_alts=["front", "back"],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "My #mug <3 @alice"
    assert f'<a class="hashtag" href="{hashtag_url("mug")}">#mug</a> &lt;3' in body["text_html"]
    assert body["author"]["username"] == "alice"
    assert [p["alt"] for p in body["photos"]] == ["front", "back"]
    assert body["photos"][0]["url"].startswith("http://testserver/media/posts/")
    tag = body["product_tags"][0]
    assert tag["product"]["title"] == "Teal mug" and tag["variant"]["price"] == "19.90"
    assert tag["photo_id"] == body["photos"][0]["id"] and (tag["x"], tag["y"]) == (0.3, 0.7)
    assert body["disclosure"] == "Paid partnership with Mug Co"
    assert body["likes_count"] == 0 and body["viewer_liked"] is False and body["repost_of"] is None


def test_create_post_as_shop_with_a_poll(api_as: Callable[[Any], Any]) -> None:
    shop, owner = shop_with_owner(slug="teahouse")
    product = published_product(shop=shop, title="Green tea")
    client = api_as(owner)
    poll = {"question": "Next flavour?", "options": ["Mint", {"product_id": product.pk}], "duration_hours": 24}
    response = post_form(client, text="Vote!", shop="teahouse", poll=json.dumps(poll))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["shop"]["slug"] == "teahouse"
    assert [o["text"] for o in body["poll"]["options"]] == ["Mint", "Green tea"]
    assert body["poll"]["is_open"] is True and body["poll"]["voted_option_id"] is None


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"text": ""}, 422, "post_invalid"),
        ({"text": "x" * 2201}, 422, "too_long"),
        ({"text": "x", "tags": "not json"}, 422, "invalid"),
        ({"text": "x", "tags": '{"a": 1}'}, 422, "post_invalid"),
        ({"text": "x", "tags": '[{"product_id": "7"}]'}, 422, "product_not_taggable"),
        ({"text": "x", "sponsor": "no-such-shop"}, 422, "sponsor_invalid"),
        ({"text": "x", "shop": "no-such-shop"}, 422, "post_invalid"),
        ({"poll": '{"question": "Q", "options": ["a"]}'}, 422, "poll_invalid"),
        ({"poll": '{"question": "Q", "options": ["a", "b"], "closes_at": "soon"}'}, 422, "poll_invalid"),
        ({"poll": "[1]"}, 422, "poll_invalid"),
    ],
)
def test_bad_posts(api_as: Callable[[Any], Any], alice: Any, fields: dict[str, str], status: int, code: str) -> None:
    response = post_form(api_as(alice), **fields)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Post.objects.exists()


def test_too_many_photos_and_unpublished_tag(
    api_as: Callable[[Any], Any], alice: Any, image_bytes: Callable[..., bytes]
) -> None:
    client = api_as(alice)
    response = post_form(client, text="x", photos=[photo(image_bytes, f"{i}.jpg") for i in range(11)])
    assert response.status_code == 422 and response.json()["code"] == "too_many_photos"
    draft = ProductFactory(status=ProductStatus.DRAFT)
    response = post_form(client, text="x", tags=json.dumps([{"product_id": draft.pk}]))
    assert response.status_code == 422 and response.json()["code"] == "product_not_taggable"
    assert "not published" in response.json()["detail"]
    assert not Post.objects.exists()


def test_posting_needs_sign_in_and_has_a_rate_limit(
    api: Any, api_as: Callable[[Any], Any], alice: Any, settings: Any
) -> None:
    assert api.post("/api/v1/posts", {"text": "x"}).status_code == 401
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 1
    client = api_as(alice)
    assert post_form(client, text="one").status_code == 201
    response = post_form(client, text="two")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert response["Retry-After"]


def test_edit_and_delete_post(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    product = published_product()
    post = services.create_post(actor=alice, text="first")
    client = api_as(alice)
    response = client.call("PATCH", f"posts/{post.pk}", {"text": "second #new", "tags": [{"product_id": product.pk}]})
    assert response.status_code == 200, response.content
    assert response.json()["text"] == "second #new" and response.json()["edited_at"]
    assert len(response.json()["product_tags"]) == 1
    assert api_as(bob).call("PATCH", f"posts/{post.pk}", {"text": "mine now"}).status_code == 403
    assert api_as(bob).call("DELETE", f"posts/{post.pk}").status_code == 403
    assert client.call("DELETE", f"posts/{post.pk}").status_code == 204
    assert client.call("DELETE", f"posts/{post.pk}").status_code == 204  # already gone: same answer
    assert client.call("GET", f"posts/{post.pk}").status_code == 404


# --- likes, comments, reposts -----------------------------------------------------------
def test_like_unlike(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    client = api_as(bob)
    for _ in range(2):
        response = client.call("POST", f"posts/{post.pk}/like")
        assert response.status_code == 200
        assert response.json()["likes_count"] == 1 and response.json()["viewer_liked"] is True
    assert Like.objects.count() == 1
    response = client.call("DELETE", f"posts/{post.pk}/like")
    assert response.json()["likes_count"] == 0 and response.json()["viewer_liked"] is False


def test_comments_flow(api_as: Callable[[Any], Any], api: Any, alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    bob_client, alice_client = api_as(bob), api_as(alice)
    top = bob_client.call("POST", f"posts/{post.pk}/comments", {"text": "Nice"})
    assert top.status_code == 201
    top_id = top.json()["id"]
    reply = alice_client.call("POST", f"posts/{post.pk}/comments", {"text": "Thanks", "parent_id": top_id})
    assert reply.status_code == 201 and reply.json()["parent_id"] == top_id
    deeper = bob_client.call("POST", f"posts/{post.pk}/comments", {"text": "x", "parent_id": reply.json()["id"]})
    assert deeper.status_code == 422 and deeper.json()["code"] == "comment_invalid"
    listing = api.call("GET", f"posts/{post.pk}/comments").json()
    assert listing["count"] == 1 and [r["text"] for r in listing["items"][0]["replies"]] == ["Thanks"]
    assert bob_client.call("PATCH", f"comments/{top_id}", {"text": "Very nice"}).json()["text"] == "Very nice"
    assert alice_client.call("PATCH", f"comments/{top_id}", {"text": "hacked"}).status_code == 403
    assert bob_client.call("POST", f"comments/{top_id}/hide").status_code == 403
    assert alice_client.call("POST", f"comments/{top_id}/hide").status_code == 204
    assert api.call("GET", f"posts/{post.pk}/comments").json()["count"] == 0
    assert alice_client.call("POST", f"comments/{top_id}/unhide").status_code == 204
    assert bob_client.call("DELETE", f"comments/{top_id}").status_code == 204
    assert Comment.objects.get(pk=top_id).deleted_at is not None


def test_comment_on_hidden_post_is_409(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    services.hide_post(actor=UserFactory(is_staff=True), post=post)
    response = api_as(bob).call("POST", f"posts/{post.pk}/comments", {"text": "hello?"})
    assert response.status_code == 409 and response.json()["code"] == "post_removed"
    assert api_as(bob).call("POST", f"posts/{post.pk}/like").status_code == 409


def test_repost(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="original")
    client = api_as(bob)
    response = client.call("POST", f"posts/{post.pk}/repost", {"text": "so good"})
    assert response.status_code == 201
    body = response.json()
    assert body["repost_of"]["id"] == post.pk and body["repost_of"]["reposts_count"] == 1 and body["text"] == "so good"
    again = client.call("POST", f"posts/{post.pk}/repost", {"text": ""})
    assert again.json()["id"] == body["id"]
    client.call("POST", f"posts/{post.pk}/like")
    shown = client.call("GET", f"posts/{body['id']}").json()
    assert shown["repost_of"]["viewer_liked"] is True and shown["viewer_liked"] is False
    own = api_as(alice).call("POST", f"posts/{post.pk}/repost", {"text": ""})
    assert own.status_code == 422 and own.json()["code"] == "cannot_repost"


# --- graph ----------------------------------------------------------------------------
def test_follow_endpoints(api_as: Callable[[Any], Any], api: Any, alice: Any, bob: Any) -> None:
    client = api_as(alice)
    response = client.call("POST", "users/bob/follow")
    assert response.json() == {"status": "following", "created": True}
    assert client.call("POST", "users/bob/follow").json() == {"status": "following", "created": False}
    selfie = client.call("POST", "users/alice/follow")
    assert selfie.status_code == 422 and selfie.json()["code"] == "cannot_follow_self"
    assert client.call("POST", "users/nobody/follow").status_code == 404
    followers = api.call("GET", "users/bob/followers").json()
    assert followers["count"] == 1 and followers["items"][0]["user"]["username"] == "alice"
    following = api.call("GET", "users/alice/following").json()
    assert following["items"][0]["user"]["username"] == "bob" and following["items"][0]["shop"] is None
    social = client.call("GET", "users/bob/social").json()
    assert social["followers"] == 1 and social["relationship"]["following"] is True
    assert client.call("DELETE", "users/bob/follow").status_code == 204
    assert not Follow.objects.exists()


def test_shop_follow_endpoints(api_as: Callable[[Any], Any], api: Any, alice: Any) -> None:
    _shop, _owner = shop_with_owner(slug="teahouse")
    client = api_as(alice)
    assert client.call("POST", "shops/teahouse/follow").json()["status"] == "following"
    assert client.call("GET", "shops/teahouse/social").json()["followers"] == 1
    assert api.call("GET", "shops/teahouse/followers").json()["items"][0]["user"]["username"] == "alice"
    following = api.call("GET", "users/alice/following").json()["items"]
    assert following[0]["shop"]["slug"] == "teahouse" and following[0]["user"] is None
    assert client.call("DELETE", "shops/teahouse/follow").status_code == 204


def test_private_account_requests_via_api(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    bob_client = api_as(bob)
    assert bob_client.call("PATCH", "me", {"is_private": True}).json()["is_private"] is True
    assert api_as(alice).call("POST", "users/bob/follow").json()["status"] == "requested"
    requests = bob_client.call("GET", "me/follow-requests").json()
    assert [r["requester"]["username"] for r in requests["items"]] == ["alice"]
    assert bob_client.call("POST", "me/follow-requests/alice/approve").status_code == 204
    assert Follow.objects.filter(follower=alice, target_user=bob).exists()
    assert bob_client.call("POST", "me/follow-requests/alice/decline").status_code == 404
    assert bob_client.call("DELETE", "me/followers/alice").status_code == 204
    assert not Follow.objects.exists()


def test_block_endpoints(api_as: Callable[[Any], Any], alice: Any, bob: Any) -> None:
    services.follow_user(actor=bob, target=alice)
    client = api_as(alice)
    assert client.call("POST", "users/bob/block").status_code == 204
    assert not Follow.objects.exists()
    assert [b["user"]["username"] for b in client.call("GET", "me/blocks").json()["items"]] == ["bob"]
    response = api_as(bob).call("POST", "users/alice/follow")
    assert response.status_code == 403 and response.json()["code"] == "blocked"
    assert client.call("DELETE", "users/bob/block").status_code == 204
    assert api_as(bob).call("POST", "users/alice/follow").status_code == 200


def test_follow_rate_limit_api(api_as: Callable[[Any], Any], alice: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 1
    UserFactory(username="one")
    UserFactory(username="two")
    client = api_as(alice)
    assert client.call("POST", "users/one/follow").status_code == 200
    assert client.call("POST", "users/two/follow").status_code == 429


# --- share links and polls --------------------------------------------------------------
def test_share_links(api_as: Callable[[Any], Any], api: Any, alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    product = published_product()
    link = api_as(bob).call("POST", f"posts/{post.pk}/share", {"channel": "telegram"})
    assert link.status_code == 201
    body = link.json()
    assert body["target"] == "post" and body["post_id"] == post.pk and body["path"] == share_path(body["code"])
    assert api.call("GET", f"share/{body['code']}").json()["opens_count"] == 0
    opened = api.call("POST", f"share/{body['code']}/open", {"referrer": "https://t.me/"})
    assert opened.status_code == 200 and opened.json()["opens_count"] == 1
    assert ShareOpen.objects.get().referrer == "https://t.me/"
    assert api.call("POST", "share/nope/open", {}).status_code == 404
    product_link = api_as(bob).call("POST", f"products/{product.pk}/share", {})
    assert product_link.status_code == 201 and product_link.json()["target"] == "product"


def test_polls(api_as: Callable[[Any], Any], api: Any, alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="Pick", poll={"question": "Which?", "options": ["A", "B"]})
    poll = post.poll  # type: ignore[attr-defined]
    a, b = poll.options.all()
    client = api_as(bob)
    first = client.call("POST", f"polls/{poll.pk}/vote", {"option_id": a.pk})
    assert first.status_code == 200 and first.json()["voted_option_id"] == a.pk and first.json()["total"] == 1
    again = client.call("POST", f"polls/{poll.pk}/vote", {"option_id": a.pk})
    assert again.status_code == 200 and again.json()["total"] == 1
    other = client.call("POST", f"polls/{poll.pk}/vote", {"option_id": b.pk})
    assert other.status_code == 409 and other.json()["code"] == "already_voted"
    assert PollVote.objects.count() == 1
    results = api.call("GET", f"polls/{poll.pk}").json()
    assert [(o["text"], o["votes"], o["percent"]) for o in results["options"]] == [("A", 1, 100.0), ("B", 0, 0.0)]
    type(poll).objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    closed = api_as(alice).call("POST", f"polls/{poll.pk}/vote", {"option_id": b.pk})
    assert closed.status_code == 409 and closed.json()["code"] == "poll_closed"


# --- query budgets --------------------------------------------------------------------
def _make_posts(author: Any, image_bytes: Callable[..., bytes], n: int) -> None:
    product = published_product()
    other = UserFactory()
    for i in range(n):
        post = services.create_post(
            actor=author,
            text=f"#tag{i} hello @{other.username}",
            photos=[photo(image_bytes)],
            tags=[
                {"product_id": product.pk, "variant_id": product.variants.first().pk, "photo": 0, "x": 0.5, "y": 0.5}
            ],
            poll={"question": "Q?", "options": ["a", "b"]} if i % 3 == 0 else None,
        )
        services.like_post(actor=other, post=post)
    original = services.create_post(actor=other, text="to repost", photos=[photo(image_bytes)])
    services.repost(actor=author, post=original, text="look")


def test_profile_posts_query_budget(
    api_as: Callable[[Any], Any], alice: Any, bob: Any, image_bytes: Callable[..., bytes]
) -> None:
    client = api_as(bob)
    client.call("GET", "me")  # the token's first use is recorded once; keep it out of the counts
    _make_posts(alice, image_bytes, 3)
    with CaptureQueriesContext(connection) as small:
        assert client.call("GET", "users/alice/posts").status_code == 200
    _make_posts(alice, image_bytes, 12)
    with CaptureQueriesContext(connection) as large:
        response = client.call("GET", "users/alice/posts")
    assert response.status_code == 200 and len(response.json()["items"]) == 17
    # The same number of queries for 4 posts or 17: nothing is fetched per post.
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 20


def test_lists_query_budgets(
    api_as: Callable[[Any], Any], alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    for person in UserFactory.create_batch(15):
        services.follow_user(actor=person, target=alice)
        services.follow_user(actor=alice, target=person)
    shop, _owner = shop_with_owner()
    services.follow_shop(actor=alice, shop=shop)
    client = api_as(bob)
    for path in ("users/alice/followers", "users/alice/following", "users/alice/friends"):
        with django_assert_max_num_queries(8):
            assert client.call("GET", path).status_code == 200

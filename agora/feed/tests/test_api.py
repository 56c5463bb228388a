"""The feed endpoints: /api/v1/feed, /explore, /trending/products, /hashtags/{tag}/posts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agora.catalog.tests.factories import CategoryFactory, published_product
from agora.feed.tests import factories as f
from agora.social.models import Post, ProductTag

pytestmark = pytest.mark.django_db
T0 = timezone.now() - dt.timedelta(hours=3)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_feed_needs_a_signed_in_caller(api) -> None:
    response = api.call("GET", "feed")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_feed_pages_with_a_cursor(api_as) -> None:
    me, friend, stranger = f.user(), f.user(), f.user()
    f.follow(me, friend)
    posts = [f.post(friend, at=at(i), text=f"post {i} #linen").pk for i in range(5)]
    f.post(stranger, at=at(9))
    client = api_as(me)

    first = client.call("GET", "feed", {"limit": 3}).json()
    second = client.call("GET", "feed", {"limit": 3, "cursor": first["next_cursor"]}).json()

    assert [p["id"] for p in first["items"]] == posts[::-1][:3]
    assert [p["id"] for p in second["items"]] == posts[::-1][3:]
    assert second["next_cursor"] is None
    item = first["items"][0]
    assert item["author"]["username"] == friend.username
    assert 'class="hashtag"' in item["text_html"]  # the hashtag is linked
    assert item["viewer_liked"] is False


@pytest.mark.parametrize(
    "params,field",
    [({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 10_000}, "limit")],
)
def test_bad_feed_input_is_a_422(api_as, params, field) -> None:
    response = api_as(f.user()).call("GET", "feed", params)
    assert response.status_code == 422
    body = response.json()
    assert body.get("field") == field or any(field in e["field"] for e in body.get("errors") or [])


def test_backend_header_only_when_allowed(api_as, settings) -> None:
    client = api_as(f.user())
    assert client.call("GET", "feed", headers={"X-Agora-Feed-Backend": "bogus"}).status_code == 200  # ignored
    settings.AGORA_FEED_BACKEND_HEADER = True
    response = client.call("GET", "feed", headers={"X-Agora-Feed-Backend": "bogus"})
    assert response.status_code == 422
    assert response.json()["code"] == "feed_backend_unknown"
    assert client.call("GET", "feed", headers={"X-Agora-Feed-Backend": "database"}).status_code == 200


def test_private_and_blocked_posts_never_leak_through_the_api(api, api_as) -> None:
    me, private, blocker = f.user(), f.user(is_private=True), f.user()
    secret = f.post(private, at=at(1), text="secret #linen", hashtags=("linen",))
    f.block(blocker, me)
    not_for_me = f.post(blocker, at=at(2), text="not for you #linen", hashtags=("linen",))
    for _ in range(3):
        f.like(f.user(), secret)
        f.like(f.user(), not_for_me)
    client = api_as(me)

    assert client.call("GET", "feed").json()["items"] == []
    assert client.call("GET", "hashtags/linen/posts").json()["items"] == []
    assert client.call("GET", "hashtags/linen/posts", {"sort": "top"}).json()["items"] == []
    assert not_for_me.pk not in [p["id"] for p in client.call("GET", "explore").json()["posts"]]
    # Anonymous visitors see the public post, never the private one.
    assert [p["id"] for p in api.call("GET", "hashtags/linen/posts").json()["items"]] == [not_for_me.pk]
    assert [p["id"] for p in api.call("GET", "explore").json()["posts"]] == [not_for_me.pk]


def test_feed_query_budget_through_the_api(api_as, django_assert_max_num_queries) -> None:
    me, elsewhere = f.user(), f.user()
    for i in range(8):
        author = f.user()
        f.follow(me, author)
        for j in range(3):
            f.post(author, at=at(i * 3 + j), text=f"#t{j} hello @{me.username}")
        f.post(author, repost_of=f.post(elsewhere, at=at(0)), at=at(i * 3 + 2))
    client = api_as(me)
    # Token, its last use, the page's ids, the posts, and one query per kind of card data: never per post.
    with django_assert_max_num_queries(12):
        response = client.call("GET", "feed", {"limit": 20})
    assert len(response.json()["items"]) == 20


def test_explore_is_public(api) -> None:
    author = f.user()
    post = f.post(author, text="look #summer", hashtags=("summer",))
    product = published_product()
    ProductTag.objects.create(post=post, product=product)
    for _ in range(6):
        f.like(f.user(), post)
    body = api.call("GET", "explore").json()
    assert [p["id"] for p in body["posts"]] == [post.pk]
    assert [(p["id"], p["popular"]) for p in body["products"]] == [(product.pk, True)]
    assert body["hashtags"][0]["name"] == "summer"


def test_unknown_category_is_a_404(api) -> None:
    for path in ("explore", "trending/products"):
        response = api.call("GET", path, {"category": "nope"})
        assert response.status_code == 404
        assert response.json()["code"] == "category_not_found"


def test_trending_products_by_category(api) -> None:
    category = CategoryFactory()
    inside, outside = published_product(category=category), published_product()
    for product in (inside, outside):
        post = f.post(f.user())
        ProductTag.objects.create(post=post, product=product)
        f.like(f.user(), post)
    body = api.call("GET", "trending/products", {"category": category.slug}).json()
    assert [p["id"] for p in body] == [inside.pk]
    assert body[0]["popular"] is False  # one like is not "popular on Agora"
    assert body[0]["price_from"] == "19.90"


def test_hashtag_pages(api) -> None:
    author = f.user()
    posts = [f.post(author, at=at(i), hashtags=("linen",)).pk for i in range(4)]
    f.like(f.user(), f.post(author, at=at(0), hashtags=("other",)))
    for _ in range(3):
        f.like(f.user(), Post.objects.get(pk=posts[0]))

    first = api.call("GET", "hashtags/LINEN/posts", {"limit": 3}).json()
    rest = api.call("GET", "hashtags/linen/posts", {"limit": 3, "cursor": first["next_cursor"]}).json()
    top = api.call("GET", "hashtags/linen/posts", {"sort": "top"}).json()

    assert [p["id"] for p in first["items"]] + [p["id"] for p in rest["items"]] == posts[::-1]
    assert rest["next_cursor"] is None
    assert [p["id"] for p in top["items"]] == [posts[0]]
    assert top["next_cursor"] is None
    missing = api.call("GET", "hashtags/nobodyusesthis/posts")
    assert missing.status_code == 404 and missing.json()["code"] == "hashtag_not_found"
    assert api.call("GET", "hashtags/linen/posts", {"sort": "best"}).status_code == 422

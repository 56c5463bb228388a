"""A private author's posts (to non-followers) and a blocked author's posts never leak: not through a selector,
not through an endpoint. Each case is checked against a control that must be visible, so the test cannot pass
by showing nothing at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.social import selectors, services
from agora.social.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """viewer; a private author (viewer not approved), a blocked author (viewer blocked them), an author who
    blocked the viewer, and a public author as control. Every author posts "#secret" tagging the product and
    likes a post of the others; the viewer follows them all where possible."""
    product = published_product(title="Teapot")
    viewer = UserFactory(username="viewer")
    private = UserFactory(username="private", is_private=True)
    blocked = UserFactory(username="blocked")
    blocker = UserFactory(username="blocker")
    public = UserFactory(username="public")
    posts = {}
    for who in (private, blocked, blocker, public):
        posts[who.username] = services.create_post(
            actor=who, text=f"#secret from {who.username}", tags=[{"product_id": product.pk}]
        )
    services.follow_user(actor=viewer, target=private)  # a request, never approved
    for who in (blocked, blocker, public):
        services.follow_user(actor=viewer, target=who)
    for who in (private, blocked, blocker):
        services.like_post(actor=who, post=posts[who.username])
    services.like_post(actor=public, post=posts["public"])
    services.block_user(actor=viewer, target=blocked)
    services.block_user(actor=blocker, target=viewer)
    viewer = type(viewer).objects.get(pk=viewer.pk)  # forget cached block lists
    return {"viewer": viewer, "product": product, "posts": posts, "public": public, "private": private}


HIDDEN = ("private", "blocked", "blocker")


def ids(posts: Any) -> set[int]:
    return {p.pk for p in posts}


def test_selectors_never_leak(world: dict[str, Any]) -> None:
    viewer, posts, product = world["viewer"], world["posts"], world["product"]
    hidden = {posts[k].pk for k in HIDDEN}
    control = posts["public"].pk

    visible = ids(selectors.visible_posts(viewer))
    assert control in visible and not hidden & visible
    search = ids(selectors.search_posts(q="#secret", viewer=viewer))
    assert control in search and not hidden & search
    tagging = ids(selectors.posts_tagging(product=product, viewer=viewer))
    assert control in tagging and not hidden & tagging
    for key in HIDDEN:
        author = posts[key].author
        assert list(selectors.profile_posts(profile_user=author, viewer=viewer)) == []
        assert selectors.tagged_products_of(user=author, viewer=viewer) == []
        assert not selectors.can_view_post(viewer, posts[key])
        with pytest.raises(Exception) as exc:
            selectors.get_post(post_id=posts[key].pk, viewer=viewer)
        assert getattr(exc.value, "status", None) == 404
    assert ids(selectors.profile_posts(profile_user=world["public"], viewer=viewer)) == {control}
    assert selectors.tagged_products_of(user=world["public"], viewer=viewer) == [product]
    # Friends who like: only the public author (followed, liked a visible post) shows up.
    assert [u.username for u in selectors.friends_who_like(product=product, viewer=viewer)] == ["public"]


def test_anonymous_sees_only_public_posts(world: dict[str, Any]) -> None:
    posts = world["posts"]
    anonymous_ids = ids(selectors.visible_posts(None))
    # Anonymous visitors are not blocked by anyone: blocked and blocker posts are public to them.
    assert posts["private"].pk not in anonymous_ids
    assert {posts["public"].pk, posts["blocked"].pk} <= anonymous_ids


def test_approved_follower_sees_private_posts(world: dict[str, Any]) -> None:
    private, viewer, posts = world["private"], world["viewer"], world["posts"]
    services.approve_request(actor=private, requester=viewer)
    assert posts["private"].pk in ids(selectors.visible_posts(viewer))
    assert selectors.can_view_post(viewer, posts["private"])
    services.unfollow_user(actor=viewer, target=private)
    assert posts["private"].pk not in ids(selectors.visible_posts(viewer))


def test_going_private_hides_earlier_reposts(world: dict[str, Any]) -> None:
    public, posts = world["public"], world["posts"]
    stranger = UserFactory()
    reposter = UserFactory()
    shared = services.repost(actor=reposter, post=posts["public"])
    assert shared.pk in ids(selectors.visible_posts(stranger))
    public.is_private = True
    public.save()
    assert shared.pk not in ids(selectors.visible_posts(stranger))
    assert not selectors.can_view_post(stranger, Post.objects.select_related("repost_of__author").get(pk=shared.pk))


def test_endpoints_never_leak(world: dict[str, Any], api_as: Callable[[Any], Any], api: Any) -> None:
    viewer, posts, product = world["viewer"], world["posts"], world["product"]
    client = api_as(viewer)
    hidden = {posts[k].pk for k in HIDDEN}
    control = posts["public"].pk

    def listed(path: str, who: Any = client) -> set[int]:
        response = who.call("GET", path)
        assert response.status_code == 200, response.content
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        return {item["id"] for item in items}

    for path in ("posts?q=%23secret", f"products/{product.pk}/posts"):
        found = listed(path)
        assert control in found and not hidden & found, path
    assert listed("users/public/posts") == {control}
    for key in HIDDEN:
        post_id = posts[key].pk
        assert listed(f"users/{key}/posts") == set()
        assert client.call("GET", f"users/{key}/tagged-products").json() == []
        for method, path, data in (
            ("GET", f"posts/{post_id}", None),
            ("GET", f"posts/{post_id}/comments", None),
            ("POST", f"posts/{post_id}/like", None),
            ("POST", f"posts/{post_id}/comments", {"text": "hi"}),
            ("POST", f"posts/{post_id}/repost", {"text": ""}),
            ("POST", f"posts/{post_id}/share", {"channel": ""}),
        ):
            response = client.call(method, path, data)
            assert response.status_code == 404, (key, method, path, response.content)
            assert response.json()["code"] == "post_not_found"
    # Anonymous: the private post stays hidden, the public one shows.
    assert api.call("GET", f"posts/{posts['private'].pk}").status_code == 404
    assert api.call("GET", f"posts/{control}").status_code == 200
    assert posts["private"].pk not in listed("posts?q=%23secret", api)
    names = [u["username"] for u in client.call("GET", f"products/{product.pk}/friends-who-like").json()]
    assert names == ["public"]

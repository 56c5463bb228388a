"""The selectors the web pages use, and their query budgets: the same number of queries for few rows or many."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.social import selectors, services
from agora.social.models import Post
from agora.social.text import comment_html, post_html

pytestmark = pytest.mark.django_db


def queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no per-request caches


def test_post_detail_budget_and_content(alice: Any, bob: Any, image_bytes: Callable[..., bytes]) -> None:
    product = published_product()
    post = services.create_post(
        actor=alice,
        text="Poll time @bob #mugs",
        photos=[SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")],
        tags=[{"product_id": product.pk, "photo": 0, "x": 0.1, "y": 0.2}],
        poll={"question": "Which?", "options": ["a", "b"]},
    )

    def detail() -> selectors.PostDetail:
        loaded = selectors.get_post(post_id=post.pk, viewer=fresh(bob))
        result = selectors.post_detail(post=loaded, viewer=bob)
        for comment in result.comments:
            comment_html(comment)
            for reply in comment.reply_list:  # type: ignore[attr-defined]
                comment_html(reply)
        post_html(result.post)
        return result

    first = services.add_comment(actor=bob, post=post, text="first @alice")
    services.add_comment(actor=alice, post=post, text="thanks", parent_id=first.pk)
    few = queries(detail)
    for i in range(6):
        top = services.add_comment(actor=UserFactory(), post=post, text=f"c{i} @alice")
        services.add_comment(actor=alice, post=post, text=f"r{i} @bob", parent_id=top.pk)
    many = queries(detail)
    assert many == few and many <= 16
    result = detail()
    assert len(result.comments) == 7 and all(len(c.reply_list) == 1 for c in result.comments)  # type: ignore[attr-defined]
    assert result.poll is not None and [o.text for o in result.poll.options] == ["a", "b"]
    assert result.can_edit is False and result.can_moderate is False
    assert 'href="/u/bob/"' in post_html(result.post)
    assert 'href="/u/alice/"' in comment_html(result.comments[0])
    own = selectors.post_detail(post=result.post, viewer=alice)
    assert own.can_edit and own.can_moderate


def test_product_page_selectors_budget(alice: Any) -> None:
    product = published_product()
    viewer = UserFactory()

    def make(n: int) -> None:
        for _ in range(n):
            author = UserFactory()
            services.follow_user(actor=viewer, target=author)
            post = services.create_post(actor=author, text="tagged", tags=[{"product_id": product.pk}])
            services.like_post(actor=author, post=post)

    def read() -> None:
        v = fresh(viewer)
        selectors.posts_tagging(product=product, viewer=v, limit=12)
        selectors.friends_who_like(product=product, viewer=v)

    make(2)
    few = queries(read)
    make(10)
    assert queries(read) == few <= 11  # each selector first reads the tag index for candidate posts
    assert len(selectors.posts_tagging(product=product, viewer=viewer, limit=12)) == 12
    assert len(selectors.friends_who_like(product=product, viewer=viewer, limit=5)) == 5


def test_tagged_products_of(alice: Any, bob: Any) -> None:
    first, second = published_product(title="First"), published_product(title="Second")
    services.create_post(actor=alice, text="a", tags=[{"product_id": first.pk}])
    services.create_post(actor=alice, text="b", tags=[{"product_id": second.pk}, {"product_id": first.pk}])
    assert [p.title for p in selectors.tagged_products_of(user=alice, viewer=bob)] == ["Second", "First"]
    assert queries(lambda: selectors.tagged_products_of(user=alice, viewer=bob)) <= 4


def test_relationship_and_counts(alice: Any, bob: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    rel = selectors.relationship(bob, alice)
    assert rel.followed_by and not rel.following and rel.can_see_posts
    assert selectors.user_counts(bob).followers == 1 and selectors.user_counts(alice).following == 1
    anonymous = selectors.relationship(None, alice)
    assert not anonymous.following and anonymous.can_see_posts
    assert selectors.relationship(alice, alice).is_self


def test_profile_posts_includes_reposts_and_hides_shop_posts(alice: Any, bob: Any) -> None:
    from agora.shops.tests.factories import shop_with_owner

    original = services.create_post(actor=bob, text="original")
    repost = services.repost(actor=alice, post=original)
    shop, owner = shop_with_owner()
    services.create_post(actor=owner, text="as shop", shop=shop)
    own = services.create_post(actor=alice, text="own")
    assert list(selectors.profile_posts(profile_user=alice, viewer=None)) == [own, repost]
    assert list(selectors.profile_posts(profile_user=owner, viewer=None)) == []
    assert Post.objects.count() == 4

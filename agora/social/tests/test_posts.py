"""Posts through the services: text, photos, product tags, hashtags and mentions, sponsors, shops, edit/delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductStatus
from agora.catalog.tests.factories import ProductFactory, VariantFactory, published_product
from agora.core.errors import NotAuthenticated, RateLimited, ValidationFailed
from agora.notifications.models import Notification
from agora.shops.errors import ShopPermissionDenied
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner
from agora.social import selectors, services, signals
from agora.social.errors import (
    NotYourPost,
    PostInvalid,
    PostRemoved,
    ProductNotTaggable,
    SponsorInvalid,
    TooManyPhotos,
    TooManyTags,
)
from agora.social.models import Hashtag, Mention, Post, PostHashtag, PostPhoto, ProductTag, ShopStats, UserStats
from agora.social.text import parse_hashtags, render_text

pytestmark = pytest.mark.django_db


def upload(image_bytes: Callable[..., bytes], name: str = "p.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(), content_type="image/jpeg")


def test_text_post_signals_and_counts(alice: Any) -> None:
    seen: list[Post] = []

    def receiver(sender: Any, post: Post, **kwargs: Any) -> None:
        seen.append(post)

    signals.post_published.connect(receiver)
    try:
        post = services.create_post(actor=alice, text="  Hello Agora  ")
    finally:
        signals.post_published.disconnect(receiver)
    assert post.text == "Hello Agora" and post.author == alice and post.shop is None
    assert seen == [post]
    assert UserStats.objects.get(user=alice).posts_count == 1


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_post_is_refused(alice: Any, text: str) -> None:
    with pytest.raises(PostInvalid) as exc:
        services.create_post(actor=alice, text=text)
    assert exc.value.status == 422 and exc.value.field == "text"
    assert not Post.objects.exists()


def test_oversized_post_is_refused(alice: Any, settings: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.create_post(actor=alice, text="x" * (settings.AGORA_POST_MAX_LENGTH + 1))
    assert exc.value.code == "too_long"
    assert services.create_post(actor=alice, text="x" * settings.AGORA_POST_MAX_LENGTH).pk


def test_nul_in_text_is_a_422(alice: Any) -> None:
    with pytest.raises(ValidationFailed):
        services.create_post(actor=alice, text="a\x00b")


def test_anonymous_cannot_post() -> None:
    with pytest.raises(NotAuthenticated):
        services.create_post(actor=None, text="hi")  # type: ignore[arg-type]


def test_photos_only_post_with_thumbnails(alice: Any, image_bytes: Callable[..., bytes]) -> None:
    post = services.create_post(
        actor=alice, photos=[upload(image_bytes), upload(image_bytes)], photo_alts=["a red mug"]
    )
    photos = list(post.photos.order_by("position"))  # type: ignore[attr-defined]
    assert [p.position for p in photos] == [0, 1]
    assert photos[0].alt == "a red mug" and photos[1].alt == ""
    assert all(p.image and p.thumbnail_small and p.thumbnail_medium for p in photos)


def test_too_many_photos(alice: Any, image_bytes: Callable[..., bytes], settings: Any) -> None:
    with pytest.raises(TooManyPhotos) as exc:
        services.create_post(
            actor=alice, text="x", photos=[upload(image_bytes) for _ in range(settings.AGORA_POST_MAX_PHOTOS + 1)]
        )
    assert exc.value.status == 422
    assert not PostPhoto.objects.exists() and not Post.objects.exists()


def test_a_bad_picture_writes_nothing(alice: Any, image_bytes: Callable[..., bytes]) -> None:
    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as exc:
        services.create_post(actor=alice, text="x", photos=[upload(image_bytes), bad])
    assert exc.value.code == "invalid_image"
    assert not Post.objects.exists() and not PostPhoto.objects.exists()


def test_product_tags_on_a_photo(alice: Any, image_bytes: Callable[..., bytes]) -> None:
    product = published_product()
    variant = product.variants.first()
    post = services.create_post(
        actor=alice,
        text="Love this",
        photos=[upload(image_bytes)],
        tags=[
            {"product_id": product.pk, "variant_id": variant.pk, "photo": 0, "x": 0.25, "y": 1},
            {"product_id": product.pk},
        ],
    )
    tags = list(ProductTag.objects.filter(post=post).order_by("position"))
    assert tags[0].photo == post.photos.get() and (tags[0].x, tags[0].y) == (0.25, 1.0)  # type: ignore[attr-defined]
    assert tags[0].variant == variant
    assert tags[1].photo is None and tags[1].x is None


@pytest.mark.parametrize(
    "tag",
    [
        {"photo": 0, "x": 1.5, "y": 0.5},
        {"photo": 0, "x": -0.1, "y": 0.5},
        {"photo": 0, "x": 0.5},
        {"x": 0.5, "y": 0.5},
        {"photo": 3},
        {"photo": 0, "x": "a", "y": 0.5},
    ],
)
def test_bad_tag_positions(alice: Any, image_bytes: Callable[..., bytes], tag: dict[str, Any]) -> None:
    product = published_product()
    with pytest.raises(PostInvalid) as exc:
        services.create_post(
            actor=alice, text="x", photos=[upload(image_bytes)], tags=[{"product_id": product.pk, **tag}]
        )
    assert exc.value.field == "tags"
    assert not Post.objects.exists() and not PostPhoto.objects.exists()


def test_unpublished_or_unknown_product_cannot_be_tagged(alice: Any) -> None:
    draft = ProductFactory(status=ProductStatus.DRAFT)
    for product_id in (draft.pk, 999_999):
        with pytest.raises(ProductNotTaggable) as exc:
            services.create_post(actor=alice, text="x", tags=[{"product_id": product_id}])
        assert exc.value.status == 422
    closed = published_product(shop=ShopFactory(is_active=False))
    with pytest.raises(ProductNotTaggable):
        services.create_post(actor=alice, text="x", tags=[{"product_id": closed.pk}])
    other_variant = VariantFactory()
    product = published_product()
    with pytest.raises(ProductNotTaggable):
        services.create_post(actor=alice, text="x", tags=[{"product_id": product.pk, "variant_id": other_variant.pk}])
    assert not Post.objects.exists()


def test_too_many_tags(alice: Any, settings: Any) -> None:
    settings.AGORA_POST_MAX_PRODUCT_TAGS = 2
    product = published_product()
    with pytest.raises(TooManyTags):
        services.create_post(actor=alice, text="x", tags=[{"product_id": product.pk}] * 3)


def test_hashtags_and_mentions_are_stored_and_linked(alice: Any, bob: Any, carol: Any) -> None:
    services.block_user(actor=carol, target=alice)
    post = services.create_post(
        actor=alice, text="New #Mugs and #mugs #1 for @Bob and @carol and @nobody <b>bold</b> & @alice"
    )
    assert set(Hashtag.objects.values_list("name", flat=True)) == {"mugs"}
    assert PostHashtag.objects.filter(post=post).count() == 1
    # carol blocked alice: her @name stays plain text and she hears nothing; alice does not mention herself.
    assert list(Mention.objects.filter(post=post).values_list("user__username", flat=True)) == ["bob"]
    assert Notification.objects.filter(recipient=bob, kind="social.mention").count() == 1
    assert not Notification.objects.filter(recipient=carol).exists()
    html = render_text(post.text, mentioned=["bob"])
    assert '<a class="mention" href="/u/bob/">@Bob</a>' in html
    assert "#Mugs</a>" in html and "&lt;b&gt;bold&lt;/b&gt; &amp;" in html
    assert "@carol" in html and 'href="/u/carol/"' not in html
    assert "#1</a>" not in html


def test_render_text_escapes_everything_else() -> None:
    html = render_text('<script>alert("x")</script> #tag\nline', mentioned=[])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<br>" in html
    assert parse_hashtags("#café #CAFÉ a#b #_x") == ["café", "_x"]


def test_edit_updates_hashtags_mentions_and_notifies_only_new(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="#one @bob")
    services.update_post(actor=alice, post=post, text="#two @bob @carol")
    post.refresh_from_db()
    assert post.edited_at is not None
    assert list(post.post_hashtags.values_list("hashtag__name", flat=True)) == ["two"]  # type: ignore[attr-defined]
    assert Notification.objects.filter(recipient=bob, kind="social.mention").count() == 1
    assert Notification.objects.filter(recipient=carol, kind="social.mention").count() == 1


def test_only_the_author_edits_and_deletes(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="mine")
    with pytest.raises(NotYourPost):
        services.update_post(actor=bob, post=post, text="yours")
    with pytest.raises(NotYourPost):
        services.delete_post(actor=bob, post=post)


def test_delete_is_soft_signals_and_counts(alice: Any) -> None:
    post = services.create_post(actor=alice, text="bye")
    removed: list[Post] = []

    def receiver(sender: Any, post: Post, **kwargs: Any) -> None:
        removed.append(post)

    signals.post_removed.connect(receiver)
    try:
        services.delete_post(actor=alice, post=post)
        services.delete_post(actor=alice, post=post)  # idempotent
    finally:
        signals.post_removed.disconnect(receiver)
    assert len(removed) == 1
    post.refresh_from_db()
    assert post.deleted_at is not None
    assert UserStats.objects.get(user=alice).posts_count == 0
    assert not selectors.visible_posts(alice).filter(pk=post.pk).exists()
    with pytest.raises(PostRemoved):
        services.update_post(actor=alice, post=post, text="again")


def test_hide_is_for_moderators(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="rude")
    with pytest.raises(Exception) as exc:
        services.hide_post(actor=bob, post=post)
    assert getattr(exc.value, "status", None) == 403
    moderator = UserFactory(is_staff=True)
    services.hide_post(actor=moderator, post=post)
    assert not selectors.visible_posts(alice).filter(pk=post.pk).exists()


def test_post_as_shop_needs_the_right(alice: Any) -> None:
    shop, owner = shop_with_owner()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    with pytest.raises(ShopPermissionDenied):
        services.create_post(actor=support, text="x", shop=shop)
    with pytest.raises(ShopPermissionDenied):
        services.create_post(actor=alice, text="x", shop=shop)
    post = services.create_post(actor=owner, text="From the shop", shop=shop)
    assert post.shop == shop
    assert ShopStats.objects.get(shop=shop).posts_count == 1
    # Any manager with the right may edit the shop's post, not only the one who wrote it.
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    services.update_post(actor=manager, post=post, text="Edited by the manager")
    assert list(selectors.shop_posts(shop=shop, viewer=None)) == [post]
    assert list(selectors.profile_posts(profile_user=owner, viewer=None)) == []


def test_sponsored_post_disclosure_and_removal(alice: Any) -> None:
    sponsor, owner = shop_with_owner(name="Mugs & Co")
    post = services.create_post(actor=alice, text="My new mug", sponsor=sponsor)
    assert post.sponsor == sponsor
    with pytest.raises(SponsorInvalid):
        services.create_post(actor=alice, text="x", sponsor=ShopFactory(is_active=False))
    shop, shop_owner = shop_with_owner()
    with pytest.raises(SponsorInvalid):
        services.create_post(actor=shop_owner, text="x", shop=shop, sponsor=shop)
    with pytest.raises(Exception) as exc:
        services.remove_sponsorship(actor=alice, post=post)
    assert getattr(exc.value, "status", None) == 403
    services.remove_sponsorship(actor=owner, post=post)
    post.refresh_from_db()
    assert post.sponsor is None


def test_post_rate_limit(alice: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 2
    services.create_post(actor=alice, text="1")
    services.create_post(actor=alice, text="2")
    with pytest.raises(RateLimited):
        services.create_post(actor=alice, text="3")
    assert Post.objects.count() == 2


def test_poll_checks(alice: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from agora.social.errors import PollInvalid

    soon = timezone.now() + timedelta(hours=2)
    bad_polls: list[dict[str, Any]] = [
        {"question": "Which?", "options": ["only one"], "closes_at": soon},
        {"question": "Which?", "options": [str(i) for i in range(7)], "closes_at": soon},
        {"question": "Which?", "options": ["a", "A"], "closes_at": soon},
        {"question": "Which?", "options": ["a", "b"], "closes_at": timezone.now()},
        {"question": "Which?", "options": ["a", "b"], "closes_at": timezone.now() + timedelta(days=400)},
        {"question": "Which?", "options": ["a", {"text": "", "product_id": None}], "closes_at": soon},
    ]
    for spec in bad_polls:
        with pytest.raises(PollInvalid):
            services.create_post(actor=alice, poll=spec)
    with pytest.raises(ValidationFailed):
        services.create_post(actor=alice, poll={"question": "", "options": ["a", "b"]})
    product = published_product(title="Blue mug")
    post = services.create_post(
        actor=alice, poll={"question": "Which colour?", "options": ["Red", {"product_id": product.pk}]}
    )
    options = list(post.poll.options.all())  # type: ignore[attr-defined]
    assert [o.text for o in options] == ["Red", "Blue mug"] and options[1].product == product

"""The shoppable feed in a real browser: Anna posts a photo with a product tag placed on it; Ben follows her, sees the
post in his feed, likes it and comments without the page reloading, and buys the tagged product from the post
(the cart link, checkout, the sandbox card)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog.models import Variant
from agora.catalog.tests.factories import ProductFactory, VariantFactory
from agora.orders.models import Order, OrderStatus
from agora.shipping.tests.factories import ships_to
from agora.shops.tests.factories import shop_with_owner
from agora.social.models import Comment, Follow, Like, Post, ProductTag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _social_settings(settings: Any) -> None:
    settings.AGORA_FEED_BACKEND = "database"


def _photo(tmp_path: Any) -> str:
    path = tmp_path / "morning.png"
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "#2a6f97").save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def _sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page.locator("header")).to_contain_text("Feed")


def test_a_tagged_photo_post_is_followed_liked_commented_and_bought(page: Page, tmp_path: Any) -> None:
    shop, _owner = shop_with_owner(name="Clay Studio", slug="clay-studio", currency="EUR", country="LV")
    ships_to(shop, countries=["LV"], price="4.90", free_over="100")
    mug = ProductFactory(shop=shop, title="Blue mug", slug="blue-mug")
    variant: Any = VariantFactory(product=mug, shop=shop, price=Decimal("12.50"), stock_quantity=5, name="Default")
    anna: Any = UserFactory(username="anna", display_name="Anna")
    UserFactory(username="ben", display_name="Ben")

    # Anna posts a photo and tags the mug on it.
    _sign_in(page, "anna")
    page.goto("/feed/")
    page.fill("textarea[name=text]", "Morning coffee in my new #bluemug")
    page.set_input_files("input[type=file][name=photos]", _photo(tmp_path))
    preview = page.locator("[data-photo-preview='0']")
    expect(preview).to_be_visible()
    page.fill("[data-tag-search]", "mug")
    page.locator("[data-tag-add]").first.click()
    expect(page.locator("[data-tag-item]")).to_contain_text("Blue mug")
    box = preview.bounding_box()
    assert box is not None
    preview.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    expect(page.locator("[data-tag-item]")).to_contain_text("on photo 1")
    page.click("[data-composer-submit]")
    expect(page).to_have_url(re.compile(r"/feed/#post-\d+$"))
    post = Post.objects.get()
    tag = ProductTag.objects.get(post=post)
    assert tag.product == mug and tag.photo is not None
    assert tag.x is not None and abs(tag.x - 0.25) < 0.05 and tag.y is not None and abs(tag.y - 0.5) < 0.05
    expect(page.locator(f"#post-{post.pk} [data-tag-dot]")).to_have_count(1)

    # Ben follows her from her profile, without a reload.
    _sign_in(page, "ben")
    page.goto("/u/anna/")
    page.evaluate("window.__stayed = true")
    page.click("[data-follow-box] button[data-follow-state=none]")
    expect(page.locator("[data-follow-box] button")).to_have_attribute("data-follow-state", "following")
    expect(page.locator(f"#followers-count-u{anna.pk}")).to_have_text("1")
    assert page.evaluate("window.__stayed === true")
    assert Follow.objects.filter(follower__username="ben", target_user=anna).exists()

    # Her post is in his feed; he likes it and comments, and the page never reloads.
    page.goto("/feed/")
    card = page.locator(f"#post-{post.pk}")
    expect(card).to_contain_text("Morning coffee")
    expect(card.locator("a.hashtag")).to_have_attribute("href", "/tags/bluemug/")
    page.evaluate("window.__stayed = true")
    card.locator("[data-like-button]").click()
    expect(card.locator("[data-like-count]")).to_have_text("1")
    expect(card.locator("[data-like-button]")).to_have_attribute("aria-pressed", "true")
    assert Like.objects.filter(post=post, user__username="ben").exists()

    card.locator("[data-comments-toggle]").click()
    card.locator(".comment-form textarea[name=text]").fill("Where can I get one?")
    card.locator(".comment-form button[type=submit]").click()
    expect(card.locator(".comment-text")).to_contain_text("Where can I get one?")
    expect(card.locator(f"#comments-count-{post.pk}")).to_have_text("1 comment")
    assert page.evaluate("window.__stayed === true")
    assert Comment.objects.filter(post=post, author__username="ben").exists()

    # He buys the tagged mug straight from the post: the cart link, checkout, the sandbox card.
    card.locator("[data-buy]").first.click()
    expect(page).to_have_url(re.compile(r"/checkout/$"))
    page.fill("input[name=name]", "Ben Ozols")
    page.fill("input[name=line1]", "Brivibas iela 1")
    page.fill("input[name=postcode]", "LV-1010")
    page.fill("input[name=city]", "Riga")
    page.select_option("select[name=country]", "LV")
    expect(page.locator("#checkout-summary")).to_contain_text("Delivery to Latvia")
    expect(page.locator("input[name=payment_method][value=sandbox_card]")).to_be_checked()
    page.click("button[name=action][value=place]")
    expect(page.locator("#checkout-status")).to_contain_text("Thank you")

    order = Order.objects.get()
    assert order.buyer is not None and order.buyer.username == "ben"
    assert order.status == OrderStatus.PAID
    assert list(order.lines.values_list("variant_id", flat=True)) == [variant.pk]
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 4


def test_live_poll_results_and_like_counts_and_unhiding_a_comment(page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the websocket pushes (live.js re-dispatches it as agora:poll / agora:like) updates the page in place;
    the live server here has no websocket, so the test dispatches the events the way live.js does."""
    from agora.notifications import services as notifications
    from agora.social import services

    # Pushes from this thread (Playwright's event loop runs in it) are what the test dispatches itself.
    monkeypatch.setattr(services, "send_to_user", lambda *args: None)
    monkeypatch.setattr(notifications, "send_to_user", lambda *args: None)
    monkeypatch.setattr(notifications, "send_to_users", lambda *args: None)

    anna: Any = UserFactory(username="anna", display_name="Anna")
    ben: Any = UserFactory(username="ben", display_name="Ben")
    post = services.create_post(
        actor=anna, text="Help me choose", poll={"question": "Which glaze?", "options": ["Blue", "Sand"]}
    )
    poll = post.poll  # type: ignore[attr-defined]
    blue = poll.options.order_by("position").first()
    rude = services.add_comment(actor=ben, post=post, text="meh")
    services.hide_comment(actor=anna, comment=rude)

    _sign_in(page, "anna")
    page.goto(f"/p/{post.pk}/")
    page.evaluate("window.__stayed = true")
    section = page.locator(f"[data-poll='{poll.pk}']")
    expect(section).to_contain_text("0 votes")

    services.vote(actor=ben, poll=poll, option_id=blue.pk)
    services.like_post(actor=ben, post=post)
    detail = {"poll_id": poll.pk, "post_id": post.pk, "total": 1, "is_open": True, "options": []}
    page.evaluate("d => document.dispatchEvent(new CustomEvent('agora:poll', {detail: d}))", detail)
    expect(section).to_contain_text("1 vote")
    page.evaluate(
        "d => document.dispatchEvent(new CustomEvent('agora:like', {detail: d}))", {"post_id": post.pk, "likes": 1}
    )
    expect(page.locator(f"[data-like-box='{post.pk}'] [data-like-count]")).to_have_text("1")

    # The hidden comment is there for her, marked, and "Unhide" brings it back without a reload.
    hidden = page.locator(f"#comment-{rude.pk}")
    expect(hidden).to_have_attribute("data-comment-hidden", "")
    hidden.locator("[data-comment-unhide]").click()
    expect(page.locator(f"#comment-{rude.pk}")).not_to_have_attribute("data-comment-hidden", "")
    expect(page.locator("[data-comments-count]")).to_have_text("1 comment")
    assert page.evaluate("window.__stayed === true")

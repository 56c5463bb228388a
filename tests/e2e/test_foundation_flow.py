"""A new seller and a shopper, in a real browser: sign up, open a shop, list a product, find it and view it."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import Page, expect

from agora.catalog.models import Product, ProductStatus
from agora.catalog.tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a sturdy pass phrase 42"


def _photo(tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "scarf.png"
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "#c0392b").save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def _sign_up(page: Page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=display_name]", username.capitalize())
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("form[action='/accounts/signup/'] button[type=submit]")
    expect(page.locator("body")).to_contain_text(username.capitalize())


def test_seller_lists_a_product_and_a_shopper_finds_and_views_it(page: Page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    category = CategoryFactory(name="Knitwear", slug="knitwear")

    # A seller signs up and opens a shop.
    _sign_up(page, "ilze")
    page.goto("/dashboard/shops/new/")
    page.fill("input[name=name]", "Riga Knits")
    page.fill("textarea[name=description]", "Warm things from Latvia.")
    page.select_option("select[name=currency]", "EUR")
    page.select_option("select[name=country]", "LV")
    page.click("button:has-text('Open the shop')")
    expect(page).to_have_url(re.compile(r"/dashboard/s/riga-knits/$"))

    # A product with a first variant, then a photo and a second variant; then it is published.
    page.goto("/dashboard/s/riga-knits/products/new/")
    page.fill("input[name=title]", "Wool scarf")
    page.fill("textarea[name=description]", "Hand-knitted merino wool scarf.")
    page.select_option("select[name=category_id]", str(category.pk))
    page.fill("input[name=tags]", "winter, merino")
    page.fill("input[name=sku]", "SCARF-RED")
    page.fill("input[name=name]", "Red")
    page.fill("input[name=price]", "39.90")
    page.fill("input[name=stock_quantity]", "3")
    page.click("button:has-text('Save the draft')")
    expect(page).to_have_url(re.compile(r"/dashboard/s/riga-knits/products/\d+/$"))
    product = Product.objects.get(title="Wool scarf")
    assert product.status == ProductStatus.DRAFT

    page.set_input_files("input[type=file][name=images]", _photo(tmp_path))
    page.click("form[action$='/photos/'] button[type=submit]")
    expect(page.locator("img[src*='/media/products/thumbs/']").first).to_be_visible()

    variant_form = page.locator("form[action$='/variants/']")
    variant_form.locator("input[name=sku]").fill("SCARF-BLUE")
    variant_form.locator("input[name=name]").fill("Blue")
    variant_form.locator("input[name=price]").fill("42.00")
    variant_form.locator("input[name=stock_quantity]").fill("0")
    variant_form.locator("button[type=submit]").click()
    expect(page.locator("text=SCARF-BLUE").first).to_be_visible()

    page.click("button:has-text('Publish')")
    expect(page.locator("button:has-text('Unpublish')").first).to_be_visible()
    product.refresh_from_db()
    assert product.status == ProductStatus.PUBLISHED
    assert product.images.count() == 1
    assert product.variants.count() == 2

    # A shopper (signed out) searches by a word of the description and opens the product.
    page.context.clear_cookies()
    page.goto("/")
    page.fill("header input[name=q]", "merino")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=merino"))
    page.click("a:has-text('Wool scarf')")
    expect(page).to_have_url(re.compile(r"/s/riga-knits/p/wool-scarf/"))
    expect(page).to_have_title(re.compile("Wool scarf"))
    expect(page.locator("meta[property='og:type']")).to_have_attribute("content", "product")
    data = json.loads(page.locator("script[type='application/ld+json']").first.inner_text())
    assert data["@type"] == "Product"
    assert data["name"] == "Wool scarf"

    # The variant picker shows the blue one as sold out and its own price.
    page.locator("label:has-text('Blue')").first.click()
    expect(page.locator("body")).to_contain_text("42.00")
    expect(page.locator("body")).to_contain_text("Sold out")
    page.locator("label:has-text('Red')").first.click()
    expect(page.locator("body")).to_contain_text("39.90")

    # The category page lists it too.
    page.goto("/c/knitwear/")
    expect(page.locator("a:has-text('Wool scarf')").first).to_be_visible()


def test_password_reset_by_mail_and_language_switch(page: Page) -> None:
    _sign_up(page, "maria")
    page.context.clear_cookies()

    page.goto("/accounts/password/reset/")
    page.fill("input[name=email]", "maria@example.com")
    page.click("form[action='/accounts/password/reset/'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/sent/"))
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = re.sub(r"^https?://[^/]+", "", link.group(0))
    page.goto(path)
    page.fill("input[name=password]", "another sturdy phrase 7")
    page.fill("input[name=password_confirm]", "another sturdy phrase 7")
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"set-password"))

    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", "maria@example.com")
    page.fill("input[name=password]", "another sturdy phrase 7")
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page.locator("body")).to_contain_text("Maria")

    # The language switcher turns the interface into Russian.
    page.goto("/")
    page.locator("select[name=language]").first.select_option("ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")

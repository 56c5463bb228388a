"""Buying in a real browser: a shopper fills a cart from two shops, pays with the sandbox card, follows the order;
the shop ships it with a tracking number. A declined card says so and leaves the stock as it was."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog.models import Variant
from agora.catalog.tests.factories import ProductFactory, VariantFactory
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import Checkout, Order, OrderStatus
from agora.shipping.tests.factories import ships_to
from agora.shops.tests.factories import shop_with_owner

pytestmark = pytest.mark.django_db(transaction=True)


def _shop_with_product(name: str, slug: str, title: str, price: str, stock: int) -> tuple[Any, Any, Variant]:
    shop, owner = shop_with_owner(name=name, slug=slug, currency="EUR", country="LV")
    ships_to(shop, countries=["LV", "EE"], price="4.90", free_over="100")
    product = ProductFactory(shop=shop, title=title, slug=slug + "-item")
    variant = VariantFactory(product=product, shop=shop, price=Decimal(price), stock_quantity=stock, name="Default")
    return shop, owner, variant


def _sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page.locator("header")).to_contain_text("Cart")


def _add_to_cart(page: Page, shop_slug: str, product_slug: str, count: int) -> None:
    page.goto(f"/s/{shop_slug}/p/{product_slug}/")
    page.locator("[data-buy-box] input[name=quantity]").fill("1")
    page.click("[data-buy-box] button[value=add]")
    expect(page.locator("[data-buy-status]")).to_contain_text("Added to your cart")
    # The header's count follows without a reload.
    expect(page.locator("[data-cart-count]")).to_have_text(str(count))


def _fill_address(page: Page) -> None:
    page.fill("input[name=name]", "Anna Berzina")
    page.fill("input[name=line1]", "Brivibas iela 1")
    page.fill("input[name=postcode]", "LV-1010")
    page.fill("input[name=city]", "Riga")
    page.select_option("select[name=country]", "EE")
    # The delivery options and totals follow the country (HTMX).
    expect(page.locator("#checkout-summary")).to_contain_text("Delivery to Estonia")
    page.select_option("select[name=country]", "LV")
    expect(page.locator("#checkout-summary")).to_contain_text("Delivery to Latvia")


def test_shopper_buys_from_two_shops_and_the_shop_ships(page: Page, browser: Browser, live_server: Any) -> None:
    knits, knits_owner, scarf = _shop_with_product("Riga Knits", "riga-knits", "Wool scarf", "39.90", 3)
    _wood, _wood_owner, spoon = _shop_with_product("Tallinn Wood", "tallinn-wood", "Birch spoon", "12.00", 5)
    shopper = UserFactory(username="liga", display_name="Liga")

    _sign_in(page, shopper.username)
    _add_to_cart(page, "riga-knits", "riga-knits-item", 1)
    _add_to_cart(page, "tallinn-wood", "tallinn-wood-item", 2)

    page.goto("/cart/")
    expect(page.locator("#cart")).to_contain_text("Riga Knits")
    expect(page.locator("#cart")).to_contain_text("Tallinn Wood")
    page.click("a:has-text('Check out')")
    expect(page).to_have_url(re.compile(r"/checkout/$"))
    _fill_address(page)
    # 39.90 + 12.00 + two deliveries of 4.90
    expect(page.locator("[data-grand-total]")).to_have_text("€61.70")
    expect(page.locator("input[name=payment_method][value=sandbox_card]")).to_be_checked()
    page.click("button[name=action][value=place]")

    expect(page.locator("#checkout-status")).to_contain_text("Thank you")
    numbers = page.locator("[data-order-number]").all_inner_texts()
    assert len(numbers) == 2
    checkout = Checkout.objects.get()
    assert sorted(o.number for o in checkout.orders.all()) == sorted(numbers)
    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert Variant.objects.get(pk=scarf.pk).stock_quantity == 2
    assert Variant.objects.get(pk=spoon.pk).stock_quantity == 4
    assert ledger_is_balanced()

    page.goto("/orders/")
    for number in numbers:
        expect(page.locator("main")).to_contain_text(number)
    expect(page.locator("[data-cart-count]")).to_have_count(0)  # the bought lines left the cart

    # The shop's owner, in another browser, ships the Riga Knits order with a tracking number.
    order = Order.objects.get(shop=knits)
    staff_context = browser.new_context(base_url=live_server.url, locale="en-US")
    staff = staff_context.new_page()
    _sign_in(staff, knits_owner.username)
    staff.goto("/dashboard/s/riga-knits/orders/")
    staff.click(f"a:has-text('{order.number}')")
    staff.fill("input[name=tracking_number]", "LV123456789EE")
    staff.click("button:has-text('Mark shipped')")
    expect(staff.locator("[data-order-status]")).to_have_attribute("data-order-status", "shipped")
    staff_context.close()

    # The shopper sees it shipped, with the tracking number.
    page.goto(f"/orders/{order.number}/")
    expect(page.locator("[data-order-status]")).to_have_text("Shipped")
    expect(page.locator("[data-tracking-number]")).to_have_text("LV123456789EE")
    expect(page.locator(".timeline")).to_contain_text("Shipped")


def test_a_declined_card_shows_a_clear_error_and_the_stock_is_unchanged(page: Page) -> None:
    _shop, _owner, scarf = _shop_with_product("Riga Knits", "riga-knits", "Wool scarf", "39.90", 3)
    shopper = UserFactory(username="janis")

    _sign_in(page, shopper.username)
    _add_to_cart(page, "riga-knits", "riga-knits-item", 1)
    page.goto("/checkout/")
    _fill_address(page)
    page.check("input[name=payment_method][value=sandbox_decline]")
    page.click("button[name=action][value=place]")

    expect(page.locator(".form-errors")).to_contain_text("The payment was declined")
    expect(page.locator("input[name=payment_method][value=sandbox_decline]")).to_be_checked()
    assert Variant.objects.get(pk=scarf.pk).stock_quantity == 3
    assert not Order.objects.filter(status__in=[OrderStatus.PLACED, OrderStatus.PAID]).exists()

    # Another card goes through from the same page.
    page.check("input[name=payment_method][value=sandbox_card]")
    page.click("button[name=action][value=place]")
    expect(page.locator("#checkout-status")).to_contain_text("Thank you")
    assert Variant.objects.get(pk=scarf.pk).stock_quantity == 2

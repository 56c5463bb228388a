"""A flash deal in a real browser: the product page shows the deal price, a live countdown and the units left;
"Buy now" goes through the one-item checkout at the deal price and the order keeps that price."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog.models import Variant
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import selling_shop, variant_for_sale
from agora.promotions.models import FlashClaim, FlashDeal
from agora.promotions.tests.factories import flash_deal

pytestmark = pytest.mark.django_db(transaction=True)

# What countdown.js writes ("01:59:58"); the server-rendered fallback is "1 hour, 59 minutes".
CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2}$")


def _sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page.locator("header")).to_contain_text("Cart")


def test_a_flash_deal_is_bought_at_the_deal_price(page: Page) -> None:
    shop, owner = selling_shop(name="Riga Knits", slug="riga-knits", country="LV")
    variant = variant_for_sale(shop, price="20.00", stock=10, title="Wool scarf", name="Default")
    deal = flash_deal(
        shop=shop,
        owner=owner,
        variant=variant,
        deal_price="12.00",
        quantity=5,
        per_user_limit=2,
        lasts=timedelta(hours=2),
    )
    product = variant.product
    UserFactory(username="liga", display_name="Liga")

    _sign_in(page, "liga")
    page.goto(f"/s/{shop.slug}/p/{product.slug}/")
    box = page.locator(f"[data-flash-deal='{deal.pk}']")
    expect(box).to_have_attribute("data-flash-status", "live")
    expect(box.locator(".product-price strong")).to_have_text("€12.00")
    expect(box.locator(".product-price s")).to_have_text("€20.00")
    expect(box.locator("[data-flash-left]")).to_contain_text("5 left at this price")
    countdown = box.locator("[data-countdown]")
    expect(countdown).to_have_text(CLOCK)  # counting down in the page
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # ... every second

    box.locator("select[name=quantity]").select_option("2")
    box.locator("[data-flash-buy]").click()
    expect(page).to_have_url(re.compile(rf"/deals/flash/{deal.pk}/buy/\?quantity=2$"))
    expect(page.locator("h1")).to_contain_text("Flash deal: Wool scarf")
    page.fill("input[name=line1]", "Brivibas iela 1")
    page.fill("input[name=postcode]", "LV-1010")
    page.fill("input[name=city]", "Riga")
    expect(page.locator("#checkout-summary")).to_contain_text("Delivery to Latvia")
    # 2 × 12.00 at the deal price + 4.90 delivery
    expect(page.locator("[data-direct-subtotal]")).to_have_text("€24.00")
    expect(page.locator("[data-grand-total]")).to_have_text("€28.90")
    expect(page.locator("input[name=payment_method][value=sandbox_card]")).to_be_checked()
    page.click("button[name=action][value=place]")

    expect(page.locator("#checkout-status")).to_contain_text("Thank you")
    number = page.locator("[data-order-number]").inner_text()
    order = Order.objects.get(number=number)
    assert order.status == OrderStatus.PAID
    assert order.total == Decimal("28.90")
    line = order.lines.get()
    assert (line.unit_price, line.quantity) == (Decimal("12.00"), 2)
    assert FlashDeal.objects.get(pk=deal.pk).sold == 2
    assert FlashClaim.objects.get(deal=deal).order_id == order.pk
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 8
    assert ledger_is_balanced()

    # The order page keeps the deal price, marked as such.
    page.goto(f"/orders/{number}/")
    row = page.locator(".order-lines tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Flash deal")
    expect(row.locator("td.num").nth(0)).to_have_text("€12.00")
    expect(row.locator("td.num").nth(2)).to_have_text("€24.00")

    # The product page counts the sold units.
    page.goto(f"/s/{shop.slug}/p/{product.slug}/")
    expect(page.locator("[data-flash-left]")).to_contain_text("3 left at this price")

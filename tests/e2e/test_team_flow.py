"""A team purchase in two real browsers: Anna starts a team from the product page (checkout at the team price, her
card only authorised), shares the link; Ben opens it, joins, and both see the team succeed (Anna's open page follows
by itself); both cards are then charged the team price."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog.models import Variant
from agora.groupbuy.models import MemberStatus, Team, TeamStatus
from agora.groupbuy.tests.factories import group_deal
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import selling_shop, variant_for_sale
from agora.payments.models import PaymentStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _site_url(settings: Any, live_server: Any) -> None:
    # The share link is absolute (SITE_URL): make it point at the test server so Ben can open it as given.
    settings.SITE_URL = live_server.url


def _sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    expect(page.locator("header")).to_contain_text("Cart")


def _place_at_team_price(page: Page) -> None:
    """The one-item checkout: the address (country preset to the shop's, Latvia), the sandbox card, place."""
    page.fill("input[name=line1]", "Brivibas iela 1")
    page.fill("input[name=postcode]", "LV-1010")
    page.fill("input[name=city]", "Riga")
    expect(page.locator("#checkout-summary")).to_contain_text("Delivery to Latvia")
    # 15.00 at the team price + 4.90 delivery
    expect(page.locator("[data-direct-subtotal]")).to_have_text("€15.00")
    expect(page.locator("[data-grand-total]")).to_have_text("€19.90")
    expect(page.locator("input[name=payment_method][value=sandbox_card]")).to_be_checked()
    page.click("button[name=action][value=place]")


def test_a_starts_a_team_b_joins_through_the_link_and_both_see_it_succeed(
    page: Page, browser: Browser, live_server: Any
) -> None:
    shop, owner = selling_shop(name="Riga Tea", slug="riga-tea", country="LV")
    variant = variant_for_sale(shop, price="20.00", stock=10, title="Clay teapot", name="Default")
    deal = group_deal(shop=shop, owner=owner, variant=variant, group_price="15.00", min_members=2, stock_allotted=5)
    product = variant.product
    UserFactory(username="anna", display_name="Anna")
    UserFactory(username="ben", display_name="Ben")

    # Anna starts a team from the product page.
    _sign_in(page, "anna")
    page.goto(f"/s/{shop.slug}/p/{product.slug}/")
    box = page.locator(f"[data-team-deal='{deal.pk}']")
    expect(box.locator("[data-team-price]")).to_have_text("€15.00")
    box.locator("[data-team-start]").click()
    expect(page).to_have_url(re.compile(rf"/deals/team/{deal.pk}/start/"))
    _place_at_team_price(page)

    expect(page).to_have_url(re.compile(r"/t/[A-Z0-9]{8}/$"))
    team = Team.objects.get()
    assert page.url == f"{live_server.url}/t/{team.code}/"
    team_page = page.locator("[data-team-page]")
    expect(team_page).to_have_attribute("data-team-status", "open")
    expect(page.locator("[data-team-state]")).to_contain_text("1 more person needed")
    expect(page.locator("[data-team-countdown]")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
    expect(page.locator("[data-team-you]")).to_be_visible()
    expect(page.locator("[data-team-members]")).to_contain_text("Anna")
    share_link = page.locator(f"#share-{team.code}").input_value()
    assert share_link == f"{live_server.url}/t/{team.code}/"
    # Only authorised: nothing is charged while the team is short.
    anna_order = Order.objects.select_related("checkout__payment").get(buyer__username="anna")
    assert anna_order.status == OrderStatus.PLACED
    authorisation = anna_order.checkout.payment
    assert authorisation is not None and authorisation.status == PaymentStatus.AUTHORIZED
    assert authorisation.captured_amount == 0

    # Ben, in his own browser, opens the link and joins.
    ben_context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    ben_context.set_default_timeout(15_000)
    ben = ben_context.new_page()
    ben_errors: list[str] = []
    ben.on("pageerror", lambda exc: ben_errors.append(str(exc)))
    _sign_in(ben, "ben")
    ben.goto(share_link)
    expect(ben.locator("[data-team-members]")).to_contain_text("Anna")
    expect(ben.locator("[data-places-left]")).to_have_text("1 place left")
    ben.click("a[data-team-join]")
    expect(ben).to_have_url(re.compile(rf"/t/{team.code}/join/"))
    _place_at_team_price(ben)

    expect(ben).to_have_url(f"{live_server.url}/t/{team.code}/")
    expect(ben.locator("[data-team-page]")).to_have_attribute("data-team-status", "succeeded")
    expect(ben.locator("[data-team-state]")).to_contain_text("Team complete")
    expect(ben.locator("[data-team-you]")).to_be_visible()
    expect(ben.locator("[data-team-members] li")).to_have_count(2)
    ben_context.close()
    assert not ben_errors, f"JavaScript errors on Ben's page: {ben_errors}"

    # Anna's page, left open, follows by itself (a live notification, else its 10 s poll).
    expect(team_page).to_have_attribute("data-team-status", "succeeded", timeout=15_000)
    expect(page.locator("[data-team-state]")).to_contain_text("Team complete")
    expect(page.locator("[data-team-members]")).to_contain_text("Ben")

    # Both were charged the team price, once; the orders are paid orders like any other.
    team.refresh_from_db()
    assert team.status == TeamStatus.SUCCEEDED and team.members_count == 2
    assert set(team.members.values_list("status", flat=True)) == {MemberStatus.CAPTURED}
    orders = list(Order.objects.filter(pk__in=team.members.values("order")).select_related("payment"))
    assert len(orders) == 2
    for order in orders:
        assert order.status == OrderStatus.PAID
        assert order.lines.get().unit_price == Decimal("15.00")
        assert order.payment is not None and order.payment.status == PaymentStatus.CAPTURED
        assert order.payment.captured_amount == Decimal("19.90")
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 8
    assert ledger_is_balanced()

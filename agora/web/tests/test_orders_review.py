"""The buying and selling pages, second read: odd form input is a 4xx (never a 500), a double-submitted refund
refunds once, guest links and the balance chart read through selectors, and crawlers stay out of carts,
checkouts, orders and payments."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.ledger import selectors as ledger_selectors
from agora.ledger.models import LedgerTransaction
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import selectors as order_selectors
from agora.orders import services as order_services
from agora.orders.errors import CheckoutNotFound, ClaimInvalid
from agora.orders.models import Order, OrderStatus, RefundRecord
from agora.orders.tests.factories import ADDRESS, buy, cart_with, selling_shop, variant_for_sale
from agora.payments.models import Refund

pytestmark = pytest.mark.django_db


def url(name: str, *args: Any) -> str:
    return reverse(f"web:{name}", args=args)


def logged_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def refund_key(page: Any) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode())
    assert match, "the refund form carries an idempotency key"
    return match.group(1)


# --- digits that are not ASCII ------------------------------------------------------------------
@pytest.mark.parametrize("data", [{"delivery_²": "1"}, {"delivery_1": "²"}, {"delivery_1²": "1"}])
def test_checkout_and_its_summary_ignore_delivery_choices_that_are_not_ascii_digits(data: dict[str, str]) -> None:
    user = UserFactory()
    cart_with(user, (variant_for_sale(), 1))
    client = logged_in(user)
    assert client.post(url("checkout_summary"), {"country": "LV", **data}).status_code == 200
    assert client.post(url("checkout"), {"country": "LV", **data}).status_code == 200


def test_buy_now_with_a_variant_that_is_not_an_ascii_number_is_refused_clearly() -> None:
    user = UserFactory()
    cart_with(user, (variant_for_sale(), 1))
    client = logged_in(user)
    response = client.post(url("cart_add"), {"variant": "²", "action": "buy"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "is not a variant id" in response.content.decode()


@pytest.mark.parametrize("field", ["line_²", "line_{line}"])
def test_a_refund_form_with_odd_line_input_is_refused_not_a_500(field: str) -> None:
    shop, owner = selling_shop()
    order = buy(UserFactory(), (variant_for_sale(shop), 2)).orders.get()
    name = field.format(line=order.lines.get().pk)
    response = logged_in(owner).post(url("dashboard_order_refund", shop.slug, order.number), {name: "²"})
    assert response.status_code == 422
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and not Refund.objects.exists()


# --- double submit ----------------------------------------------------------------------------------
def test_a_refund_submitted_twice_refunds_once() -> None:
    shop, owner = selling_shop()
    order = buy(UserFactory(), (variant_for_sale(shop, price="10.00", stock=5), 3)).orders.get()
    client = logged_in(owner)
    page = client.get(url("dashboard_order", shop.slug, order.number))
    form = {"amount": "5.00", "reason": "Scratched", "idempotency_key": refund_key(page)}

    first = client.post(url("dashboard_order_refund", shop.slug, order.number), form)
    second = client.post(url("dashboard_order_refund", shop.slug, order.number), form)

    assert first.status_code == second.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert Refund.objects.count() == 1 and RefundRecord.objects.count() == 1
    # A new page is a new key: a second refund on purpose goes through.
    again = {**form, "idempotency_key": refund_key(client.get(url("dashboard_order", shop.slug, order.number)))}
    assert client.post(url("dashboard_order_refund", shop.slug, order.number), again).status_code == 302
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("10.00")
    assert ledger_is_balanced()


def test_a_refused_refund_offers_a_fresh_key_for_the_corrected_form() -> None:
    shop, owner = selling_shop()
    order = buy(UserFactory(), (variant_for_sale(shop, price="10.00"), 1)).orders.get()
    client = logged_in(owner)
    key = refund_key(client.get(url("dashboard_order", shop.slug, order.number)))

    refused = client.post(
        url("dashboard_order_refund", shop.slug, order.number), {"amount": "99", "idempotency_key": key}
    )

    assert refused.status_code == 422 and "can still be refunded" in refused.content.decode()
    fresh = refund_key(refused)
    assert fresh != key
    fixed = client.post(
        url("dashboard_order_refund", shop.slug, order.number), {"amount": "9", "idempotency_key": fresh}
    )
    assert fixed.status_code == 302
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("9.00")


def test_a_pending_refund_is_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    shop, owner = selling_shop()
    order = buy(UserFactory(), (variant_for_sale(shop, price="10.00"), 1)).orders.get()
    monkeypatch.setattr(order_selectors, "has_pending_refund", lambda order: True)
    client = logged_in(owner)
    response = client.post(url("dashboard_order_refund", shop.slug, order.number), {"amount": "1"}, follow=True)
    assert "being processed" in response.content.decode()


# --- selectors the views read through -----------------------------------------------------------------
def test_checkout_for_link_finds_the_guest_checkout_of_a_signed_link() -> None:
    checkout = buy(None, (variant_for_sale(), 1), email="guest@example.com")
    token = order_services.claim_token(checkout)

    found = order_selectors.checkout_for_link(token)

    assert found.pk == checkout.pk
    with pytest.raises(CheckoutNotFound):
        order_selectors.checkout_for_link(token + "x")
    with pytest.raises(CheckoutNotFound):
        order_selectors.checkout_for_link("")


def test_checkout_for_link_says_when_a_link_expired(settings: Any) -> None:
    checkout = buy(None, (variant_for_sale(), 1), email="guest@example.com")
    token = order_services.claim_token(checkout)
    settings.AGORA_ORDER_CLAIM_DAYS = -1
    with pytest.raises(ClaimInvalid):
        order_selectors.checkout_for_link(token)


def test_daily_totals_sum_what_the_shop_is_owed_per_day() -> None:
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="10.00", stock=10)
    order = buy(UserFactory(), (variant, 1)).orders.get()  # 14.90, commission 1.49: the shop is owed 13.41
    old = buy(UserFactory(), (variant, 2)).orders.get()  # 24.90, commission 2.49: 22.41, moved back 40 days
    LedgerTransaction.objects.filter(order_id=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    order_services.refund_order(actor=owner, order=order, amount="4.90")  # 4.90 back, 0.49 commission back

    [totals] = ledger_selectors.daily_totals(shop, 30)

    today = timezone.localdate()
    assert totals.currency == "EUR"
    assert totals.opening == Decimal("22.41")
    assert len(totals.days) == 30 and totals.days[-1][0] == today and totals.days[0][0] == today - timedelta(29)
    assert dict(totals.days)[today] == Decimal("13.41") - Decimal("4.90") + Decimal("0.49")
    assert all(change == 0 for day, change in totals.days if day != today)
    assert ledger_selectors.daily_totals(selling_shop()[0], 30) == []
    assert isinstance(totals.days[0][0], date)


def test_the_balance_page_draws_the_chart_from_the_ledger_selector(django_assert_max_num_queries: Any) -> None:
    shop, owner = selling_shop()
    buy(UserFactory(), (variant_for_sale(shop, price="10.00"), 1))
    client = logged_in(owner)
    with django_assert_max_num_queries(20):
        page = client.get(url("shop_balance", shop.slug))
    assert page.status_code == 200
    assert "<svg" in page.content.decode() and "€13.41" in page.content.decode()


# --- crawlers -------------------------------------------------------------------------------------------
def test_robots_keep_crawlers_out_of_buying_pages(client: Client) -> None:
    body = client.get("/robots.txt").content.decode()
    for path in ("/cart/", "/checkout/", "/orders/", "/payments/"):
        assert f"Disallow: {path}" in body
    assert "Disallow: /dashboard/" in body


# --- the back button --------------------------------------------------------------------------------------
def test_back_to_a_placed_checkout_and_changing_it_says_the_order_was_placed() -> None:
    user = UserFactory()
    variant = variant_for_sale(stock=5)
    cart_with(user, (variant, 1))
    client = logged_in(user)
    page = client.get(url("checkout"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode()).group(1)
    form = {
        "name": "Anna Berzina",
        "line1": "Brivibas iela 1",
        "city": "Riga",
        "postcode": "LV-1010",
        "country": "LV",
        "payment_method": "sandbox_card",
        "idempotency_key": key,
        "action": "place",
    }
    placed = client.post(url("checkout"), form)
    assert placed.status_code == 302
    # Back, the same page (same key) sent again: the same checkout, nothing new.
    assert client.post(url("checkout"), form)["Location"] == placed["Location"]
    # Back, a field changed, sent again with the page's key: not an API message, and no second order.
    changed = client.post(url("checkout"), {**form, "line1": "Brivibas iela 2"})
    assert changed.status_code == 422
    body = changed.content.decode()
    assert "already placed" in body and "Idempotency-Key" not in body
    assert Order.objects.count() == 1


def test_pay_now_clicked_twice_pays_once_and_says_nothing_wrong() -> None:
    from agora.orders.models import Checkout
    from agora.payments.models import Payment

    user = UserFactory()
    cart_with(user, (variant_for_sale(stock=4), 1))
    checkout = order_services.place_checkout(
        actor=user, cart=user.carts.get(), address=ADDRESS, payment_method="sandbox_timeout"
    )
    Payment.objects.update(status="failed", failure_message="The card was declined.")
    client = logged_in(user)
    pay = url("checkout_pay", checkout.public_id)

    client.post(pay, {"payment_method": "sandbox_card"})
    second = client.post(pay, {"payment_method": "sandbox_card"}, follow=True)

    assert Order.objects.get().status == OrderStatus.PAID
    assert Payment.objects.filter(status="captured").count() == 1
    assert "nothing left to pay" not in second.content.decode()
    assert Checkout.objects.get().payment_attempt == 2

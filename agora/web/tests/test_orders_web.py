"""The buying and selling pages through the Django test client: buy box, cart, prefill link, checkout,
confirmation, my orders, guest links, and the shop's orders, balance and sales policy. Rights: another person's
cart, order or shop orders are out of reach (404)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog.models import Variant
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services as order_services
from agora.orders.context_processors import cart as cart_context
from agora.orders.models import Cart, CartItem, Checkout, Order, OrderStatus
from agora.orders.selectors import CART_SESSION_KEY
from agora.orders.tests.factories import ADDRESS, buy, cart_with, selling_shop, variant_for_sale
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, *args: Any) -> str:
    return reverse(f"web:{name}", args=args)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def key_of(response: Any) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())
    assert match, "the checkout form has an idempotency key"
    return match.group(1)


def checkout_post(client: Client, **overrides: Any) -> dict[str, Any]:
    page = client.get(url("checkout"))
    assert page.status_code == 200
    data = {
        **{k: v for k, v in ADDRESS.items()},
        "payment_method": "sandbox_card",
        "idempotency_key": key_of(page),
        "action": "place",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- buy box and the header count --------------------------------------------------------------
def test_buy_box_adds_without_javascript_and_the_header_counts():
    variant = variant_for_sale(stock=5)
    product, shop = variant.product, variant.shop
    client = logged_in(UserFactory())
    page = client.get(url("product", shop.slug, product.slug)).content.decode()
    assert "data-buy-box" in page and f'name="variant" value="{variant.pk}"' in page

    added = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "2", "next": "/elsewhere/"})
    assert added.status_code == 302 and added["Location"] == "/elsewhere/"
    page = client.get(url("product", shop.slug, product.slug)).content.decode()
    assert "Added to your cart." in page
    assert re.search(r"data-cart-count>2<", page)


def test_buy_box_with_htmx_updates_the_count_and_buy_now_goes_to_checkout():
    variant = variant_for_sale(stock=5)
    client = Client()  # a guest

    added = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "1"}, **HTMX)
    assert added.status_code == 200
    assert "Added to your cart." in added.content.decode()
    assert json.loads(added["HX-Trigger"]) == {"cartChanged": {"count": 1}}
    assert client.session[CART_SESSION_KEY]

    buy_now = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "3", "action": "buy"}, **HTMX)
    assert buy_now.status_code == 204
    assert buy_now["HX-Redirect"] == url("checkout") + "?currency=EUR"
    # "Buy now" sets the quantity asked for; it does not add to what was there.
    assert CartItem.objects.get().quantity == 3

    too_many = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "9"}, **HTMX)
    assert too_many.status_code == 422
    assert "Only 5 of" in too_many.content.decode()
    assert CartItem.objects.get().quantity == 3


def test_buy_box_refuses_bad_input_clearly():
    variant = variant_for_sale(stock=0)
    client = Client()
    sold_out = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "1"}, **HTMX)
    assert sold_out.status_code == 422 and "sold out" in sold_out.content.decode()
    unknown = client.post(url("cart_add"), {"variant": "999999", "quantity": "1"}, **HTMX)
    assert unknown.status_code == 422 and "not for sale" in unknown.content.decode()
    zero = client.post(url("cart_add"), {"variant": variant.pk, "quantity": "0"})
    assert zero.status_code == 302
    assert not CartItem.objects.exists()
    page = client.get(url("product", variant.shop.slug, variant.product.slug)).content.decode()
    assert "This option is sold out." in page and "disabled" in page


def test_header_count_costs_nothing_without_a_cart_and_one_query_with_one(django_assert_num_queries):
    factory = RequestFactory()
    request = factory.get("/")
    request.user = AnonymousUser()
    request.session = {}  # type: ignore[assignment]
    with django_assert_num_queries(0):
        assert cart_context(request)["cart_count"]() == 0

    user = UserFactory()
    cart_with(user, (variant_for_sale(), 2), (variant_for_sale(), 1))
    request.user = user
    count = cart_context(request)["cart_count"]
    with django_assert_num_queries(1):
        assert count() == 3
        assert count() == 3  # read once per page


# --- cart ------------------------------------------------------------------------------------
def test_cart_groups_by_shop_and_changes_quantities(django_assert_max_num_queries):
    riga, _ = selling_shop(name="Riga Knits")
    tallinn, _ = selling_shop(name="Tallinn Wood")
    scarf = variant_for_sale(riga, price="20.00", stock=5, title="Scarf")
    spoon = variant_for_sale(tallinn, price="7.50", stock=9, title="Spoon")
    user = UserFactory()
    cart_with(user, (scarf, 1), (spoon, 2))
    client = logged_in(user)

    with django_assert_max_num_queries(10):  # measured: 8, whatever the number of lines
        page = client.get(url("cart"))
    body = page.content.decode()
    assert body.index("Riga Knits") < body.index("Tallinn Wood")
    assert "€20.00" in body and "€15.00" in body and "€35.00" in body

    changed = client.post(url("cart_update", scarf.pk), {"quantity": "3"}, **HTMX)
    assert changed.status_code == 200
    assert changed.content.decode().lstrip().startswith('<div id="cart"')
    assert json.loads(changed["HX-Trigger"]) == {"cartChanged": {"count": 5}}
    assert "€60.00" in changed.content.decode()

    over = client.post(url("cart_update", scarf.pk), {"quantity": "6"}, **HTMX)
    assert over.status_code == 422
    assert "Only 5 of" in over.content.decode()
    assert CartItem.objects.get(variant=scarf).quantity == 3

    removed = client.post(url("cart_remove", spoon.pk), **HTMX)
    assert removed.status_code == 200
    assert "Tallinn Wood" not in removed.content.decode()
    # Without JavaScript: a redirect back to the cart.
    assert client.post(url("cart_update", scarf.pk), {"quantity": "2"})["Location"] == url("cart")
    assert CartItem.objects.get(variant=scarf).quantity == 2


def test_cart_shows_what_changed_once():
    variant = variant_for_sale(price="10.00", stock=5, title="Mug")
    gone = variant_for_sale(price="3.00", stock=5, title="Coaster")
    user = UserFactory()
    cart_with(user, (variant, 2), (gone, 1))
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("12.00"), stock_quantity=1)
    Variant.objects.filter(pk=gone.pk).update(is_active=False)
    client = logged_in(user)

    body = client.get(url("cart")).content.decode()
    assert "Since you last looked" in body
    assert "now costs €12.00 (was €10.00)" in body
    assert "Only 1 of" in body
    assert "no longer for sale" in body
    again = client.get(url("cart")).content.decode()
    assert "now costs" not in again  # the new price is the one seen now
    assert "Only 1 of" in again  # a stock problem stays until fixed


def test_guest_cart_merges_into_the_account_at_sign_in():
    variant = variant_for_sale(stock=5)
    mine = variant_for_sale(stock=5)
    user = UserFactory()
    cart_with(user, (mine, 1))
    client = Client()
    client.post(url("cart_add"), {"variant": variant.pk, "quantity": "2"})
    assert client.get(url("cart")).status_code == 200

    signed_in = client.post(url("login"), {"identifier": user.username, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.content.decode()[:500]
    body = client.get(url("cart")).content.decode()
    assert re.search(r"data-cart-count>3<", body)
    assert Cart.objects.filter(user__isnull=True).count() == 0


def test_nobody_reaches_another_persons_cart():
    variant = variant_for_sale(stock=5)
    owner = UserFactory()
    cart_with(owner, (variant, 2))
    intruder = logged_in(UserFactory())
    assert intruder.post(url("cart_update", variant.pk), {"quantity": "1"}).status_code == 404
    assert intruder.post(url("cart_remove", variant.pk)).status_code == 404
    assert CartItem.objects.get().quantity == 2
    # A guest session cannot borrow a signed-in user's cart either.
    guest = Client()
    assert guest.post(url("cart_remove", variant.pk)).status_code == 404
    assert CartItem.objects.count() == 1


# --- prefill link ---------------------------------------------------------------------------
def test_prefill_link_fills_the_cart_and_opens_checkout():
    a, b = variant_for_sale(stock=5), variant_for_sale(stock=5)
    client = Client()
    response = client.get(url("cart_prefill"), {"items": f"{a.pk}:2,{b.pk}:1", "coupon": "spring"})
    assert response.status_code == 302 and response["Location"] == url("checkout")
    cart = Cart.objects.get(token=client.session[CART_SESSION_KEY])
    assert sorted(cart.items.values_list("variant_id", "quantity")) == sorted([(a.pk, 2), (b.pk, 1)])
    assert cart.coupon_code == "SPRING"
    # Following it again does not double it.
    client.get(url("cart_prefill"), {"items": f"{a.pk}:2"})
    assert cart.items.get(variant=a).quantity == 2
    assert url("cart_prefill") == "/cart/add"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("", "variant:quantity"),
        ("abc", "is not variant:quantity"),
        ("{variant}:0", "at least 1"),
        ("{variant}:99", "Only 5 of"),
        ("999999:1", "not for sale"),
    ],
)
def test_a_bad_prefill_link_explains_and_changes_nothing(items, message):
    variant = variant_for_sale(stock=5)
    response = Client().get(url("cart_prefill"), {"items": items.format(variant=variant.pk)})
    assert response.status_code == 422
    body = response.content.decode()
    assert "This link could not fill your cart" in body and message in body
    assert not CartItem.objects.exists()


# --- checkout -------------------------------------------------------------------------------
def test_checkout_from_two_shops_places_two_orders_paid_together(django_assert_max_num_queries):
    riga, _ = selling_shop(name="Riga Knits", delivery_price="4.90")
    tallinn, _ = selling_shop(name="Tallinn Wood", delivery_price="3.00")
    scarf = variant_for_sale(riga, price="20.00", stock=5, title="Scarf")
    spoon = variant_for_sale(tallinn, price="7.50", stock=9, title="Spoon")
    user = UserFactory()
    cart_with(user, (scarf, 1), (spoon, 2))
    client = logged_in(user)

    with django_assert_max_num_queries(17):  # measured: 15 (two per shop for its delivery options)
        page = client.get(url("checkout"), {"country": "LV"})
    body = page.content.decode()
    assert "Riga Knits" in body and "Tallinn Wood" in body
    assert "€4.90" in body and "€3.00" in body and "1–3 days" in body
    assert "€42.90" in body  # 20 + 15 + 4.90 + 3.00
    assert "Test card" in body

    done = client.post(url("checkout"), checkout_post(client))
    assert done.status_code == 302, done.content.decode()[:2000]
    checkout = Checkout.objects.get()
    assert done["Location"] == url("checkout_done", checkout.public_id)
    orders = list(checkout.orders.order_by("shop__name"))
    assert [(o.shop.name, o.status, o.total) for o in orders] == [
        ("Riga Knits", OrderStatus.PAID, Decimal("24.900")),
        ("Tallinn Wood", OrderStatus.PAID, Decimal("18.000")),
    ]
    confirmation = client.get(done["Location"]).content.decode()
    assert "Thank you" in confirmation
    for order in orders:
        assert order.number in confirmation
    assert not CartItem.objects.exists()  # bought lines leave the cart
    assert ledger_is_balanced()


def test_totals_follow_the_country_and_the_delivery_method_with_htmx():
    shop, owner = selling_shop(name="Riga Knits", delivery_price="4.90")
    from agora.shipping import services as shipping_services

    zone = shop.delivery_zones.get()
    express = shipping_services.add_method(actor=owner, zone=zone, name="Express", price="9.90", min_days=1, max_days=1)
    variant = variant_for_sale(shop, price="20.00")
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)

    summary = client.post(url("checkout_summary"), {"country": "EE", f"delivery_{shop.pk}": express.pk})
    body = summary.content.decode()
    assert body.lstrip().startswith('<div id="checkout-summary"')
    assert "Delivery to Estonia" in body and "€29.90" in body
    elsewhere = client.post(url("checkout_summary"), {"country": "JP"}).content.decode()
    assert "does not deliver to this country" in elsewhere


def test_guest_checkout_needs_an_email_and_a_full_address(django_capture_on_commit_callbacks):
    variant = variant_for_sale(price="10.00", stock=3)
    client = Client()
    client.post(url("cart_add"), {"variant": variant.pk, "quantity": "1"})
    page = client.get(url("checkout")).content.decode()
    assert 'name="email"' in page

    missing = client.post(url("checkout"), checkout_post(client, email=None, city=""))
    assert missing.status_code == 422
    body = missing.content.decode()
    assert body.count('class="field-error"') >= 2
    assert not Order.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post(url("checkout"), checkout_post(client, email="guest@example.com"))
    assert placed.status_code == 302, placed.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.buyer, order.email, order.status) == (None, "guest@example.com", OrderStatus.PAID)
    confirmation = client.get(placed["Location"]).content.decode()
    assert order.number in confirmation and "guest@example.com" in confirmation
    assert any("guest@example.com" in m.to for m in mail.outbox)


def test_a_country_the_shop_does_not_deliver_to_is_refused_with_a_message():
    variant = variant_for_sale(stock=3)
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)
    response = client.post(url("checkout"), checkout_post(client, country="JP"))
    assert response.status_code == 422
    assert "does not deliver to Japan" in response.content.decode()
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 3


def test_a_double_submit_places_one_order():
    variant = variant_for_sale(stock=5)
    user = UserFactory()
    cart_with(user, (variant, 2))
    client = logged_in(user)
    data = checkout_post(client)
    first = client.post(url("checkout"), data)
    second = client.post(url("checkout"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 3


def test_a_declined_card_says_so_and_the_stock_is_unchanged():
    variant = variant_for_sale(stock=4)
    user = UserFactory()
    cart_with(user, (variant, 2))
    client = logged_in(user)
    declined = client.post(url("checkout"), checkout_post(client, payment_method="sandbox_decline"))
    assert declined.status_code == 402
    body = declined.content.decode()
    assert "The payment was declined" in body
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 4
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert CartItem.objects.get().quantity == 2  # still in the cart to try again
    # A new key comes with the refused form: another card goes through.
    again = client.post(url("checkout"), {**checkout_post(client), "idempotency_key": key_of(declined)})
    assert again.status_code == 302
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 1


def test_an_empty_cart_has_nothing_to_check_out():
    client = logged_in(UserFactory())
    assert "Your cart is empty." in client.get(url("checkout")).content.decode()
    refused = client.post(
        url("checkout"), {**ADDRESS, "payment_method": "sandbox_card", "idempotency_key": "k1", "action": "place"}
    )
    assert refused.status_code == 422
    assert "Your cart is empty" in refused.content.decode()


def test_payment_unknown_shows_pending_and_pay_again_after_a_failure():
    variant = variant_for_sale(stock=4)
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)
    placed = client.post(url("checkout"), checkout_post(client, payment_method="sandbox_timeout"))
    assert placed.status_code == 302
    pending = client.get(placed["Location"])
    assert "We are confirming your payment" in pending.content.decode()
    assert 'hx-trigger="every 5s"' in pending.content.decode()


def test_confirmation_is_only_for_its_buyer():
    variant = variant_for_sale(stock=4)
    checkout = buy(UserFactory(), (variant, 1))
    assert logged_in(UserFactory()).get(url("checkout_done", checkout.public_id)).status_code == 404
    assert Client().get(url("checkout_done", checkout.public_id)).status_code == 404
    assert Client().get(url("checkout_done", "nope")).status_code == 404


# --- my orders ------------------------------------------------------------------------------
def test_my_orders_and_the_timeline(django_assert_max_num_queries):
    user = UserFactory()
    for _ in range(3):
        buy(user, (variant_for_sale(stock=4), 1))
    client = logged_in(user)
    with django_assert_max_num_queries(9):  # measured: 7
        page = client.get(url("orders"))
    body = page.content.decode()
    orders = list(Order.objects.filter(buyer=user))
    for order in orders:
        assert order.number in body
    detail = client.get(url("order", orders[0].number)).content.decode()
    assert "Timeline" in detail and "Placed, awaiting payment" in detail and "Paid" in detail
    assert "Cancel the order" in detail and "Ask for a refund" in detail
    assert "Return items" not in detail  # not delivered yet


def test_another_persons_order_is_a_404_and_strangers_sign_in_first():
    order = buy(UserFactory(), (variant_for_sale(), 1)).orders.get()
    intruder = logged_in(UserFactory())
    assert intruder.get(url("order", order.number)).status_code == 404
    assert intruder.post(url("order_cancel", order.number)).status_code == 404
    assert intruder.post(url("order_refund", order.number), {"refund-reason": "mine"}).status_code == 404
    assert Client().get(url("orders")).status_code == 302
    assert Client().get(url("order", order.number)).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_shopper_cancels_asks_for_refund_and_return():
    user = UserFactory()
    client = logged_in(user)
    variant = variant_for_sale(stock=5)
    first = buy(user, (variant, 2)).orders.get()
    cancelled = client.post(url("order_cancel", first.number), {"cancel-reason": ""})
    assert cancelled.status_code == 302
    first.refresh_from_db()
    assert first.status == OrderStatus.CANCELLED
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 5  # given back

    second = buy(user, (variant, 1)).orders.get()
    no_reason = client.post(url("order_refund", second.number), {"refund-reason": ""})
    assert no_reason.status_code == 422
    assert client.post(url("order_refund", second.number), {"refund-reason": "Wrong size"}).status_code == 302
    second.refresh_from_db()
    assert (second.status, second.request_reason) == (OrderStatus.REFUND_REQUESTED, "Wrong size")

    third = buy(user, (variant, 1)).orders.get()
    staff = MembershipFactory(shop=third.shop, role=Role.OWNER).user
    order_services.ship_order(actor=staff, order=third, tracking_number="LV123")
    order_services.mark_delivered(actor=staff, order=third)
    page = client.get(url("order", third.number)).content.decode()
    assert "Return items" in page and "LV123" in page
    assert client.post(url("order_return", third.number), {"return-reason": "Too small"}).status_code == 302
    third.refresh_from_db()
    assert third.status == OrderStatus.RETURN_REQUESTED
    assert ledger_is_balanced()


# --- guest links ----------------------------------------------------------------------------
def test_guest_sees_the_order_through_the_emailed_link_and_claims_it(django_capture_on_commit_callbacks):
    variant = variant_for_sale(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        checkout = buy(None, (variant, 1), email="Guest@Example.com")
    order = checkout.orders.get()
    token = order_services.claim_token(checkout)
    link = url("order_claim", token)
    assert any(link in m.body for m in mail.outbox), "the confirmation e-mail has the link"

    page = Client().get(link)
    assert page.status_code == 200
    assert order.number in page.content.decode()
    detail = Client().get(url("guest_order", token, order.number))
    assert detail.status_code == 200 and "Timeline" in detail.content.decode()
    assert Client().get(url("order_claim", "forged-token")).status_code == 404
    assert Client().get(url("guest_order", token, "NOPE")).status_code == 404

    other = logged_in(UserFactory(email="other@example.com"))
    refused = other.post(link)
    assert refused.status_code == 422
    assert "another e-mail address" in refused.content.decode()

    owner = UserFactory(email="guest@example.com")
    client = logged_in(owner)
    claimed = client.post(link)
    assert claimed.status_code == 302 and claimed["Location"] == url("orders")
    order.refresh_from_db()
    assert order.buyer == owner
    assert order.number in client.get(url("orders")).content.decode()
    # The link no longer shows the orders to others.
    assert order.number not in Client().get(link).content.decode()


# --- the shop's orders ----------------------------------------------------------------------
def _paid_order(shop: Any, **kwargs: Any) -> Order:
    return buy(UserFactory(), (variant_for_sale(shop, **kwargs), 1)).orders.get()


def test_staff_list_orders_by_status_within_a_query_budget(django_assert_max_num_queries):
    shop, owner = selling_shop()
    orders = [_paid_order(shop) for _ in range(4)]
    order_services.ship_order(actor=owner, order=orders[0], tracking_number="T1")
    client = logged_in(owner)
    with django_assert_max_num_queries(12):  # measured: 10
        page = client.get(url("shop_orders", shop.slug))
    body = page.content.decode()
    assert all(o.number in body for o in orders)
    shipped = client.get(url("shop_orders", shop.slug), {"status": "shipped"}).content.decode()
    assert orders[0].number in shipped and orders[1].number not in shipped
    open_ = client.get(url("shop_orders", shop.slug), {"status": "open"}).content.decode()
    assert orders[0].number not in open_ and orders[1].number in open_


def test_staff_ship_deliver_and_the_shopper_sees_it():
    shop, _owner = selling_shop()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    order = _paid_order(shop)
    client = logged_in(support)

    page = client.get(url("dashboard_order", shop.slug, order.number)).content.decode()
    assert "Mark shipped" in page
    assert url("dashboard_order_refund", shop.slug, order.number) not in page  # support does not refund
    no_tracking = client.post(url("dashboard_order_ship", shop.slug, order.number), {"tracking_number": ""})
    assert no_tracking.status_code == 422
    shipped = client.post(url("dashboard_order_ship", shop.slug, order.number), {"tracking_number": "LV-777"})
    assert shipped.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (OrderStatus.SHIPPED, "LV-777")
    buyer_page = logged_in(order.buyer).get(url("order", order.number)).content.decode()
    assert "Shipped" in buyer_page and "LV-777" in buyer_page

    # Support fulfils but does not refund.
    assert client.post(url("dashboard_order_refund", shop.slug, order.number), {}).status_code == 403
    assert client.post(url("dashboard_order_deliver", shop.slug, order.number)).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_owner_refunds_lines_and_accepts_a_return():
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="10.00", stock=10)
    order = buy(UserFactory(), (variant, 3)).orders.get()
    line = order.lines.get()
    client = logged_in(owner)

    refunded = client.post(
        url("dashboard_order_refund", shop.slug, order.number),
        {f"line_{line.pk}": "1", "reason": "One was damaged", "restock": "on"},
    )
    assert refunded.status_code == 302, refunded.content.decode()[:2000]
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("10.000"))
    too_much = client.post(url("dashboard_order_refund", shop.slug, order.number), {"amount": "1000"})
    assert too_much.status_code == 422
    assert "can still be refunded" in too_much.content.decode()

    order_services.ship_order(actor=owner, order=order, tracking_number="T")
    order_services.mark_delivered(actor=owner, order=order)
    order_services.request_return(actor=order.buyer, order=order, reason="Not as pictured")
    page = client.get(url("dashboard_order", shop.slug, order.number)).content.decode()
    assert "Not as pictured" in page and "Accept the return" in page
    accepted = client.post(url("dashboard_order_accept_return", shop.slug, order.number))
    assert accepted.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert ledger_is_balanced()


def test_decline_a_refund_request():
    shop, owner = selling_shop()
    order = _paid_order(shop)
    order_services.request_refund(actor=order.buyer, order=order, reason="Changed my mind")
    client = logged_in(owner)
    assert (
        client.post(url("dashboard_order_decline", shop.slug, order.number), {"note": "Already packed"}).status_code
        == 302
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_another_shops_orders_are_out_of_reach():
    shop, _owner = selling_shop()
    order = _paid_order(shop)
    other_shop, other_owner = selling_shop()
    intruder = logged_in(other_owner)
    assert intruder.get(url("dashboard_order", other_shop.slug, order.number)).status_code == 404
    assert (
        intruder.post(url("dashboard_order_ship", other_shop.slug, order.number), {"tracking_number": "X"}).status_code
        == 404
    )
    assert intruder.get(url("shop_orders", shop.slug)).status_code == 403
    assert intruder.get(url("dashboard_order", shop.slug, order.number)).status_code == 403
    assert Client().get(url("shop_orders", shop.slug)).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


# --- balance and sales policy -------------------------------------------------------------
def test_balance_page_with_ledger_and_chart(django_assert_max_num_queries):
    shop, owner = selling_shop()
    order = _paid_order(shop, price="50.00")
    order_services.ship_order(actor=owner, order=order, tracking_number="T")
    order_services.mark_delivered(actor=owner, order=order)
    client = logged_in(owner)
    with django_assert_max_num_queries(13):  # measured: 12
        page = client.get(url("shop_balance", shop.slug))
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "<polyline" in body
    assert "Order paid" in body and order.number in body
    # 50 + 4.90 delivery, minus 10 % commission, is now payable.
    assert "€49.41" in body
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    assert logged_in(manager).get(url("shop_balance", shop.slug)).status_code == 403
    assert url("shop_balance", shop.slug) not in logged_in(manager).get(url("shop_orders", shop.slug)).content.decode()


def test_sales_policy_sets_the_return_window():
    shop, owner = selling_shop()
    client = logged_in(owner)
    page = client.get(url("sales_policy", shop.slug))
    assert page.status_code == 200 and "10 %" in page.content.decode()
    bad = client.post(url("sales_policy", shop.slug), {"return_window_days": "400"})
    assert bad.status_code == 422
    saved = client.post(url("sales_policy", shop.slug), {"return_window_days": "30"})
    assert saved.status_code == 302
    from agora.orders.selectors import return_window_days

    assert return_window_days(shop) == 30
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    assert logged_in(support).post(url("sales_policy", shop.slug), {"return_window_days": "0"}).status_code == 403


def test_dashboard_tabs_link_orders_delivery_and_balance():
    shop, owner = selling_shop()
    body = logged_in(owner).get(url("shop_dashboard", shop.slug)).content.decode()
    for name in ("shop_orders", "delivery", "shop_balance", "sales_policy"):
        assert url(name, shop.slug) in body


def test_buying_pages_answer_their_owner():
    """A smoke test of every buyer template with a paid order in place."""
    user = UserFactory()
    checkout = buy(user, (variant_for_sale(), 1))
    order = checkout.orders.get()
    client = logged_in(user)
    for path in (
        url("cart"),
        url("checkout"),
        url("orders"),
        url("order", order.number),
        url("checkout_done", checkout.public_id),
    ):
        assert client.get(path).status_code == 200, path


def test_stripe_card_is_confirmed_on_the_confirmation_page(settings):
    from agora.payments.models import Payment

    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_123"
    variant = variant_for_sale(stock=4)
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)
    placed = client.post(url("checkout"), checkout_post(client, payment_method="sandbox_timeout"))
    Payment.objects.update(status="requires_action", client_secret="pi_1_secret_2")
    body = client.get(placed["Location"]).content.decode()
    assert "Confirm your payment" in body
    assert 'data-secret="pi_1_secret_2"' in body and 'data-key="pk_test_123"' in body
    assert "https://js.stripe.com/v3/" in body
    # Back from Stripe.js: the page waits for the webhook.
    waiting = client.get(placed["Location"], {"confirmed": "1"}).content.decode()
    assert "We are confirming your payment" in waiting and "js.stripe.com" not in waiting


def test_pay_again_after_the_payment_did_not_finish():
    from agora.payments.models import Payment

    variant = variant_for_sale(stock=4)
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)
    placed = client.post(url("checkout"), checkout_post(client, payment_method="sandbox_timeout"))
    checkout = Checkout.objects.get()
    # The gateway never heard of it (failed for good): the shopper pays again while the stock is reserved.
    Payment.objects.update(status="failed", failure_message="The card was declined.")
    page = client.get(placed["Location"]).content.decode()
    assert "Your order is waiting for payment" in page and "Pay now" in page
    paid = client.post(url("checkout_pay", checkout.public_id), {"payment_method": "sandbox_card"})
    assert paid.status_code == 302
    assert Order.objects.get().status == OrderStatus.PAID
    assert (
        logged_in(UserFactory())
        .post(url("checkout_pay", checkout.public_id), {"payment_method": "sandbox_card"})
        .status_code
        == 404
    )


def test_a_price_that_went_up_during_checkout_is_shown_and_confirmed_again():
    variant = variant_for_sale(price="10.00", stock=4, title="Mug")
    user = UserFactory()
    cart_with(user, (variant, 1))
    client = logged_in(user)
    data = checkout_post(client)
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("11.00"))
    changed = client.post(url("checkout"), data)
    assert changed.status_code == 409
    assert "Prices went up" in changed.content.decode() and "€15.90" in changed.content.decode()
    assert not Order.objects.exists()
    confirmed = client.post(url("checkout"), {**data, "idempotency_key": key_of(changed)})
    assert confirmed.status_code == 302
    assert Order.objects.get().subtotal == Decimal("11.000")

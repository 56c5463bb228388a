"""The orders API: guests and their cart token, bad input, permissions (404 for what is not yours), staff
endpoints, money endpoints and query budgets."""

from __future__ import annotations

import uuid

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services
from agora.orders.models import Cart, CartItem, Order
from agora.orders.tests.factories import ADDRESS, CARD, buy, selling_shop, variant_for_sale
from agora.payments.models import Payment
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def guest_headers(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Cart-Token": token}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def test_guest_buys_with_a_cart_token(api, django_capture_on_commit_callbacks, mailoutbox):
    variant = variant_for_sale(stock=3)
    r = api.call("GET", "cart")
    assert r.status_code == 200 and r.json()["count"] == 0 and r.json()["token"] is None
    r = api.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 2})
    assert r.status_code == 200
    token = r.json()["token"]
    assert token and Cart.objects.get(token=token)
    # Without the token the guest is a stranger to that cart.
    assert api.call("GET", "cart").json()["count"] == 0
    assert api.call("GET", "cart", headers=guest_headers(token)).json()["count"] == 2
    r = api.call("PATCH", f"cart/items/{variant.pk}", {"quantity": 1}, headers=guest_headers(token))
    assert r.json()["count"] == 1

    payload = {"address": ADDRESS, "payment_method": CARD}
    r = api.call("POST", "checkout", payload, headers=guest_headers(token, str(uuid.uuid4())))
    assert r.status_code == 422 and r.json()["field"] == "email"
    with django_capture_on_commit_callbacks(execute=True):
        r = api.call("POST", "checkout", {**payload, "email": "guest@example.com"}, headers=guest_headers(token, "k-1"))
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "paid" and body["email"] == "guest@example.com"
    assert api.call("GET", f"checkouts/{body['id']}", headers=guest_headers(token)).status_code == 200
    assert api.call("GET", f"checkouts/{body['id']}").status_code == 404
    assert any("/orders/claim/" in m.body for m in mailoutbox)


def test_claim_through_the_api(api_as):
    variant = variant_for_sale()
    checkout = buy(None, (variant, 1), email="claimer@example.com")
    token = services.claim_token(checkout)
    stranger = api_as(UserFactory())
    r = stranger.call("POST", "orders/claim", {"token": token})
    assert r.status_code == 422 and r.json()["code"] == "claim_email_mismatch"
    owner = api_as(UserFactory(email="claimer@example.com"))
    r = owner.call("POST", "orders/claim", {"token": token})
    assert r.status_code == 200
    number = checkout.orders.get().number
    assert [o["number"] for o in r.json()["orders"]] == [number]
    assert owner.call("GET", f"orders/{number}").status_code == 200


def test_idempotency_key_with_another_body_is_refused(api_as):
    variant = variant_for_sale(stock=5)
    user = UserFactory()
    me = api_as(user)
    me.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 1})
    payload = {"address": ADDRESS, "payment_method": CARD}
    assert me.call("POST", "checkout", payload, headers={"Idempotency-Key": "same"}).status_code == 201
    r = me.call(
        "POST", "checkout", {**payload, "payment_method": "sandbox_decline"}, headers={"Idempotency-Key": "same"}
    )
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1 and Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"variant_id": 999999, "quantity": 1}, 422, "item_unavailable"),
        ({"variant_id": "{v}", "quantity": 0}, 422, "quantity_invalid"),
        ({"variant_id": "{v}", "quantity": 99}, 422, "quantity_invalid"),
        ({"variant_id": "{v}", "quantity": "2"}, 422, "invalid"),
        ({"variant_id": "{v}", "quantity": 1.0}, 422, "invalid"),
        ({"variant_id": 0, "quantity": 1}, 422, "invalid"),
    ],
)
def test_bad_cart_input(api_as, body, status, code):
    variant = variant_for_sale(stock=5)
    body = {k: (variant.pk if v == "{v}" else v) for k, v in body.items()}
    r = api_as(UserFactory()).call("POST", "cart/items", body)
    assert r.status_code == status, r.json()
    assert r.json()["code"] == code
    assert not CartItem.objects.exists()


def test_bad_checkout_input(api_as):
    eur = variant_for_sale(stock=5)
    usd = variant_for_sale(selling_shop(currency="USD")[0], stock=5)
    me = api_as(UserFactory())
    payload = {"address": ADDRESS, "payment_method": CARD}
    r = me.call("POST", "checkout", payload)
    assert r.status_code == 422 and r.json()["code"] == "cart_empty"
    me.call("POST", "cart/items", {"variant_id": eur.pk, "quantity": 1})
    r = me.call("POST", "checkout", {**payload, "address": {**ADDRESS, "postcode": ""}})
    assert r.status_code == 422 and r.json()["field"] == "address.postcode"
    r = me.call("POST", "checkout", {**payload, "address": {**ADDRESS, "country": "JP"}})
    assert r.status_code == 422 and r.json()["code"] == "delivery_unavailable"
    me.call("POST", "cart/items", {"variant_id": usd.pk, "quantity": 1})
    r = me.call("POST", "checkout", payload)
    assert r.status_code == 422 and r.json()["code"] == "currency_mismatch"
    assert r.json()["currencies"] == ["EUR", "USD"]
    r = me.call("POST", "checkout", {**payload, "payment_method": "sandbox_decline", "currency": "EUR"})
    assert r.status_code == 402 and r.json()["code"] == "payment_declined"
    assert Order.objects.get().status == "cancelled"
    r = me.call("POST", "checkout", {**payload, "currency": "USD"})
    assert r.status_code == 201 and r.json()["currency"] == "USD"
    assert ledger_is_balanced()


def test_sold_out_is_409_naming_the_product(api_as):
    variant = variant_for_sale(stock=1, title="Only one")
    first, second = api_as(UserFactory()), api_as(UserFactory())
    for client in (first, second):
        client.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 1})
    payload = {"address": ADDRESS, "payment_method": CARD}
    assert first.call("POST", "checkout", payload).status_code == 201
    r = second.call("POST", "checkout", payload)
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    assert "Only one" in r.json()["detail"]
    assert Payment.objects.count() == 1


def test_preview_shows_delivery_options_and_totals(api_as):
    shop, _ = selling_shop()
    variant = variant_for_sale(shop, price="20.00")
    me = api_as(UserFactory())
    me.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 2})
    r = me.call("POST", "checkout/preview", {"country": "LV"})
    body = r.json()
    assert r.status_code == 200 and body["ready"] is True
    assert body["subtotal"] == "40.00" and body["delivery_total"] == "4.90" and body["total"] == "44.90"
    assert body["groups"][0]["delivery"]["name"]
    r = me.call("POST", "checkout/preview", {"country": "JP"})
    assert r.json()["ready"] is False and r.json()["problems"]


def test_nobody_sees_or_changes_anothers_orders(api_as):
    shop, owner = selling_shop()
    other_shop, other_owner = selling_shop()
    variant = variant_for_sale(shop)
    buyer = UserFactory()
    number = buy(buyer, (variant, 1)).orders.get().number
    stranger = api_as(UserFactory())
    for method, path, body in [
        ("GET", f"orders/{number}", None),
        ("POST", f"orders/{number}/cancel", {}),
        ("POST", f"orders/{number}/refund-request", {"reason": "x"}),
        ("GET", f"shops/{shop.slug}/orders", None),
        ("GET", f"shops/{shop.slug}/orders/{number}", None),
        ("POST", f"shops/{shop.slug}/orders/{number}/ship", {"tracking_number": "X"}),
        ("POST", f"shops/{shop.slug}/orders/{number}/refund", {}),
        ("GET", f"shops/{shop.slug}/balance", None),
    ]:
        r = stranger.call(method, path, body)
        assert r.status_code == 404, (path, r.json())
    # Another shop's owner sees nothing of this shop, even through their own shop's URL.
    other = api_as(other_owner)
    assert other.call("GET", f"shops/{shop.slug}/orders").status_code == 404
    assert other.call("GET", f"shops/{other_shop.slug}/orders/{number}").status_code == 404
    # The shop's owner does not see it as a buyer.
    assert api_as(owner).call("GET", f"orders/{number}").status_code == 404
    assert api_as(buyer).call("GET", "orders").json()["count"] == 1
    assert stranger.call("GET", "orders").json()["count"] == 0
    assert Order.objects.get().status == "paid"


def test_carts_are_private(api, api_as):
    variant = variant_for_sale()
    owner = UserFactory()
    api_as(owner).call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 1})
    intruder = api_as(UserFactory())
    assert intruder.call("GET", "cart").json()["count"] == 0
    assert intruder.call("DELETE", f"cart/items/{variant.pk}").status_code == 404
    guest = api.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 1}).json()["token"]
    # A signed-in user sending someone's guest token still gets their own cart.
    assert intruder.call("GET", "cart", headers={"X-Cart-Token": guest}).json()["count"] == 0
    assert CartItem.objects.filter(cart__user=owner).count() == 1


def test_staff_endpoints_and_support_limits(api_as, django_assert_max_num_queries):
    shop, owner = selling_shop()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    variant = variant_for_sale(shop, stock=20)
    numbers = [buy(None, (variant, 1)).orders.get().number for _ in range(5)]
    staff, helper, boss = api_as(owner), api_as(support), api_as(manager)
    with django_assert_max_num_queries(12):
        r = helper.call("GET", f"shops/{shop.slug}/orders", {"status": "open"})
    assert r.status_code == 200 and r.json()["count"] == 5
    assert r.json()["items"][0]["buyer"]
    r = helper.call("POST", f"shops/{shop.slug}/orders/{numbers[0]}/ship", {"tracking_number": "TRK"})
    assert r.status_code == 200 and "delivered" in r.json()["actions"]
    assert helper.call("POST", f"shops/{shop.slug}/orders/{numbers[1]}/refund", {}).status_code == 403
    assert helper.call("GET", f"shops/{shop.slug}/balance").status_code == 403
    assert boss.call("GET", f"shops/{shop.slug}/balance").status_code == 403  # finances: owners only
    r = boss.call(
        "POST",
        f"shops/{shop.slug}/orders/{numbers[1]}/refund",
        {"amount": "5.00", "reason": "Dent"},
        headers={"Idempotency-Key": "refund-1"},
    )
    assert r.status_code == 200 and r.json()["status"] == "partially_refunded"
    again = boss.call(
        "POST",
        f"shops/{shop.slug}/orders/{numbers[1]}/refund",
        {"amount": "5.00", "reason": "Dent"},
        headers={"Idempotency-Key": "refund-1"},
    )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert Payment.objects.filter(refunded_amount__gt=0).count() == 1
    r = boss.call("POST", f"shops/{shop.slug}/orders/{numbers[2]}/refund", {"amount": "1000.00"})
    assert r.status_code == 422
    r = staff.call("GET", f"shops/{shop.slug}/balance")
    assert r.status_code == 200 and r.json()[0]["currency"] == "EUR"
    with django_assert_max_num_queries(8):
        r = staff.call("GET", f"shops/{shop.slug}/ledger")
    kinds = {m["kind"] for m in r.json()["items"]}
    assert {"order_paid", "commission", "refund", "commission_refund"} <= kinds
    r = staff.call("GET", f"shops/{shop.slug}/orders/{numbers[0]}")
    assert [e["to_status"] for e in r.json()["timeline"]] == ["placed", "paid", "shipped"]
    assert r.json()["timeline"][-1]["actor"] == support.username
    assert ledger_is_balanced()


def test_shopper_order_list_query_budget(api_as, django_assert_max_num_queries):
    user = UserFactory()
    for _ in range(6):
        buy(user, (variant_for_sale(), 2))
    me = api_as(user)
    with django_assert_max_num_queries(8):
        r = me.call("GET", "orders")
    assert r.json()["count"] == 6 and len(r.json()["items"][0]["lines"]) == 1


def test_sales_policy_endpoints(api_as):
    shop, owner = selling_shop()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    r = api_as(owner).call("GET", f"shops/{shop.slug}/sales-policy")
    assert r.json() == {"return_window_days": 14, "commission_rate": "0.10", "commission_rate_is_default": True}
    r = api_as(owner).call("PATCH", f"shops/{shop.slug}/sales-policy", {"return_window_days": 30})
    assert r.status_code == 200 and r.json()["return_window_days"] == 30
    r = api_as(owner).call("PATCH", f"shops/{shop.slug}/sales-policy", {"commission_rate": "0.01"})
    assert r.status_code == 403
    assert (
        api_as(support).call("PATCH", f"shops/{shop.slug}/sales-policy", {"return_window_days": 1}).status_code == 403
    )
    assert api_as(UserFactory()).call("GET", f"shops/{shop.slug}/sales-policy").status_code == 404
    r = api_as(UserFactory(is_staff=True)).call("PATCH", f"shops/{shop.slug}/sales-policy", {"commission_rate": "0.08"})
    assert r.status_code == 200 and r.json()["commission_rate"] == "0.0800"


def test_shopper_actions_through_the_api(api_as):
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, stock=3)
    buyer = UserFactory()
    number = buy(buyer, (variant, 1)).orders.get().number
    me = api_as(buyer)
    r = me.call("POST", f"orders/{number}/refund-request", {"reason": ""})
    assert r.status_code == 422
    r = me.call("POST", f"orders/{number}/refund-request", {"reason": "Ordered twice"})
    assert r.status_code == 200 and r.json()["status"] == "refund_requested"
    r = api_as(owner).call("POST", f"shops/{shop.slug}/orders/{number}/decline-request", {"note": "Sent already"})
    assert r.json()["status"] == "paid"
    r = me.call("POST", f"orders/{number}/return-request", {"reason": "x"})
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    r = me.call("POST", f"orders/{number}/cancel", {"reason": "Found it cheaper"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["refunded_amount"] == r.json()["total"]
    assert ledger_is_balanced()

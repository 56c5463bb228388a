"""The whole purchase through the API: cart → checkout → paid → shipped → delivered → return → refunded,
with the ledger balanced after every step."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.ledger.selectors import ledger_is_balanced, shop_balance
from agora.notifications.models import Notification
from agora.orders.models import Order
from agora.orders.tests.factories import ADDRESS, selling_shop, variant_for_sale
from agora.payments.models import Payment
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_full_purchase_flow(api_as, mailoutbox, django_capture_on_commit_callbacks):
    shop, owner = selling_shop()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    first = variant_for_sale(shop, price="12.50", stock=5, title="Linen shirt")
    second = variant_for_sale(shop, price="7.00", stock=2, title="Wool socks")
    shopper = UserFactory()
    me, staff, helper = api_as(shopper), api_as(owner), api_as(support)

    # Cart
    r = me.call("POST", "cart/items", {"variant_id": first.pk, "quantity": 2})
    assert r.status_code == 200, r.json()
    r = me.call("POST", "cart/items", {"variant_id": second.pk, "quantity": 1})
    body = r.json()
    assert body["count"] == 3
    assert body["groups"][0]["subtotal"] == "32.00"
    assert body["token"] is None

    # Checkout
    key = str(uuid.uuid4())
    payload = {"address": ADDRESS, "payment_method": "sandbox_card", "delivery": {}}
    with django_capture_on_commit_callbacks(execute=True):
        r = me.call("POST", "checkout", payload, headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.json()
    checkout = r.json()
    assert checkout["status"] == "paid"
    assert checkout["total"] == "36.90"  # 32.00 + 4.90 delivery
    assert checkout["payment"]["status"] == "captured"
    number = checkout["orders"][0]["number"]
    assert ledger_is_balanced()
    first.refresh_from_db()
    assert first.stock_quantity == 3
    assert me.call("GET", "cart").json()["count"] == 0
    assert any("confirmed" in m.subject for m in mailoutbox)
    assert Notification.objects.filter(recipient=owner, kind="order.new").exists()

    # A retry with the same key replays the answer, charging nothing more.
    r = me.call("POST", "checkout", payload, headers={"Idempotency-Key": key})
    assert r.status_code == 201 and r["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1 and Order.objects.count() == 1

    # Shopper sees the order and its timeline.
    r = me.call("GET", f"orders/{number}")
    assert r.status_code == 200
    assert ledger_is_balanced()
    assert [e["to_status"] for e in r.json()["timeline"]] == ["placed", "paid"]
    assert r.json()["actions"] == ["cancelled", "refund_requested"]

    # Support ships (tracking required), cannot refund.
    r = helper.call("POST", f"shops/{shop.slug}/orders/{number}/ship", {"tracking_number": ""})
    assert r.status_code == 422 and r.json()["field"] == "tracking_number"
    with django_capture_on_commit_callbacks(execute=True):
        r = helper.call("POST", f"shops/{shop.slug}/orders/{number}/ship", {"tracking_number": "LV123"})
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    assert ledger_is_balanced()
    r = helper.call("POST", f"shops/{shop.slug}/orders/{number}/refund", {})
    assert r.status_code == 403

    # Delivered: the shop's earnings become payable.
    r = staff.call("POST", f"shops/{shop.slug}/orders/{number}/deliver", {})
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    assert ledger_is_balanced()
    [balance] = shop_balance(shop)
    assert balance.pending == 0 and balance.payable == Decimal("33.21")  # 36.90 - 10 % commission (3.69)

    # The shopper returns it; the shop accepts: stock back, refund in full, commission given back.
    r = me.call("POST", f"orders/{number}/return-request", {"reason": "Too small"})
    assert r.status_code == 200 and r.json()["status"] == "return_requested"
    assert ledger_is_balanced()
    with django_capture_on_commit_callbacks(execute=True):
        r = staff.call("POST", f"shops/{shop.slug}/orders/{number}/accept-return", {"note": "Received"})
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "returned" and r.json()["refunded_amount"] == "36.90"
    assert ledger_is_balanced()
    [balance] = shop_balance(shop)
    assert balance.total == 0
    first.refresh_from_db()
    assert first.stock_quantity == 5
    assert Payment.objects.get().status == "refunded"
    timeline = [e["to_status"] for e in me.call("GET", f"orders/{number}").json()["timeline"]]
    assert timeline == ["placed", "paid", "shipped", "delivered", "return_requested", "returned"]
    assert Variant.objects.get(pk=second.pk).stock_quantity == 2

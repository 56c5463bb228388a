"""Checkout with Stripe (against the locally served stand-in): the shopper confirms in the browser, the webhook
pays the orders; a confirmation that never comes lets the reservation expire and releases the payment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import ADDRESS, variant_for_sale
from agora.payments.models import Payment, PaymentStatus
from agora.payments.tests.conftest import WEBHOOK_SECRET, stripe_standin  # noqa: F401  (the fixture)
from agora.payments.tests.stripe_standin import sign

pytestmark = pytest.mark.django_db


def test_browser_confirmation_then_webhook_pays_the_order(
    stripe_standin: Any,  # noqa: F811
    api_as: Any,
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    variant = variant_for_sale(price="20.00", stock=3)
    me = api_as(UserFactory())
    me.call("POST", "cart/items", {"variant_id": variant.pk, "quantity": 1})
    r = me.call("POST", "checkout", {"address": ADDRESS, "payment_method": "stripe_card"})
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "awaiting_payment"
    assert body["payment"]["status"] == "requires_action" and body["payment"]["client_secret"]
    payment = Payment.objects.get()
    intent = stripe_standin.intents[payment.gateway_reference]
    intent.update(status="succeeded", amount_received=2490)
    payload = stripe_standin.event("payment_intent.succeeded", stripe_standin.intent(intent["id"]), event_id="evt_o1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/payments/stripe/webhook",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
        )
    assert response.status_code == 200
    assert Order.objects.get().status == OrderStatus.PAID
    assert me.call("GET", f"checkouts/{body['id']}").json()["status"] == "paid"
    assert ledger_is_balanced()


def test_unconfirmed_payment_is_released_when_the_reservation_expires(
    stripe_standin: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    variant = variant_for_sale(stock=3)
    user = UserFactory()
    cart = services.get_cart(user=user, create=True)
    services.add_item(cart, variant_id=variant.pk, quantity=2)
    checkout = services.place_checkout(actor=user, cart=cart, address=ADDRESS, payment_method="stripe_card")
    assert checkout.payment.status == PaymentStatus.REQUIRES_ACTION
    Order.objects.update(reserved_until=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_unpaid_orders() == 1
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 3
    assert Payment.objects.get().status == PaymentStatus.VOIDED

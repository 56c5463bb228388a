"""Checkout under concurrency, on PostgreSQL: never oversell, never charge twice.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_orders``. On SQLite (one writer at a time) these
would pass trivially, so they are skipped there (ADR 0001).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from agora.accounts.services import issue_token
from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.tests.test_races import assert_only, race, split
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services
from agora.orders.errors import RefundInvalid, SoldOut
from agora.orders.models import Checkout, Order, OrderStatus
from agora.orders.tests.factories import ADDRESS, CARD, buy, cart_with, selling_shop, variant_for_sale
from agora.payments.models import Payment, PaymentStatus, SandboxCharge
from conftest import ApiClient

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]


def test_fifty_buyers_for_the_last_ten_units() -> None:
    shop, _owner = selling_shop()
    variant = variant_for_sale(shop, price="25.00", stock=10, title="Hot sneakers")
    # Carts are filled before the race; the threads only check out (and so only need a connection then).
    shoppers = UserFactory.create_batch(50)
    carts = [cart_with(user, (variant, 1)) for user in shoppers]

    def prepare(i: int) -> Callable[[], Any]:
        user, cart = shoppers[i], carts[i]
        return lambda: services.place_checkout(actor=user, cart=cart, address=ADDRESS, payment_method=CARD)

    winners, errors = split(race(50, prepare))

    assert len(winners) == 10
    assert_only(errors, SoldOut)
    assert all(e.code == "sold_out" and "Hot sneakers" in e.message for e in errors)  # type: ignore[attr-defined]
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0
    assert Order.objects.count() == 10
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID}
    # A charge for every sold order and none for the others.
    assert Payment.objects.count() == 10 == SandboxCharge.objects.count()
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.CAPTURED}
    assert set(Order.objects.values_list("payment_id", flat=True)) == set(Payment.objects.values_list("pk", flat=True))
    assert {c.buyer_id for c in Checkout.objects.all()} == {w.buyer_id for w in winners}
    assert ledger_is_balanced()


def test_twenty_concurrent_checkouts_with_one_idempotency_key() -> None:
    variant = variant_for_sale(stock=5)
    user = UserFactory()
    cart_with(user, (variant, 1))
    _token, raw = issue_token(user=user, name="race")
    payload = {"address": ADDRESS, "payment_method": CARD}

    def prepare(i: int) -> Callable[[], Any]:
        client = ApiClient(token=raw)
        return lambda: client.call("POST", "checkout", payload, headers={"Idempotency-Key": "one-key"})

    responses = race(20, prepare)

    assert all(not isinstance(r, BaseException) for r in responses), responses
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {201}, [r.json() for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.get("Idempotent-Replayed") for r in responses].count("true") == 19
    assert Checkout.objects.count() == 1 and Order.objects.count() == 1
    assert Payment.objects.count() == 1 == SandboxCharge.objects.count()
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 4


def test_concurrent_expiry_returns_the_stock_once() -> None:
    variant = variant_for_sale(stock=6)
    for _ in range(3):
        buy(None, (variant, 2), method="sandbox_timeout")
    Payment.objects.update(status=PaymentStatus.FAILED)  # the gateway said no, later: nothing to reconcile
    Order.objects.update(reserved_until=timezone.now() - timedelta(minutes=1))
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0

    expired, errors = split(race(8, lambda i: services.expire_unpaid_orders))

    assert errors == []
    assert sum(expired) == 3
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 6
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.EXPIRED}


def test_concurrent_refunds_never_refund_more_than_paid() -> None:
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="10.00", stock=5)
    order = buy(None, (variant, 1)).orders.get()  # 14.90 with delivery

    def prepare(i: int) -> Callable[[], Any]:
        actor = type(owner).objects.get(pk=owner.pk)
        fresh = Order.objects.select_related("shop").get(pk=order.pk)
        return lambda: services.refund_order(actor=actor, order=fresh, amount="5.00", reason=f"r{i}")

    done, errors = split(race(8, prepare))

    assert len(done) == 2  # 2 × 5.00 fit in 14.90, a third does not
    assert_only(errors, RefundInvalid)
    order.refresh_from_db()
    assert order.refunded_amount == 10 and order.status == OrderStatus.PARTIALLY_REFUNDED
    assert Payment.objects.get().refunded_amount == 10
    assert ledger_is_balanced()

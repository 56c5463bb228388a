"""The second read's fixes under concurrency, on PostgreSQL: a refund form sent many times at once refunds once; a
Stripe dashboard refund delivered by several webhook events at once reaches the order once.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_<you>``; skipped on SQLite (one writer at a time).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from agora.accounts.tests.factories import UserFactory
from agora.core.tests.test_races import race
from agora.ledger.models import Kind, LedgerTransaction
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import Order, OrderStatus, RefundRecord
from agora.orders.tests.factories import buy, selling_shop, variant_for_sale
from agora.payments.models import Refund
from agora.payments.tests.conftest import WEBHOOK_SECRET, stripe_standin  # noqa: F401  (the fixture)
from agora.payments.tests.stripe_standin import StripeStandIn, sign

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]


def test_a_refund_form_sent_eight_times_at_once_refunds_once() -> None:
    shop, owner = selling_shop()
    order = buy(UserFactory(), (variant_for_sale(shop, price="10.00", stock=5), 3)).orders.get()
    path = reverse("web:dashboard_order_refund", args=[shop.slug, order.number])
    form = {"amount": "5.00", "reason": "Scratched", "idempotency_key": "refund-form-1"}

    def prepare(i: int) -> Callable[[], Any]:
        client = Client()
        client.force_login(owner)
        return lambda: client.post(path, form).status_code

    outcomes = race(8, prepare)

    assert all(o in (302, 409) for o in outcomes), outcomes
    assert 302 in outcomes
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert Refund.objects.count() == 1 and RefundRecord.objects.count() == 1
    assert ledger_is_balanced()


def test_a_dashboard_refund_delivered_by_five_events_at_once_reaches_the_order_once(
    stripe_standin: StripeStandIn,  # noqa: F811
) -> None:
    order = buy(UserFactory(), (variant_for_sale(price="10.00"), 2), method="stripe_card:pm_card_visa").orders.get()
    intent_id = order.payment.gateway_reference
    stripe_standin.refund_outside(intent_id, 500)
    charge = stripe_standin.intent(intent_id, expand_charge=True)["latest_charge"]

    def prepare(i: int) -> Callable[[], Any]:
        payload = stripe_standin.event("charge.refunded", charge, event_id=f"evt_at_once_{i}")
        headers = {"Stripe-Signature": sign(payload, WEBHOOK_SECRET)}
        client = Client()
        return lambda: (
            client.post(
                "/payments/stripe/webhook", payload, content_type="application/json", headers=headers
            ).status_code
        )

    assert race(5, prepare) == [200] * 5

    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert RefundRecord.objects.count() == 1 and Refund.objects.count() == 1
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).count() == 1
    assert ledger_is_balanced()

"""Refunds as the payment gateway reports them (against the Stripe stand-in, never the network).

A refund made in the Stripe dashboard reaches the orders: the order is partially or fully refunded, with an event,
and the ledger gives the money back from the shop's share and the operator's commission on it, once however often
Stripe delivers the webhook. A refund Stripe answers "pending" changes the order only when Stripe settles it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.ledger.models import Account, Kind, LedgerTransaction
from agora.ledger.selectors import account_total, ledger_is_balanced, shop_balance
from agora.orders import services
from agora.orders.models import Checkout, Order, OrderEvent, OrderStatus, RefundRecord
from agora.orders.tests.factories import buy, selling_shop, variant_for_sale
from agora.payments.models import Refund
from agora.payments.tests.conftest import WEBHOOK_SECRET, stripe_standin  # noqa: F401  (the fixture)
from agora.payments.tests.stripe_standin import StripeStandIn, sign

pytestmark = pytest.mark.django_db
S = OrderStatus
CARD = "stripe_card:pm_card_visa"


def webhook(client: Any, standin: StripeStandIn, event_type: str, obj: dict[str, Any], event_id: str) -> Any:
    payload = standin.event(event_type, obj, event_id=event_id)
    response = client.post(
        "/payments/stripe/webhook",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
    )
    assert response.status_code == 200, response.content
    return response.json()


def charge_of(standin: StripeStandIn, checkout: Checkout) -> dict[str, Any]:
    return standin.intent(checkout.payment.gateway_reference, expand_charge=True)["latest_charge"]


@pytest.fixture
def sale(stripe_standin: StripeStandIn) -> Any:  # noqa: F811
    """A paid order of 3 × 10.00 + 4.90 delivery = 34.90 (commission 3.49) through Stripe."""
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="10.00", stock=10)
    checkout = buy(UserFactory(), (variant, 3), method=CARD)
    order = checkout.orders.get()
    assert (order.status, order.total, order.commission) == (S.PAID, Decimal("34.90"), Decimal("3.49"))
    return shop, owner, variant, checkout, order


def test_a_partial_refund_made_in_the_stripe_dashboard_refunds_the_order(sale, stripe_standin, client):  # noqa: F811
    shop, owner, variant, checkout, order = sale

    stripe_standin.refund_outside(checkout.payment.gateway_reference, 1000)
    outcome = webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_r1")

    assert outcome["outcome"] == "processed"
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("10.00"))
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.to_status, event.amount, event.actor_role) == (S.PARTIALLY_REFUNDED, Decimal("10.00"), "system")
    assert "outside Agora" in event.note
    record = RefundRecord.objects.get(order=order)
    assert (record.status, record.amount, record.commission_back) == ("done", Decimal("10.00"), Decimal("1.00"))
    assert record.payment_refund_id == Refund.objects.get().pk and not record.restock
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).count() == 1
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.COMMISSION_REFUND).count() == 1
    # The shop had 34.90 - 3.49 pending; the refund takes 10.00 back, the operator gives 1.00 of its commission.
    [balance] = shop_balance(shop)
    assert balance.pending == Decimal("34.90") - Decimal("3.49") - Decimal("10.00") + Decimal("1.00")
    assert account_total(Account.COMMISSION, "EUR") == Decimal("-2.49")
    assert ledger_is_balanced()
    assert variant.__class__.objects.get(pk=variant.pk).stock_quantity == 7  # goods not known to be back

    # Stripe delivers again, and with another event id: nothing new.
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_r1")
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_r1_again")
    assert RefundRecord.objects.count() == 1
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).count() == 1
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("10.00")

    # Agora refunds no more than is left.
    staff_left = services.refund_order(actor=owner, order=order)
    assert (staff_left.status, staff_left.refunded_amount) == (S.REFUNDED, Decimal("34.90"))
    assert ledger_is_balanced()
    assert account_total(Account.COMMISSION, "EUR") == Decimal("0")


def test_a_full_refund_in_the_dashboard_refunds_the_order_and_its_commission(sale, stripe_standin, client):  # noqa: F811
    shop, _owner, _variant, checkout, order = sale

    stripe_standin.refund_outside(checkout.payment.gateway_reference, 3490)
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_full")

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.REFUNDED, Decimal("34.90"))
    assert order.closed_at is not None
    assert RefundRecord.objects.get(order=order).commission_back == Decimal("3.49")
    [balance] = shop_balance(shop)
    assert balance.total == 0
    assert account_total(Account.COMMISSION, "EUR") == 0
    assert ledger_is_balanced()


def test_a_dashboard_refund_after_delivery_comes_out_of_the_payable_balance(sale, stripe_standin, client):  # noqa: F811
    shop, owner, _variant, checkout, order = sale
    services.ship_order(actor=owner, order=order, tracking_number="T1")
    services.mark_delivered(actor=owner, order=order)

    stripe_standin.refund_outside(checkout.payment.gateway_reference, 490)
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_late")

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("4.90"))
    [balance] = shop_balance(shop)
    assert balance.pending == 0
    assert balance.payable == Decimal("34.90") - Decimal("3.49") - Decimal("4.90") + Decimal("0.49")
    assert ledger_is_balanced()


def test_a_dashboard_refund_of_a_checkout_with_two_orders_goes_to_the_order_it_matches(
    stripe_standin,  # noqa: F811
    client,
):
    shop_a, _ = selling_shop()
    shop_b, _ = selling_shop(delivery_price="0.00")
    a = variant_for_sale(shop_a, price="10.00")
    b = variant_for_sale(shop_b, price="7.00")
    checkout = buy(UserFactory(), (a, 1), (b, 1), method=CARD)
    order_a, order_b = checkout.orders.order_by("shop_id")
    assert (order_a.total, order_b.total) == (Decimal("14.90"), Decimal("7.00"))

    # Exactly what the second shop's order cost: that order, not the first one.
    stripe_standin.refund_outside(checkout.payment.gateway_reference, 700)
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_b")
    order_a.refresh_from_db()
    order_b.refresh_from_db()
    assert (order_a.status, order_b.status) == (S.PAID, S.REFUNDED)

    # An amount no single order matches fills the orders in turn.
    stripe_standin.refund_outside(checkout.payment.gateway_reference, 500)
    webhook(client, stripe_standin, "charge.refunded", charge_of(stripe_standin, checkout), "evt_a")
    order_a.refresh_from_db()
    assert (order_a.status, order_a.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert ledger_is_balanced()


def test_a_dashboard_refund_found_by_reconciliation_reaches_the_order(sale, stripe_standin):  # noqa: F811
    from agora.payments import services as payments

    _shop, _owner, _variant, checkout, order = sale
    stripe_standin.refund_outside(checkout.payment.gateway_reference, 200)

    payments.reconcile_payment(payment=checkout.payment)

    order.refresh_from_db()
    assert order.refunded_amount == Decimal("2.00")
    assert ledger_is_balanced()


# --- refunds Stripe answers "pending" -------------------------------------------------------------
def test_a_pending_refund_changes_the_order_only_once_stripe_settles_it(sale, stripe_standin, client):  # noqa: F811
    _shop, owner, variant, _checkout, order = sale
    stripe_standin.refund_status = "pending"

    after = services.refund_order(actor=owner, order=order, lines={order.lines.get().pk: 1}, restock=True)

    assert (after.status, after.refunded_amount) == (S.PAID, Decimal("0"))
    record = RefundRecord.objects.get(order=order)
    assert record.status == RefundRecord.PENDING
    assert not LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).exists()
    assert variant.__class__.objects.get(pk=variant.pk).stock_quantity == 7
    # While it is pending, nobody refunds the same thing again.
    with pytest.raises(services.RefundInvalid):
        services.refund_order(actor=owner, order=order, amount="30.00")

    [stripe_refund] = stripe_standin.refunds.values()
    settled = stripe_standin.settle_refund(stripe_refund["id"], "succeeded")
    webhook(client, stripe_standin, "charge.refund.updated", settled, "evt_settled")

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("10.00"))
    record.refresh_from_db()
    assert (record.status, record.commission_back) == (RefundRecord.DONE, Decimal("1.00"))
    assert variant.__class__.objects.get(pk=variant.pk).stock_quantity == 8
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).count() == 1
    assert ledger_is_balanced()
    # The periodic task that finishes interrupted refunds finds nothing left to do.
    services.complete_refund(record)
    assert LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).count() == 1


def test_a_pending_refund_that_fails_leaves_the_order_as_it_was(sale, stripe_standin, client):  # noqa: F811
    _shop, owner, _variant, _checkout, order = sale
    stripe_standin.refund_status = "pending"
    services.refund_order(actor=owner, order=order, amount="5.00")

    [stripe_refund] = stripe_standin.refunds.values()
    failed = stripe_standin.settle_refund(stripe_refund["id"], "failed")
    webhook(client, stripe_standin, "charge.refund.updated", failed, "evt_failed")

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.PAID, Decimal("0"))
    assert RefundRecord.objects.get(order=order).status == RefundRecord.FAILED
    assert not LedgerTransaction.objects.filter(order_id=order.pk, kind=Kind.REFUND).exists()
    # The money can be refunded again.
    stripe_standin.refund_status = "succeeded"
    assert services.refund_order(actor=owner, order=order, amount="5.00").refunded_amount == Decimal("5.00")
    assert Order.objects.get(pk=order.pk).status == S.PARTIALLY_REFUNDED
    assert ledger_is_balanced()


def test_a_pending_refund_is_looked_up_not_sent_again(sale, stripe_standin):  # noqa: F811
    from agora.payments import services as payments

    _shop, owner, _variant, checkout, order = sale
    stripe_standin.refund_status = "pending"
    services.refund_order(actor=owner, order=order, amount="5.00")
    record = RefundRecord.objects.get(order=order)
    # Stripe keeps idempotency keys 24 hours: a create sent again after that would be a second refund.
    stripe_standin._answers.clear()

    payments.reconcile_payment(payment=checkout.payment)
    services.complete_refund(record)

    assert len(stripe_standin.refunds) == 1
    assert RefundRecord.objects.get(pk=record.pk).status == RefundRecord.PENDING
    # Settled at Stripe, with no webhook: reconciliation (and the periodic task) learn it by asking.
    [stripe_refund] = stripe_standin.refunds.values()
    stripe_standin.settle_refund(stripe_refund["id"], "succeeded")
    payments.reconcile_payment(payment=checkout.payment)

    assert len(stripe_standin.refunds) == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("5.00"))
    assert RefundRecord.objects.get(pk=record.pk).status == RefundRecord.DONE
    assert ledger_is_balanced()


def test_an_order_whose_cancellation_is_being_refunded_does_not_ship(sale, stripe_standin, client):  # noqa: F811
    _shop, owner, variant, _checkout, order = sale
    stripe_standin.refund_status = "pending"
    services.cancel_order(actor=order.buyer, order=order, reason="Changed my mind")
    assert Order.objects.get(pk=order.pk).status == S.PAID  # until Stripe makes the refund

    with pytest.raises(services.IllegalTransition):
        services.ship_order(actor=owner, order=order, tracking_number="T1")

    [stripe_refund] = stripe_standin.refunds.values()
    webhook(client, stripe_standin, "charge.refund.updated", stripe_standin.settle_refund(stripe_refund["id"]), "e1")
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (S.CANCELLED, Decimal("34.90"))
    assert variant.__class__.objects.get(pk=variant.pk).stock_quantity == 10
    assert ledger_is_balanced()


def test_the_api_says_a_refund_is_pending(sale, stripe_standin, api_as):  # noqa: F811
    shop, owner, _variant, _checkout, order = sale
    stripe_standin.refund_status = "pending"
    staff = api_as(owner)
    r = staff.call("POST", f"shops/{shop.slug}/orders/{order.number}/refund", {"amount": "5.00"})
    assert r.status_code == 200, r.json()
    assert (r.json()["status"], r.json()["refunded_amount"], r.json()["refund_pending"]) == ("paid", "0.00", True)

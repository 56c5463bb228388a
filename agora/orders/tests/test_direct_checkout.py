"""What orders offers deals: one item bought at a given price, authorised now and captured, repriced, cancelled
or partly refunded later (orders_contract)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.errors import NotAuthenticated
from agora.ledger.selectors import shop_balance
from agora.orders import selectors, services
from agora.orders.errors import IllegalTransition, OrderInvalid, PaymentDeclined, SoldOut
from agora.orders.models import Order, OrderEvent, OrderStatus, RefundRecord
from agora.orders.signals import order_closed_unpaid
from agora.orders.tests.factories import ADDRESS, CARD, buy, selling_shop, variant_for_sale
from agora.payments.models import Payment, PaymentStatus, Refund

pytestmark = pytest.mark.django_db


def stock(variant: Variant) -> int:
    return Variant.objects.get(pk=variant.pk).stock_quantity


def direct(user, variant, **kwargs):
    kwargs.setdefault("quantity", 1)
    kwargs.setdefault("unit_price", Decimal("7.00"))
    kwargs.setdefault("address", ADDRESS)
    kwargs.setdefault("payment_method", CARD)
    return services.place_direct_checkout(actor=user, variant_id=variant.pk, **kwargs)


@pytest.fixture
def closed():
    """The (order number, status) of every order_closed_unpaid sent."""
    seen: list[tuple[str, str]] = []

    def receiver(sender, orders, status, **kwargs):
        seen.extend((order.number, status) for order in orders)

    order_closed_unpaid.connect(receiver, dispatch_uid="test_direct_checkout")
    yield seen
    order_closed_unpaid.disconnect(dispatch_uid="test_direct_checkout")


def authorised_order(user=None, *, price="7.00", quantity=2, capture_kwargs=None):
    """A placed order of 2 units at ``price`` (catalogue 10.00), its payment authorised only."""
    variant = variant_for_sale(price="10.00", stock=5)
    checkout = direct(
        user or UserFactory(),
        variant,
        quantity=quantity,
        unit_price=Decimal(price),
        capture=False,
        purpose="team",
        price_note="Team price",
    )
    return checkout.orders.get(), variant


def test_capture_pays_the_order_at_the_deal_price(balanced, django_capture_on_commit_callbacks):
    variant = variant_for_sale(price="10.00", stock=5)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        checkout = direct(user, variant, quantity=2, price_note="Flash deal", purpose="flash")
    order = checkout.orders.get()
    line = order.lines.get()
    assert (checkout.purpose, checkout.authorise_only) == ("flash", False)
    assert order.status == OrderStatus.PAID
    assert (line.unit_price, line.price_note, line.quantity) == (Decimal("7.00"), "Flash deal", 2)
    assert order.subtotal == Decimal("14.00") and order.total == Decimal("18.90")  # + 4.90 delivery
    assert order.payment.status == PaymentStatus.CAPTURED and order.payment.captured_amount == order.total
    assert stock(variant) == 3
    assert shop_balance(order.shop)[0].pending == order.total - order.commission
    assert selectors.bought_order_count(user) == 1
    assert selectors.bought_order_count(user, shop=selling_shop()[0]) == 0


def test_authorise_only_leaves_the_order_placed_and_keeps_the_authorisation(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order, variant = authorised_order()
    order.refresh_from_db()
    payment = selectors.authorised_payment_of(order)
    assert order.status == OrderStatus.PLACED and order.payment_id is None
    assert payment is not None and payment.status == PaymentStatus.AUTHORIZED and payment.capture is False
    assert payment.amount == order.total
    assert stock(variant) == 3
    # The void task that runs for stray authorisations must leave the one a waiting order still needs.
    services.void_unclaimed(payment.pk)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.AUTHORIZED
    # Paying again is refused while the authorisation holds.
    with pytest.raises(IllegalTransition):
        services.retry_payment(order.checkout, CARD, actor=order.buyer)


def test_claim_raising_rolls_everything_back():
    variant = variant_for_sale(price="10.00", stock=5)
    seen = []

    def claim(checkout, order):
        seen.append(order.number)
        raise SoldOut("The team is full.")

    with pytest.raises(SoldOut, match="team is full"):
        direct(UserFactory(), variant, quantity=2, claim=claim)
    assert seen and not Order.objects.exists() and not Payment.objects.exists()
    assert stock(variant) == 5


def test_sold_out_and_anonymous_are_refused():
    variant = variant_for_sale(price="10.00", stock=1)
    with pytest.raises(SoldOut):
        direct(UserFactory(), variant, quantity=2)
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        direct(AnonymousUser(), variant)
    assert stock(variant) == 1 and not Order.objects.exists()


def test_declined_payment_cancels_returns_stock_and_signals(closed, django_capture_on_commit_callbacks):
    variant = variant_for_sale(price="10.00", stock=5)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PaymentDeclined):
        direct(UserFactory(), variant, quantity=2, capture=False, payment_method="sandbox_decline")
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert stock(variant) == 5
    assert closed == [(order.number, OrderStatus.CANCELLED)]


def test_reprice_then_capture_takes_the_lower_amount(balanced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order, _variant = authorised_order(price="8.00")
    authorised = order.total  # 16.00 + 4.90
    with django_capture_on_commit_callbacks(execute=True):
        order = services.reprice_placed_order(order, unit_price=Decimal("6.50"), note="Team reached 5 members")
        again = services.reprice_placed_order(order, unit_price=Decimal("6.50"))
    assert again.total == order.total == Decimal("17.90")
    assert order.lines.get().unit_price == Decimal("6.50")
    assert order.checkout.__class__.objects.get(pk=order.checkout_id).total == Decimal("17.90")
    assert OrderEvent.objects.filter(order=order, note="Team reached 5 members").count() == 1
    with pytest.raises(OrderInvalid):
        services.reprice_placed_order(order, unit_price=Decimal("9.00"))  # above the authorisation
    with django_capture_on_commit_callbacks(execute=True):
        order = services.capture_placed_order(order)
        assert services.capture_placed_order(order).status == OrderStatus.PAID  # idempotent
    payment = Payment.objects.get()
    assert order.status == OrderStatus.PAID and order.payment_id == payment.pk
    assert payment.captured_amount == Decimal("17.90") < authorised
    assert not Refund.objects.exists()  # nothing "unclaimed": captured == order.total
    with pytest.raises(IllegalTransition):
        services.reprice_placed_order(order, unit_price=Decimal("5.00"))


def test_cancel_placed_order_twice_voids_once(closed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order, variant = authorised_order()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_placed_order(order, note="The team did not fill in time") is True
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_placed_order(order, note="again") is False
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.VOIDED
    assert payment.events.filter(status=PaymentStatus.VOIDED).count() == 1
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert stock(variant) == 5
    assert closed == [(order.number, OrderStatus.CANCELLED)]
    with pytest.raises(IllegalTransition):
        services.capture_placed_order(order)


def test_expiry_closes_through_the_signal(closed, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        order, variant = authorised_order()
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_unpaid_orders() == 1
    assert closed == [(order.number, OrderStatus.EXPIRED)]
    assert Payment.objects.get().status == PaymentStatus.VOIDED
    assert stock(variant) == 5


def test_refund_price_difference_is_idempotent(balanced, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order, _variant = authorised_order(price="8.00")
        order = services.capture_placed_order(order)
    note = "Team reached 5 members: €3.00 back"
    with django_capture_on_commit_callbacks(execute=True):
        first = services.refund_price_difference(order, amount=Decimal("3.00"), idempotency_key="team:1:m:1", note=note)
        second = services.refund_price_difference(
            order, amount=Decimal("3.00"), idempotency_key="team:1:m:1", note=note
        )
    assert first is not None and second is not None and first.pk == second.pk
    assert first.status == RefundRecord.DONE and first.role == "system" and first.lines == {}
    assert RefundRecord.objects.count() == 1 and Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == Decimal("3.00")
    assert order.events.filter(note=note, amount=Decimal("3.00")).exists()
    assert services.refund_price_difference(order, amount=Decimal(0), idempotency_key="zero", note=note) is None
    # A paid order counts as bought once it was paid, even partly refunded.
    assert selectors.bought_order_count(order.buyer, shop=order.shop) == 1


def test_refund_price_difference_needs_a_paid_order(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order, _variant = authorised_order()
    with pytest.raises(IllegalTransition):
        services.refund_price_difference(order, amount=Decimal("1.00"), idempotency_key="k", note="n")
    assert not RefundRecord.objects.exists()


def test_cart_checkout_still_captures_and_counts():
    variant = variant_for_sale(price="10.00", stock=5)
    user = UserFactory()
    assert selectors.bought_order_count(user) == 0
    checkout = buy(user, (variant, 1))
    assert checkout.authorise_only is False and checkout.purpose == ""
    assert checkout.orders.get().status == OrderStatus.PAID
    assert selectors.bought_order_count(user) == 1


def test_cancel_placed_orders_closes_many_at_once_and_voids_each_once(closed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        placed = [authorised_order() for _ in range(3)]
    ids = [order.pk for order, _variant in placed]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_placed_orders([*ids, ids[0]], note="The team did not fill in time") == sorted(ids)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_placed_orders(ids, note="again") == []
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert all(stock(variant) == 5 for _order, variant in placed)
    assert sorted(closed) == sorted((order.number, OrderStatus.CANCELLED) for order, _variant in placed)
    for payment in Payment.objects.all():
        assert payment.status == PaymentStatus.VOIDED
        assert payment.events.filter(status=PaymentStatus.VOIDED).count() == 1
    assert services.cancel_placed_orders([], note="nothing") == []


def test_voids_happen_in_process_when_the_broker_is_away(monkeypatch, django_capture_on_commit_callbacks):
    from agora.orders import tasks

    with django_capture_on_commit_callbacks(execute=True):
        order, _variant = authorised_order()

    def broker_away(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(tasks.void_unclaimed_payments, "delay", broker_away)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_placed_orders([order.pk], note="The team did not fill in time") == [order.pk]
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.VOIDED
    assert payment.events.filter(status=PaymentStatus.VOIDED).count() == 1

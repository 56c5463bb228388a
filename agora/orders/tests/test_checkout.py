"""Checkout through the services: reservation, one order per shop, payment outcomes, guests and bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductStatus, Variant
from agora.ledger.selectors import ledger_is_balanced, shop_balance
from agora.notifications.models import Notification
from agora.orders import selectors, services
from agora.orders.errors import (
    CartChanged,
    CartEmpty,
    CheckoutInvalid,
    ClaimInvalid,
    CurrencyMismatch,
    IllegalTransition,
    ItemUnavailable,
    PaymentDeclined,
    SoldOut,
)
from agora.orders.models import CartItem, Checkout, Order, OrderStatus, ShopSalesPolicy
from agora.orders.tests.factories import ADDRESS, CARD, buy, cart_with, selling_shop, variant_for_sale
from agora.payments import services as payments
from agora.payments.errors import PaymentGatewayFailed
from agora.payments.models import Payment, PaymentStatus, Refund
from agora.shipping.errors import DeliveryUnavailable
from agora.shipping.tests.factories import ships_to

pytestmark = pytest.mark.django_db


def place(cart, user=None, **kwargs):
    kwargs.setdefault("address", ADDRESS)
    kwargs.setdefault("payment_method", CARD)
    return services.place_checkout(actor=user, cart=cart, **kwargs)


def stock(variant: Variant) -> int:
    return Variant.objects.get(pk=variant.pk).stock_quantity


def test_one_checkout_two_shops_two_orders_one_payment(django_capture_on_commit_callbacks):
    shop_a, owner_a = selling_shop()
    shop_b, _ = selling_shop(delivery_price="0.00")
    a = variant_for_sale(shop_a, price="10.00", stock=5)
    b = variant_for_sale(shop_b, price="2.50", stock=5)
    user = UserFactory()
    cart = cart_with(user, (a, 2), (b, 2))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = place(cart, user)
    orders = list(checkout.orders.order_by("shop_id"))
    assert [o.shop for o in orders] == [shop_a, shop_b]
    assert [o.status for o in orders] == ["paid", "paid"]
    assert [o.total for o in orders] == [Decimal("24.90"), Decimal("5.00")]
    assert checkout.total == Decimal("29.90")
    payment = Payment.objects.get()
    assert payment.amount == Decimal("29.90") and payment.status == "captured"
    assert all(o.payment_id == payment.pk for o in orders)
    assert (stock(a), stock(b)) == (3, 3)
    assert not CartItem.objects.filter(cart=cart).exists()
    assert ledger_is_balanced()
    assert shop_balance(shop_a)[0].pending == Decimal("22.41")  # 24.90 - 2.49 commission
    assert Notification.objects.filter(recipient=user, kind="order.paid").count() == 2
    assert Notification.objects.filter(recipient=owner_a, kind="order.new").count() == 1
    assert len([m for m in mail.outbox if user.email in m.to]) == 2


def test_the_reservation_holds_for_the_configured_time(settings):
    settings.AGORA_RESERVATION_MINUTES_USER = 7
    settings.AGORA_RESERVATION_MINUTES_GUEST = 3
    variant = variant_for_sale()
    before = timezone.now()
    user_checkout = buy(None, (variant, 1), method="sandbox_timeout")
    guest_checkout = buy(None, (variant, 1), method="sandbox_timeout", email="guest@example.com")
    assert timedelta(minutes=7) <= user_checkout.reserved_until - before < timedelta(minutes=8)
    assert timedelta(minutes=3) <= guest_checkout.reserved_until - before < timedelta(minutes=4)


def test_declined_card_cancels_the_orders_and_returns_the_stock():
    variant = variant_for_sale(stock=3)
    user = UserFactory()
    cart = cart_with(user, (variant, 2))
    with pytest.raises(PaymentDeclined) as exc:
        place(cart, user, payment_method="sandbox_decline")
    assert exc.value.status == 402
    assert "declined" in exc.value.message
    assert exc.value.extra["reason"] == "card_declined"
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert stock(variant) == 3
    assert CartItem.objects.filter(cart=cart).exists()  # the shopper can try again
    assert ledger_is_balanced() and not shop_balance(variant.shop)


def test_gateway_timeout_leaves_the_order_awaiting_payment_until_reconciled(django_capture_on_commit_callbacks):
    variant = variant_for_sale(stock=3)
    checkout = buy(None, (variant, 1), method="sandbox_timeout")
    order = checkout.orders.get()
    assert order.status == OrderStatus.PLACED
    assert checkout.payment.status == PaymentStatus.UNKNOWN
    assert stock(variant) == 2
    with django_capture_on_commit_callbacks(execute=True):
        payments.reconcile_payment(payment=checkout.payment)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert ledger_is_balanced()


def test_expiry_asks_about_unknown_payments_first():
    variant = variant_for_sale(stock=3)
    checkout = buy(None, (variant, 1), method="sandbox_timeout")
    later = timezone.now() + timedelta(hours=2)
    assert services.expire_unpaid_orders(now=later) == 0
    assert checkout.orders.get().status == OrderStatus.PAID


def test_sold_out_names_the_product_and_changes_nothing():
    variant = variant_for_sale(stock=2, title="Last lamp")
    user = UserFactory()
    cart = cart_with(user, (variant, 2))
    Variant.objects.filter(pk=variant.pk).update(stock_quantity=1)
    with pytest.raises(SoldOut) as exc:
        place(cart, user)
    assert exc.value.status == 409 and exc.value.code == "sold_out"
    assert "Last lamp" in exc.value.message
    assert exc.value.extra["available"] == 1
    assert not Checkout.objects.exists() and not Payment.objects.exists()
    assert stock(variant) == 1


def test_price_went_up_asks_to_confirm_then_goes_through():
    variant = variant_for_sale(price="10.00", stock=3)
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("11.00"))
    with pytest.raises(CartChanged) as exc:
        place(cart, user)
    assert exc.value.extra["changes"][0]["new_price"] == "11.000"
    assert not Order.objects.exists() and stock(variant) == 3
    checkout = place(cart, user)
    assert checkout.orders.get().subtotal == Decimal("11.00")


def test_price_went_down_is_charged_at_the_lower_price():
    variant = variant_for_sale(price="10.00")
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("9.00"))
    assert place(cart, user).orders.get().subtotal == Decimal("9.00")


def test_empty_cart():
    user = UserFactory()
    cart = services.get_cart(user=user, create=True)
    with pytest.raises(CartEmpty):
        place(cart, user)


@pytest.mark.parametrize("missing", ["name", "line1", "city", "postcode", "country"])
def test_missing_address_fields_are_named(missing):
    variant = variant_for_sale()
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    with pytest.raises(CheckoutInvalid) as exc:
        place(cart, user, address={**ADDRESS, missing: " "})
    assert exc.value.field == f"address.{missing}"
    assert not Order.objects.exists() and stock(variant) == 10


def test_bad_country_phone_email_and_payment_method():
    variant = variant_for_sale()
    cart = cart_with(None, (variant, 1))
    cases = [
        ({"address": {**ADDRESS, "country": "XX"}, "email": "g@example.com"}, "address.country"),
        ({"address": {**ADDRESS, "phone": "call me"}, "email": "g@example.com"}, "address.phone"),
        ({"email": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "g@example.com", "payment_method": "cash"}, "payment_method"),
    ]
    for kwargs, field in cases:
        with pytest.raises(CheckoutInvalid) as exc:
            place(cart, None, **kwargs)
        assert exc.value.field == field
    assert not Order.objects.exists()


def test_unsupported_country_is_a_clear_error():
    variant = variant_for_sale()
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    with pytest.raises(DeliveryUnavailable) as exc:
        place(cart, user, address={**ADDRESS, "country": "JP"})
    assert "Japan" in exc.value.message
    method = ships_to(variant.shop, countries=("FI",))
    with pytest.raises(DeliveryUnavailable):
        place(cart, user, delivery={variant.shop_id: method.pk})
    assert not Order.objects.exists() and stock(variant) == 10


def test_chosen_delivery_method_and_free_shipping_threshold():
    shop, _ = selling_shop()
    express = ships_to(shop, countries=("DE",), price="15.00", free_over="50.00", min_days=1, max_days=1)
    variant = variant_for_sale(shop, price="30.00")
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    order = place(cart, user, address={**ADDRESS, "country": "DE"}, delivery={str(shop.pk): express.pk}).orders.get()
    assert (order.delivery_cost, order.delivery_method_name, order.delivery_max_days) == (
        Decimal("15.00"),
        express.name,
        1,
    )
    cart = cart_with(user, (variant, 2))
    order = place(cart, user, address={**ADDRESS, "country": "DE"}, delivery={shop.pk: express.pk}).orders.get()
    assert order.delivery_cost == 0 and order.total == Decimal("60.00")


def test_currency_mismatch_names_the_currencies_and_one_can_be_chosen():
    eur = variant_for_sale(selling_shop(currency="EUR")[0])
    usd = variant_for_sale(selling_shop(currency="USD")[0], price="5.00")
    user = UserFactory()
    cart = cart_with(user, (eur, 1), (usd, 1))
    with pytest.raises(CurrencyMismatch) as exc:
        place(cart, user)
    assert "EUR" in exc.value.message and "USD" in exc.value.message
    assert exc.value.extra["currencies"] == ["EUR", "USD"]
    with pytest.raises(CurrencyMismatch):
        place(cart, user, currency="JPY")
    checkout = place(cart, user, currency="usd")
    assert checkout.currency == "USD" and checkout.orders.get().shop == usd.shop
    assert list(CartItem.objects.filter(cart=cart).values_list("variant_id", flat=True)) == [eur.pk]


def test_unpublished_item_in_the_cart_blocks_checkout():
    variant = variant_for_sale()
    user = UserFactory()
    cart = cart_with(user, (variant, 1))
    variant.product.status = ProductStatus.DRAFT
    variant.product.save()
    with pytest.raises(ItemUnavailable):
        place(cart, user)


def test_commission_rate_override_per_shop():
    shop, _ = selling_shop()
    ShopSalesPolicy.objects.create(shop=shop, commission_rate=Decimal("0.05"))
    variant = variant_for_sale(shop, price="100.00")
    order = buy(None, (variant, 1)).orders.get()
    assert order.commission_rate == Decimal("0.05") and order.commission == Decimal("5.25")  # of 104.90, rounded
    assert shop_balance(shop)[0].pending == Decimal("99.65")


def test_zero_decimal_currency_rounds_commission_to_whole_yen():
    shop, _ = selling_shop(currency="JPY", delivery_price="500")
    variant = variant_for_sale(shop, price="1999")
    order = buy(None, (variant, 1)).orders.get()
    assert order.total == Decimal("2499") and order.commission == Decimal("250")
    assert ledger_is_balanced()


def test_guest_checkout_mails_a_claim_link_and_the_matching_account_claims_it(
    django_capture_on_commit_callbacks,
):
    variant = variant_for_sale()
    with django_capture_on_commit_callbacks(execute=True):
        checkout = buy(None, (variant, 1), email="Guest@Example.com")
    order = checkout.orders.get()
    assert order.buyer is None and order.status == OrderStatus.PAID
    [message] = [m for m in mail.outbox if "Guest@Example.com" in m.to]
    assert "/orders/claim/" in message.body
    # The signed token carries a timestamp: the one mailed a moment ago stands for the same checkout.
    mailed = message.body.split("/orders/claim/")[1].split("/")[0]
    assert selectors.checkout_for_link(mailed).pk == checkout.pk
    token = services.claim_token(checkout)

    stranger = UserFactory(email="someone@example.com")
    with pytest.raises(ClaimInvalid) as exc:
        services.claim_guest_orders(stranger, token)
    assert exc.value.code == "claim_email_mismatch"
    with pytest.raises(ClaimInvalid):
        services.claim_guest_orders(stranger, token[:-2] + "xx")

    owner = UserFactory(email="guest@example.com")
    claimed = services.claim_guest_orders(owner, token)
    assert [o.pk for o in claimed] == [order.pk]
    assert list(selectors.orders_of(owner)) == [order]
    services.claim_guest_orders(owner, token)  # twice is harmless
    other = UserFactory(email="guest2@example.com")
    other.email = "guest@example.com"  # an account that somehow has the address later cannot take them over
    with pytest.raises(ClaimInvalid):
        services.claim_guest_orders(other, token)


def test_guest_checkout_view_needs_the_cart_token():
    variant = variant_for_sale()
    checkout = buy(None, (variant, 1), email="g@example.com")
    assert selectors.checkout_for(public_id=checkout.public_id, guest_token=checkout.guest_token) == checkout
    with pytest.raises(Exception, match="No checkout"):
        selectors.checkout_for(public_id=checkout.public_id, guest_token="wrong")
    with pytest.raises(Exception, match="No checkout"):
        selectors.checkout_for(public_id=checkout.public_id, user=UserFactory())


def test_retry_payment_after_an_asynchronous_failure():
    variant = variant_for_sale(stock=3)
    checkout = buy(None, (variant, 1), method="sandbox_timeout")
    # The gateway reports a failure later (as a Stripe webhook would): the order stays reserved.
    Payment.objects.filter(pk=checkout.payment_id).update(status=PaymentStatus.FAILED)
    checkout.refresh_from_db()
    paid = services.retry_payment(checkout, CARD)
    assert paid.orders.get().status == OrderStatus.PAID
    assert Payment.objects.count() == 2
    with pytest.raises(IllegalTransition):
        services.retry_payment(paid, CARD)


def test_retry_payment_refused_after_the_reservation_ended():
    variant = variant_for_sale(stock=3)
    checkout = buy(None, (variant, 1), method="sandbox_timeout")
    Checkout.objects.filter(pk=checkout.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    checkout.refresh_from_db()
    with pytest.raises(IllegalTransition) as exc:
        services.retry_payment(checkout, CARD)
    assert exc.value.code == "reservation_expired"


def test_a_payment_that_succeeds_after_expiry_is_refunded(monkeypatch, django_capture_on_commit_callbacks):
    variant = variant_for_sale(stock=3)
    checkout = buy(None, (variant, 1), method="sandbox_timeout")
    Order.objects.filter(checkout=checkout).update(reserved_until=timezone.now() - timedelta(minutes=1))

    def unreachable(**kwargs):
        raise PaymentGatewayFailed("The payment provider did not answer.")

    # The gateway cannot be asked, so the order expires and its stock comes back...
    monkeypatch.setattr(services.payments, "reconcile_payment", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_unpaid_orders() == 1
        assert services.expire_unpaid_orders() == 0  # twice is harmless
    order = checkout.orders.get()
    assert order.status == OrderStatus.EXPIRED and stock(variant) == 3
    monkeypatch.undo()
    # ...then the gateway's answer arrives: it did charge. The money goes back automatically.
    with django_capture_on_commit_callbacks(execute=True):
        payments.reconcile_payment(payment=Payment.objects.get(pk=checkout.payment_id))
    payment = Payment.objects.get(pk=checkout.payment_id)
    assert payment.status == PaymentStatus.REFUNDED
    assert Refund.objects.get().idempotency_key == f"unclaimed:{payment.pk}"
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED and order.payment_id is None
    assert ledger_is_balanced() and not shop_balance(variant.shop)

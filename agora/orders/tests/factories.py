"""Test helpers for orders: buyable variants with delivery, carts, placed and paid orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.catalog.tests.factories import ProductFactory, VariantFactory
from agora.orders import services
from agora.orders.models import Cart, Checkout
from agora.shipping.tests.factories import ships_to
from agora.shops.models import Shop
from agora.shops.tests.factories import shop_with_owner

ADDRESS = {
    "name": "Anna Berzina",
    "line1": "Brivibas iela 1",
    "line2": "",
    "city": "Riga",
    "postcode": "LV-1010",
    "country": "LV",
    "phone": "+371 2000 0000",
}
CARD = "sandbox_card"


def selling_shop(currency: str = "EUR", delivery_price: str = "4.90", **kwargs: Any) -> tuple[Shop, User]:
    """A shop (and its owner) that delivers to Latvia and Estonia."""
    shop, owner = shop_with_owner(currency=currency, **kwargs)
    ships_to(shop, countries=("LV", "EE"), price=delivery_price)
    return shop, owner


def variant_for_sale(
    shop: Shop | None = None, *, price: str = "10.00", stock: int = 10, title: str = "", **kwargs: Any
) -> Variant:
    if shop is None:
        shop, _owner = selling_shop()
    product = ProductFactory(shop=shop, **({"title": title} if title else {}))
    return VariantFactory(product=product, shop=shop, price=Decimal(price), stock_quantity=stock, **kwargs)


def cart_with(user: User | None, *lines: tuple[Variant, int]) -> Cart:
    cart = services.get_cart(user=user, create=True)
    assert cart is not None
    for variant, quantity in lines:
        services.add_item(cart, variant_id=variant.pk, quantity=quantity)
    return cart


def buy(
    user: User | None = None, *lines: tuple[Variant, int], method: str = CARD, email: str = "", **kwargs: Any
) -> Checkout:
    """Place and pay a checkout of ``lines`` (a new user when none is given)."""
    if user is None and not email:
        user = UserFactory()
    cart = cart_with(user, *lines)
    return services.place_checkout(actor=user, cart=cart, address=ADDRESS, payment_method=method, email=email, **kwargs)

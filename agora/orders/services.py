"""Writes for carts, checkout and orders.

Cart: ``get_cart``, ``add_item``, ``set_quantity``, ``remove_item``, ``clear_cart``, ``set_coupon``,
``prefill_cart``, ``merge_carts``, ``review_cart``.
Checkout: ``place_checkout`` (reserve the stock and create the orders in one transaction, then pay),
``retry_payment``, ``apply_payment`` (what a payment's new status means for its orders).
Orders: ``cancel_order``, ``request_refund``, ``request_return``, ``ship_order``, ``mark_delivered``,
``refund_order``, ``accept_return``, ``decline_request``, ``claim_guest_orders``, ``expire_unpaid_orders``,
``update_sales_policy``.

Money and stock: every change is one transaction; stock is taken with conditional updates on variant rows
locked in id order, so that no interleaving sells more than there is. Gateway calls happen outside any
transaction (a slow gateway holds no lock); what they leave behind (a pending refund, an unknown payment) is
finished by a retry or by the periodic expiry task.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries as all_countries
from kombu.exceptions import KombuError

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.catalog.services import adjust_stock
from agora.core.errors import DomainError, NotAuthenticated, PermissionDenied
from agora.core.money import format_money, to_amount
from agora.core.text import clean_text
from agora.ledger import services as ledger
from agora.orders import selectors, states
from agora.orders.errors import (
    CartChanged,
    CartEmpty,
    CartInvalid,
    CartItemNotFound,
    CheckoutInvalid,
    ClaimInvalid,
    CurrencyMismatch,
    IllegalTransition,
    ItemUnavailable,
    OrderInvalid,
    OrderNotFound,
    PaymentDeclined,
    QuantityInvalid,
    RefundInvalid,
    ReturnWindowClosed,
    SoldOut,
)
from agora.orders.models import (
    Cart,
    CartItem,
    Checkout,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    RefundRecord,
    ShopSalesPolicy,
)
from agora.orders.selectors import CartView, cart_view, is_buyable
from agora.orders.signals import order_closed_unpaid
from agora.payments import services as payments
from agora.payments.gateways import get_gateway
from agora.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from agora.shipping.errors import DeliveryUnavailable
from agora.shipping.selectors import DeliveryQuote, country_name, delivery_options, quote
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import can, require

logger = logging.getLogger("agora.orders")

S = OrderStatus
BUYER, STAFF, SYSTEM = states.BUYER, states.STAFF, states.SYSTEM
NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLAIM_SALT = selectors.CLAIM_SALT
PREFILL_ENTRY = re.compile(r"^\s*(\d{1,18})\s*:\s*(-?\d{1,9})\s*$")
COUPON_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
REFERENCE_RE = re.compile(r"^checkout:([0-9a-f]{32}):(\d+)$")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postcode", "country", "phone")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postcode", "country")
ADDRESS_LENGTHS = {"name": 120, "line1": 200, "line2": 200, "city": 100, "postcode": 20, "country": 2, "phone": 32}
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,32}$")
MAX_ID = 2**63 - 1  # ids are 64-bit: a bigger number can only be a miss, refused before any query
MAX_TOTAL = selectors.MAX_TOTAL
# What a payment's description may hold (payments refuses a longer one).
DESCRIPTION_LENGTH = 255


# --- helpers --------------------------------------------------------------------------
def _quantity(value: object, *, field: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QuantityInvalid(_("The quantity must be a whole number."), field=field)
    try:
        number = int(value)
    except ValueError:
        raise QuantityInvalid(_("The quantity must be a whole number."), field=field) from None
    if number < 1:
        raise QuantityInvalid(_("The quantity must be at least 1."), field=field)
    return number


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _new_number() -> str:
    return "".join(secrets.choice(NUMBER_ALPHABET) for _i in range(10))


# --- cart -----------------------------------------------------------------------------
def get_cart(*, user: User | None = None, token: str = "", create: bool = False) -> Cart | None:
    """The signed-in user's cart (made on demand with ``create``), else the guest cart with ``token``.

    A guest without a (valid) token gets a new guest cart with a fresh token when ``create`` is set; its token is
    what the web keeps in the session (``selectors.CART_SESSION_KEY``) and API clients send as ``X-Cart-Token``.
    """
    cart = selectors.find_cart(user=user, token=token)
    if cart is not None or not create:
        return cart
    if user is not None and user.is_authenticated:
        try:
            with transaction.atomic():
                return Cart.objects.create(user=user)
        except IntegrityError:
            # Made by a concurrent request of the same user a moment ago.
            return Cart.objects.get(user=user)
    return Cart.objects.create(token=secrets.token_urlsafe(32))


def _lock_cart(cart: Cart) -> None:
    # One writer per cart at a time: two tabs adding the same variant must not both insert a line.
    Cart.objects.select_for_update().filter(pk=cart.pk).first()


def _buyable_variant(variant_id: object, *, field: str = "variant_id") -> Variant:
    try:
        pk = int(variant_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ItemUnavailable(_("'%(id)s' is not a variant id.") % {"id": variant_id}, field=field) from None
    variant = Variant.objects.select_related("product", "product__shop").filter(pk=pk).first() if pk > 0 else None
    if variant is None or not is_buyable(variant):
        raise ItemUnavailable(
            _("Variant %(id)s does not exist or is not for sale.") % {"id": pk}, field=field, variant_id=pk
        )
    return variant


def _title(variant: Variant) -> str:
    name = variant.product.title
    return f"{name} ({variant.name})" if variant.name and variant.name != "Default" else name


def _check_stock(variant: Variant, quantity: int, *, field: str = "quantity") -> None:
    limit = settings.AGORA_CART_MAX_QUANTITY
    if quantity > limit:
        raise QuantityInvalid(
            _("At most %(max)d of one item per order.") % {"max": limit}, field=field, variant_id=variant.pk
        )
    if variant.stock_quantity <= 0:
        raise QuantityInvalid(
            _("%(title)s is sold out.") % {"title": _title(variant)}, field=field, variant_id=variant.pk, available=0
        )
    if quantity > variant.stock_quantity:
        raise QuantityInvalid(
            _("Only %(count)d of %(title)s left.") % {"count": variant.stock_quantity, "title": _title(variant)},
            field=field,
            variant_id=variant.pk,
            available=variant.stock_quantity,
        )


def _put(cart: Cart, variant: Variant, quantity: int, *, add: bool, field: str = "quantity") -> CartItem:
    """Set (or add to) the quantity of ``variant`` in ``cart``; the caller holds the cart lock."""
    item = CartItem.objects.filter(cart=cart, variant=variant).first()
    total = quantity + (item.quantity if item is not None and add else 0)
    _check_stock(variant, total, field=field)
    if item is None:
        if CartItem.objects.filter(cart=cart).count() >= settings.AGORA_CART_MAX_LINES:
            raise CartInvalid(
                _("A cart holds at most %(max)d different items.") % {"max": settings.AGORA_CART_MAX_LINES},
                field="items",
            )
        item = CartItem.objects.create(
            cart=cart,
            variant=variant,
            quantity=total,
            seen_price=variant.price,
            currency=variant.product.shop.currency,
            title=_title(variant),
        )
    else:
        # Putting an item in the cart is seeing its price.
        item.quantity, item.seen_price, item.title = total, variant.price, _title(variant)
        item.save(update_fields=["quantity", "seen_price", "title"])
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return item


def add_item(cart: Cart, *, variant_id: int, quantity: object = 1) -> CartItem:
    """Put ``quantity`` more of a variant in the cart (1 up to the stock left; the variant must be for sale)."""
    count = _quantity(quantity)
    variant = _buyable_variant(variant_id)
    with transaction.atomic():
        _lock_cart(cart)
        return _put(cart, variant, count, add=True)


def set_quantity(cart: Cart, *, variant_id: int, quantity: object) -> CartItem:
    """Change how many of a variant the cart holds (1 up to the stock left); the line must be in the cart."""
    count = _quantity(quantity)
    if not CartItem.objects.filter(cart=cart, variant_id=variant_id).exists():
        raise CartItemNotFound(_("Variant %(id)s is not in your cart.") % {"id": variant_id}, field="variant_id")
    variant = _buyable_variant(variant_id)
    with transaction.atomic():
        _lock_cart(cart)
        return _put(cart, variant, count, add=False)


def remove_item(cart: Cart, *, variant_id: int) -> None:
    deleted, _rows = CartItem.objects.filter(cart=cart, variant_id=variant_id).delete()
    if not deleted:
        raise CartItemNotFound(_("Variant %(id)s is not in your cart.") % {"id": variant_id}, field="variant_id")


def clear_cart(cart: Cart) -> None:
    CartItem.objects.filter(cart=cart).delete()
    if cart.coupon_code:
        Cart.objects.filter(pk=cart.pk).update(coupon_code="")
        cart.coupon_code = ""


def set_coupon(cart: Cart, *, code: str) -> Cart:
    """Keep a coupon code on the cart ("" removes it). No promotions exist yet: the cart reports it as not
    recognised (``CartView.coupon_message``)."""
    code = (code or "").strip().upper()
    if code and not COUPON_RE.match(code):
        raise CartInvalid(_("A coupon code has up to 40 letters, digits, dashes or underscores."), field="coupon")
    Cart.objects.filter(pk=cart.pk).update(coupon_code=code, updated_at=timezone.now())
    cart.coupon_code = code
    return cart


def parse_items(items: str) -> list[tuple[int, int]]:
    """``"12:2,15:1"`` → [(12, 2), (15, 1)]; a clear 422 naming the entry at fault."""
    text = (items or "").strip()
    if not text:
        raise CartInvalid(_("Say which items to add, as variant:quantity pairs such as 12:2,15:1."), field="items")
    entries = [entry for entry in text.split(",") if entry.strip()]
    if len(entries) > settings.AGORA_CART_MAX_LINES:
        raise CartInvalid(_("At most %(max)d items at once.") % {"max": settings.AGORA_CART_MAX_LINES}, field="items")
    result: dict[int, int] = {}
    for entry in entries:
        match = PREFILL_ENTRY.match(entry)
        if match is None:
            raise CartInvalid(
                _("'%(entry)s' is not variant:quantity (such as 12:2).") % {"entry": entry.strip()[:40]},
                field="items",
            )
        variant_id, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise QuantityInvalid(
                _("The quantity of variant %(id)s must be at least 1.") % {"id": variant_id}, field="items"
            )
        result[variant_id] = result.get(variant_id, 0) + count
    return list(result.items())


def prefill_cart(cart: Cart, *, items: str, coupon: str = "") -> Cart:
    """Fill the cart from a link such as ``/cart/add?items=12:2,15:1&coupon=SPRING``: each variant's quantity
    becomes the one given (following the same link twice does not double it). All or nothing: one unknown
    variant or a quantity over the stock refuses the whole link with a message naming it."""
    wanted = parse_items(items)
    variants = {pk: _buyable_variant(pk, field="items") for pk, _count in wanted}
    with transaction.atomic():
        _lock_cart(cart)
        for pk, count in wanted:
            _put(cart, variants[pk], count, add=False, field="items")
        if coupon:
            set_coupon(cart, code=coupon)
    return cart


def merge_carts(*, user: User, token: str) -> Cart:
    """Move a guest cart into the user's cart (at sign-in): quantities add up, capped at the stock left; the
    guest cart is then deleted. An unknown token merges nothing."""
    target = get_cart(user=user, create=True)
    assert target is not None
    guest = Cart.objects.filter(token=(token or "").strip(), user__isnull=True).first() if token else None
    if guest is None or guest.pk == target.pk:
        return target
    with transaction.atomic():
        # Always the lower id first, so a merge and another write on the same two carts cannot deadlock.
        for pk in sorted([target.pk, guest.pk]):
            Cart.objects.select_for_update().filter(pk=pk).first()
        mine = {item.variant_id: item for item in CartItem.objects.filter(cart=target)}
        for item in CartItem.objects.filter(cart=guest).select_related("variant"):
            if item.variant is None:
                continue
            if item.variant_id in mine:
                existing = mine[item.variant_id]
                existing.quantity = min(
                    existing.quantity + item.quantity,
                    max(item.variant.stock_quantity, existing.quantity),
                    settings.AGORA_CART_MAX_QUANTITY,
                )
                existing.save(update_fields=["quantity"])
            else:
                CartItem.objects.filter(pk=item.pk).update(cart=target)
        if guest.coupon_code and not target.coupon_code:
            Cart.objects.filter(pk=target.pk).update(coupon_code=guest.coupon_code)
            target.coupon_code = guest.coupon_code
        guest.delete()
    return target


def review_cart(cart: Cart | None) -> CartView:
    """``selectors.cart_view`` and then mark its changes as seen: the current prices become the ones the
    shopper saw and lines that can no longer be bought leave the cart. Returns the view with the changes, so
    they are shown once."""
    view = cart_view(cart)
    if cart is None or not view.changes:
        return view
    removed = [c.item_id for c in view.changes if c.kind == "removed"]
    with transaction.atomic():
        if removed:
            CartItem.objects.filter(pk__in=removed).delete()
        for change in view.changes:
            if change.kind in ("price_up", "price_down") and change.new_price is not None:
                CartItem.objects.filter(pk=change.item_id).update(seen_price=change.new_price)
    return view


# --- checkout -------------------------------------------------------------------------
def clean_address(address: Mapping[str, Any] | None) -> dict[str, str]:
    """The shipping address with every field checked; a missing or bad one is a 422 naming ``address.<field>``."""
    data = dict(address or {})
    result: dict[str, str] = {}
    missing = [f for f in REQUIRED_ADDRESS_FIELDS if not str(data.get(f) or "").strip()]
    if missing:
        names = ", ".join(missing)
        raise CheckoutInvalid(
            _("The shipping address needs: %(fields)s.") % {"fields": names},
            code="address_incomplete",
            field=f"address.{missing[0]}",
            missing=[f"address.{m}" for m in missing],
        )
    for name in ADDRESS_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise CheckoutInvalid(_("Address fields are text."), field=f"address.{name}")
        result[name] = clean_text(value, field=f"address.{name}", max_length=ADDRESS_LENGTHS[name])
    code = result["country"].upper()
    if len(code) != 2 or all_countries.alpha2(code) != code:
        raise CheckoutInvalid(
            _("'%(code)s' is not a country code. Use a two-letter ISO code such as DE, US or JP.") % {"code": code},
            code="unknown_country",
            field="address.country",
        )
    result["country"] = code
    if result["phone"] and not PHONE_RE.match(result["phone"]):
        raise CheckoutInvalid(_("The phone number has digits, spaces and an optional +."), field="address.phone")
    return result


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise CheckoutInvalid(
            _("Give an e-mail address for the order confirmation (or sign in)."), code="email_required", field="email"
        ) from None
    return email


def _check_payment_method(method: str) -> str:
    method = (method or "").strip()
    # Checked before anything is reserved (start_payment would refuse it only after the stock was taken).
    if not get_gateway().supports(method):
        codes = [option.code for option in payments.payment_methods()]
        raise CheckoutInvalid(
            _("Choose a payment method: %(methods)s.") % {"methods": ", ".join(c for c in codes if c)},
            code="payment_method_invalid",
            field="payment_method",
        )
    return method


@dataclass
class _ShopPart:
    shop: Shop
    items: list[CartItem]
    subtotal: Decimal = Decimal(0)
    delivery: DeliveryQuote | None = None


def _choose_delivery(shop: Shop, country: str, subtotal: Decimal, method_id: int | None) -> DeliveryQuote:
    if method_id is not None:
        return quote(shop=shop, method_id=method_id, country=country, subtotal=subtotal)
    options = delivery_options(shop=shop, country=country, subtotal=subtotal)
    if not options:
        raise DeliveryUnavailable(
            _("%(shop)s does not deliver to %(country)s.") % {"shop": shop.name, "country": country_name(country)},
            field=f"delivery.{shop.pk}",
            country=country,
            shop=shop.slug,
        )
    return min(options, key=lambda o: (o.cost, o.max_days, o.method_id))


def _reservation_minutes(actor: User | None) -> int:
    if actor is not None and actor.is_authenticated:
        return int(settings.AGORA_RESERVATION_MINUTES_USER)
    return int(settings.AGORA_RESERVATION_MINUTES_GUEST)


def place_checkout(
    *,
    actor: User | None,
    cart: Cart,
    address: Mapping[str, Any],
    payment_method: str,
    delivery: Mapping[Any, Any] | None = None,
    email: str = "",
    currency: str | None = None,
) -> Checkout:
    """Place the cart's orders and pay for them.

    ``delivery`` maps shop id → delivery method id (a shop left out gets its cheapest option). Signed-in
    shoppers pass ``actor``; guests pass ``email`` (and ``actor=None``). A cart in several currencies is
    checked out one ``currency`` at a time.

    In ONE transaction: the variants are locked in id order, their stock taken (the reservation, until
    ``reserved_until``), and the Checkout, one Order per shop, their lines and "placed" events created. Then,
    outside it, the payment starts (``pay_checkout``). Errors: CartEmpty, CheckoutInvalid (address, e-mail,
    payment method), CurrencyMismatch, DeliveryUnavailable, ItemUnavailable, SoldOut (409, naming the product),
    CartChanged (409, prices went up: the cart now shows them), PaymentDeclined (402, orders cancelled and stock
    returned). A timeout leaves the orders placed and awaiting payment (``checkout.payment.status == "unknown"``).
    """
    if actor is not None and not actor.is_authenticated:
        actor = None
    clean = clean_address(address)
    buyer_email = actor.email if actor is not None and actor.email else _clean_email(email)
    method = _check_payment_method(payment_method)
    chosen: dict[int, int] = {}
    for key, value in (delivery or {}).items():
        try:
            shop_id, method_id = int(key), int(value)
        except (TypeError, ValueError):
            shop_id = method_id = 0
        if not (0 < shop_id <= MAX_ID and 0 < method_id <= MAX_ID) or isinstance(value, bool):
            raise CheckoutInvalid(_("Delivery choices map a shop id to a delivery method id."), field="delivery")
        chosen[shop_id] = method_id
    items = list(CartItem.objects.filter(cart=cart, variant__isnull=False).order_by("variant_id"))
    if not items:
        raise CartEmpty(_("Your cart is empty. Add something before checking out."), field="cart")
    currencies = sorted({item.currency for item in items})
    if currency:
        wanted = currency.strip().upper()
        if wanted not in currencies:
            raise CurrencyMismatch(
                _("Your cart has nothing in %(currency)s; it has items in %(currencies)s.")
                % {"currency": wanted, "currencies": ", ".join(currencies)},
                field="currency",
                currencies=currencies,
            )
        items = [item for item in items if item.currency == wanted]
    elif len(currencies) > 1:
        raise CurrencyMismatch(
            _(
                "Your cart has items in %(currencies)s. A checkout is paid in one currency: check out one at a time "
                "(currency=%(first)s)."
            )
            % {"currencies": ", ".join(currencies), "first": currencies[0]},
            field="currency",
            currencies=currencies,
        )
    try:
        checkout = _reserve(
            actor=actor, cart=cart, items=items, address=clean, email=buyer_email, method=method, chosen=chosen
        )
    except CartChanged as exc:
        # The shopper is now shown the new prices: confirming again goes through at those.
        for change in exc.extra.get("changes", []):
            CartItem.objects.filter(pk=change["item_id"]).update(seen_price=Decimal(change["new_price"]))
        raise
    return pay_checkout(checkout=checkout, method=method)


def _reserve(
    *,
    actor: User | None,
    cart: Cart,
    items: list[CartItem],
    address: dict[str, str],
    email: str,
    method: str,
    chosen: dict[int, int],
) -> Checkout:
    now = timezone.now()
    reserved_until = now + timedelta(minutes=_reservation_minutes(actor))
    with transaction.atomic():
        ids = sorted({item.variant_id for item in items if item.variant_id is not None})
        variants = {
            v.pk: v
            for v in Variant.objects.select_for_update(of=("self",))
            .select_related("product", "product__shop")
            .filter(pk__in=ids)
            .order_by("pk")
        }
        parts: dict[int, _ShopPart] = {}
        raised: list[dict[str, Any]] = []
        for item in items:
            variant = variants.get(item.variant_id)  # type: ignore[arg-type]
            if variant is None or not is_buyable(variant):
                raise ItemUnavailable(
                    _("%(title)s is no longer for sale. Remove it from your cart.") % {"title": item.title},
                    field="cart",
                    variant_id=item.variant_id,
                )
            if variant.stock_quantity < item.quantity:
                left = variant.stock_quantity
                message = (
                    _("%(title)s is sold out.") % {"title": _title(variant)}
                    if left <= 0
                    else _("Only %(count)d of %(title)s left; you asked for %(quantity)d.")
                    % {"count": left, "title": _title(variant), "quantity": item.quantity}
                )
                raise SoldOut(
                    message,
                    variant_id=variant.pk,
                    product_id=variant.product_id,
                    product=variant.product.title,
                    available=max(left, 0),
                )
            if variant.price > item.seen_price:
                raised.append(
                    {
                        "item_id": item.pk,
                        "variant_id": variant.pk,
                        "title": item.title,
                        "old_price": str(item.seen_price),
                        "new_price": str(variant.price),
                    }
                )
            shop = variant.product.shop
            part = parts.setdefault(shop.pk, _ShopPart(shop=shop, items=[]))
            part.items.append(item)
            part.subtotal += variant.price * item.quantity
        if raised:
            names = ", ".join(r["title"] for r in raised)
            raise CartChanged(
                _("Prices went up since you last looked: %(items)s. Check your cart and confirm again.")
                % {"items": names},
                changes=raised,
            )
        for part in parts.values():
            part.delivery = _choose_delivery(part.shop, address["country"], part.subtotal, chosen.get(part.shop.pk))
        grand_total = sum(
            (p.subtotal + (p.delivery.cost if p.delivery else Decimal(0)) for p in parts.values()), Decimal(0)
        )
        if grand_total > MAX_TOTAL:
            # Checked before any stock is taken: the amount columns (and payments) hold no more than this.
            raise CheckoutInvalid(
                _("A checkout can come to at most %(max)s. Lower the quantities or check out in parts.")
                % {"max": selectors.max_total_label(items[0].currency)},
                code="total_too_large",
                field="cart",
            )
        for variant_id in ids:
            quantity = sum(i.quantity for i in items if i.variant_id == variant_id)
            if not adjust_stock(variant_id=variant_id, delta=-quantity):
                # Not reachable under the row lock; kept so that a change of locking can never oversell.
                raise SoldOut(
                    _("%(title)s is sold out.") % {"title": _title(variants[variant_id])}, variant_id=variant_id
                )
        currency = items[0].currency
        total = grand_total
        checkout = Checkout.objects.create(
            public_id=uuid.uuid4().hex,
            buyer=actor,
            email=email,
            guest_token="" if actor is not None else (cart.token or ""),
            cart=cart,
            shipping_address=address,
            currency=currency,
            total=total,
            payment_method=method,
            reserved_until=reserved_until,
        )
        for shop_id in sorted(parts):
            part = parts[shop_id]
            delivery = part.delivery
            assert delivery is not None
            rate = selectors.commission_rate(part.shop)
            order_total = part.subtotal + delivery.cost
            order = Order.objects.create(
                checkout=checkout,
                shop=part.shop,
                buyer=actor,
                email=email,
                number=_new_number(),
                currency=currency,
                subtotal=part.subtotal,
                delivery_cost=delivery.cost,
                total=order_total,
                commission_rate=rate,
                commission=ledger.commission_for(amount=order_total, rate=rate, currency=currency),
                delivery_method_id=delivery.method_id,
                delivery_method_name=delivery.name,
                delivery_min_days=delivery.min_days,
                delivery_max_days=delivery.max_days,
                reserved_until=reserved_until,
                placed_at=now,
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    variant=variants[item.variant_id],  # type: ignore[index]
                    product_id=variants[item.variant_id].product_id,  # type: ignore[index]
                    title=variants[item.variant_id].product.title,  # type: ignore[index]
                    variant_name=variants[item.variant_id].name,  # type: ignore[index]
                    sku=variants[item.variant_id].sku,  # type: ignore[index]
                    unit_price=variants[item.variant_id].price,  # type: ignore[index]
                    quantity=item.quantity,
                )
                for item in part.items
            )
            OrderEvent.objects.create(
                order=order, from_status="", to_status=S.PLACED, actor=actor, actor_role=BUYER, created_at=now
            )
    return checkout


def _reference(checkout: Checkout, attempt: int) -> str:
    return f"checkout:{checkout.public_id}:{attempt}"


def _payment_description(orders: Sequence[Order]) -> str:
    """The payment's description: "Agora order" and the order numbers, as many as fit, then how many more."""
    numbers = [o.number for o in orders]
    for shown in range(len(numbers), 0, -1):
        listed = ", ".join(numbers[:shown]) + (f" +{len(numbers) - shown}" if shown < len(numbers) else "")
        text = _("Agora order %(numbers)s") % {"numbers": listed}
        if len(text) <= DESCRIPTION_LENGTH:
            return text
    return text[:DESCRIPTION_LENGTH]


def pay_checkout(*, checkout: Checkout, method: str) -> Checkout:
    """Start a payment for the checkout's placed orders (a new attempt, with its own idempotency key).

    Declined: the placed orders are cancelled and their stock returned, in one transaction; PaymentDeclined (402)
    says why. Any other outcome returns the checkout: its orders are paid (captured), or still placed while the
    shopper confirms in the browser (requires_action), the gateway's answer is unknown (reconciliation) or the
    payment is only authorised (``checkout.authorise_only``: a deal captures it later, ``capture_placed_order``).
    """
    placed = list(checkout.orders.filter(status=S.PLACED))  # type: ignore[attr-defined]
    amount = sum((o.total for o in placed), Decimal(0))
    attempt = checkout.payment_attempt + 1
    taken = Checkout.objects.filter(pk=checkout.pk, payment_attempt=checkout.payment_attempt).update(
        payment_attempt=attempt, payment_method=method
    )
    if not taken:
        raise IllegalTransition(_("Another payment for this checkout has just started. Reload the page."))
    checkout.payment_attempt, checkout.payment_method = attempt, method
    if amount <= 0:
        # Nothing to charge (free items and delivery): the orders are paid as they are.
        with transaction.atomic():
            _mark_paid(checkout, None, [o.pk for o in placed])
        checkout.refresh_from_db()
        return checkout
    try:
        payment = payments.start_payment(
            amount=amount,
            currency=checkout.currency,
            method=method,
            reference=_reference(checkout, attempt),
            payer=checkout.buyer,
            payer_email=checkout.email,
            capture=not checkout.authorise_only,
            idempotency_key=_reference(checkout, attempt),
            description=_payment_description(placed),
        )
    except DomainError as exc:
        # Refused before the gateway was asked (nothing was charged): the reservation must not outlive the error.
        _cancel_checkout_orders(checkout, note=exc.message)
        raise
    # The signal did this already inside the payment's transaction; applying it again is a no-op, and covers
    # a payment whose status did not change (a replayed idempotency key).
    apply_payment(payment)
    checkout.refresh_from_db()
    if payment.status == PaymentStatus.FAILED:
        _cancel_checkout_orders(checkout, note=payment.failure_message or payment.failure_code)
        reason = payment.failure_message or _("The card was declined.")
        raise PaymentDeclined(
            _("The payment was declined: %(reason)s Your order was cancelled; try another payment method.")
            % {"reason": reason},
            field="payment_method",
            reason=payment.failure_code or "declined",
            checkout=checkout.public_id,
        )
    return checkout


def retry_payment(checkout: Checkout, method: str, *, actor: User | None = None) -> Checkout:
    """Pay again for a placed checkout whose payment failed or was abandoned, while its stock is still reserved.

    A payment whose outcome is unknown is first asked about (reconciliation); one that went through or is still
    running refuses the retry (409), so a checkout is never charged twice for the same orders.
    """
    method = _check_payment_method(method)
    placed = checkout.orders.filter(status=S.PLACED)  # type: ignore[attr-defined]
    if not placed.exists():
        raise IllegalTransition(_("This checkout has nothing left to pay."), code="nothing_to_pay")
    if checkout.reserved_until <= timezone.now():
        raise IllegalTransition(
            _("The reservation of this checkout expired. Check out again from your cart."), code="reservation_expired"
        )
    payment = checkout.payment
    if payment is not None and payment.status in (PaymentStatus.UNKNOWN, PaymentStatus.PENDING):
        try:
            payment = payments.reconcile_payment(payment=payment)
        except DomainError:
            logger.warning("orders: could not reconcile payment %s before a retry", payment.pk, exc_info=True)
        apply_payment(payment)
        checkout.refresh_from_db()
    if payment is not None and payment.status in (
        PaymentStatus.CAPTURED,
        PaymentStatus.AUTHORIZED,
        PaymentStatus.PENDING,
        PaymentStatus.UNKNOWN,
    ):
        if not checkout.orders.filter(status=S.PLACED).exists():  # type: ignore[attr-defined]
            return checkout
        raise IllegalTransition(
            _("A payment for this checkout is still being processed. Try again in a minute."),
            code="payment_in_progress",
        )
    return pay_checkout(checkout=checkout, method=method)


def _parse_reference(reference: str) -> tuple[str, int] | None:
    match = REFERENCE_RE.match(reference or "")
    return (match.group(1), int(match.group(2))) if match else None


def apply_payment(payment: Payment) -> None:
    """What the payment's status means for its checkout. Idempotent; called inside the payment's transaction
    (``payment_status_changed``) and again after ``start_payment`` returns.

    Captured (for the current attempt, with its orders still placed) → the orders are paid: ledger entries,
    notifications, and the bought lines leave the cart. Money the orders do not take (orders expired or
    cancelled meanwhile, or an older attempt that went through after all) is refunded automatically after commit.
    Other statuses change nothing here: the orders stay reserved until paid, cancelled or expired.
    """
    parsed = _parse_reference(payment.reference)
    if parsed is None:
        return
    public_id, attempt = parsed
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(public_id=public_id).first()
        if checkout is None:
            return
        current = attempt == checkout.payment_attempt
        if current and checkout.payment_id != payment.pk:
            Checkout.objects.filter(pk=checkout.pk).update(payment=payment)
            checkout.payment = payment
        if payment.status not in (PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED):
            return
        # Only captured money pays an order. Normal purchases capture at once; an authorisation left over
        # (no order takes it) is released.
        orders = list(Order.objects.select_for_update().filter(checkout=checkout).order_by("pk"))
        if any(o.payment_id == payment.pk for o in orders):
            return  # applied before
        placed = [o.pk for o in orders if o.status == S.PLACED]
        if payment.status == PaymentStatus.AUTHORIZED:
            if not (current and placed):
                payment_id = payment.pk
                transaction.on_commit(lambda: _enqueue_void(payment_id))
            return
        if current and placed:
            _mark_paid(checkout, payment, placed)
        used = sum((o.total for o in orders if o.pk in placed and current), Decimal(0))
        if payment.captured_amount > used:
            payment_id = payment.pk
            transaction.on_commit(lambda: _enqueue_unclaimed_refund(payment_id))


def _enqueue_unclaimed_refund(payment_id: int) -> None:
    from agora.orders import tasks

    tasks.refund_unclaimed_payment.delay(payment_id)


def _enqueue_void(payment_id: int) -> None:
    _enqueue_voids([payment_id])


# Payments voided per task: a redelivered task skips those already voided, so a batch is safe to run again.
VOID_BATCH = 200


def _enqueue_voids(payment_ids: Sequence[int]) -> None:
    from agora.orders import tasks

    for start in range(0, len(payment_ids), VOID_BATCH):
        batch = list(payment_ids[start : start + VOID_BATCH])
        try:
            tasks.void_unclaimed_payments.delay(batch)
        except (OSError, KombuError):
            # The broker is away: nothing else would ever release these authorisations (their orders are closed),
            # so they are voided here and now (each void is idempotent).
            logger.warning("orders: could not enqueue voids, voiding %s payments in-process", len(batch), exc_info=True)
            void_unclaimed_payments(batch)


def refund_unclaimed(payment_id: int) -> None:
    """Refund the part of a captured payment that paid for no order (orders expired meanwhile, double payment)."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
        return
    claimed = Order.objects.filter(payment=payment).aggregate(s=Sum("total"))["s"] or Decimal(0)
    unclaimed = payment.captured_amount - claimed
    key = f"unclaimed:{payment.pk}"
    if unclaimed <= 0 or Refund.objects.filter(idempotency_key=key).exists():
        return
    try:
        payments.refund_payment(
            payment=payment,
            amount=min(unclaimed, payment.refundable_amount),
            reason=_("Paid after the order expired or was cancelled"),
            idempotency_key=key,
        )
    except DomainError:
        # Left for the operator (the payment shows captured with no order); logged loudly.
        logger.exception("orders: could not refund the unclaimed part of payment %s", payment.pk)


def void_unclaimed(payment_id: int) -> None:
    """Release an authorisation (or a payment waiting for the shopper) that no order needs any more."""
    void_unclaimed_payments([payment_id])


def void_unclaimed_payments(payment_ids: Sequence[int]) -> int:
    """``void_unclaimed`` for many payments: what no order needs is found in a few queries, then each payment is
    voided at its gateway in its own transaction. Returns how many were voided."""
    waiting_payments = list(
        Payment.objects.filter(
            pk__in=list(payment_ids), status__in=(PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION)
        ).order_by("pk")
    )
    if not waiting_payments:
        return 0
    claimed = set(
        Order.objects.filter(payment__in=[p.pk for p in waiting_payments]).values_list("payment_id", flat=True)
    )
    references = {p.pk: _parse_reference(p.reference) for p in waiting_payments}
    checkouts = {
        c.public_id: c
        for c in Checkout.objects.filter(public_id__in=[r[0] for r in references.values() if r is not None]).only(
            "pk", "public_id", "payment_attempt"
        )
    }
    still_placed = set(
        Order.objects.filter(checkout__in=[c.pk for c in checkouts.values()], status=S.PLACED).values_list(
            "checkout_id", flat=True
        )
    )
    voided = 0
    for payment in waiting_payments:
        if payment.pk in claimed:
            continue
        parsed = references[payment.pk]
        checkout = checkouts.get(parsed[0]) if parsed is not None else None
        if (
            parsed is not None
            and checkout is not None
            and parsed[1] == checkout.payment_attempt
            and checkout.pk in still_placed
        ):
            continue  # still the way the shopper is paying for orders that wait for it
        try:
            payments.void_payment(payment=payment)
        except DomainError:
            logger.warning("orders: could not void the unclaimed payment %s", payment.pk, exc_info=True)
            continue
        voided += 1
    return voided


def _mark_paid(checkout: Checkout, payment: Payment | None, order_ids: Sequence[int]) -> None:
    now = timezone.now()
    paid: list[Order] = []
    for order in Order.objects.select_related("shop").filter(pk__in=order_ids).order_by("pk"):
        if not Order.objects.filter(pk=order.pk, status=S.PLACED).update(status=S.PAID, paid_at=now, payment=payment):
            continue
        order.status, order.paid_at, order.payment = S.PAID, now, payment
        event = OrderEvent.objects.create(
            order=order, from_status=S.PLACED, to_status=S.PAID, actor=None, actor_role=SYSTEM, created_at=now
        )
        ledger.record_order_paid(
            shop=order.shop,
            order_id=order.pk,
            currency=order.currency,
            total=order.total,
            commission=order.commission,
            memo=order.number,
        )
        _after_commit_notify(event.pk)
        _after_commit_new_order(order.pk)
        paid.append(order)
    if paid and checkout.cart_id:
        _remove_bought_lines(checkout.cart_id, [o.pk for o in paid])


def _remove_bought_lines(cart_id: int, order_ids: list[int]) -> None:
    bought: dict[int, int] = defaultdict(int)
    for variant_id, quantity in OrderLine.objects.filter(order_id__in=order_ids, variant__isnull=False).values_list(
        "variant_id", "quantity"
    ):
        bought[variant_id] += quantity
    for item in CartItem.objects.filter(cart_id=cart_id, variant_id__in=list(bought)):
        left = item.quantity - bought[item.variant_id]  # type: ignore[index]
        if left > 0:
            CartItem.objects.filter(pk=item.pk).update(quantity=left)
        else:
            item.delete()


def _return_stock(lines: Sequence[tuple[int | None, int]]) -> None:
    """Put units back (variant id, quantity), in variant id order like every stock change."""
    totals: dict[int, int] = defaultdict(int)
    for variant_id, quantity in lines:
        if variant_id is not None and quantity > 0:
            totals[variant_id] += quantity
    for variant_id in sorted(totals):
        adjust_stock(variant_id=variant_id, delta=totals[variant_id])


def _cancel_checkout_orders(checkout: Checkout, *, note: str) -> None:
    """The payment was declined: every still placed order of the checkout is cancelled, its stock returned."""
    with transaction.atomic():
        Checkout.objects.select_for_update().filter(pk=checkout.pk).first()
        for order in Order.objects.select_for_update().filter(checkout=checkout, status=S.PLACED).order_by("pk"):
            _close_unpaid(order, S.CANCELLED, actor=None, role=SYSTEM, note=note)


def _close_unpaid(order: Order, to_status: str, *, actor: User | None, role: str, note: str = "") -> bool:
    """placed → cancelled/expired with the stock back; False when the order was not placed any more."""
    filters: dict[str, Any] = {"pk": order.pk, "status": S.PLACED}
    if to_status == S.EXPIRED:
        filters["reserved_until__lt"] = timezone.now()
    now = timezone.now()
    if not Order.objects.filter(**filters).update(status=to_status, closed_at=now):
        return False
    _after_closing_unpaid([order], to_status, now, actor=actor, role=role, note=note, notify=True)
    return True


def _after_closing_unpaid(
    closed: Sequence[Order], to_status: str, now: datetime, *, actor: User | None, role: str, note: str, notify: bool
) -> None:
    """What follows orders moved from placed to ``to_status`` (same transaction): stock back, events, deals."""
    _return_stock(
        list(OrderLine.objects.filter(order_id__in=[o.pk for o in closed]).values_list("variant_id", "quantity"))
    )
    events = OrderEvent.objects.bulk_create(
        OrderEvent(order=o, from_status=S.PLACED, to_status=to_status, actor=actor, actor_role=role, note=note[:2000])
        for o in closed
    )
    for order in closed:
        order.status, order.closed_at = to_status, now
    if notify:
        for event in events:
            _after_commit_notify(event.pk)
    # Every unpaid close passes here: deals release what they hold for the orders, in the same transaction.
    order_closed_unpaid.send(sender=Order, orders=list(closed), status=to_status, role=role)


# --- notifications --------------------------------------------------------------------
_quiet: ContextVar[bool] = ContextVar("orders_quiet", default=False)


@contextmanager
def quietly() -> Iterator[None]:
    """Place and move orders without telling anyone (demo data: no e-mail storm at the first start)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def _after_commit_notify(event_id: int) -> None:
    if _quiet.get():
        return

    def enqueue() -> None:
        from agora.orders import tasks

        tasks.notify_order_event.delay(event_id)

    transaction.on_commit(enqueue)


def _after_commit_new_order(order_id: int) -> None:
    if _quiet.get():
        return

    def enqueue() -> None:
        from agora.orders import tasks

        tasks.notify_shop_new_order.delay(order_id)

    transaction.on_commit(enqueue)


# --- transitions ----------------------------------------------------------------------
def _transition(
    order: Order,
    to_status: str,
    *,
    actor: User | None,
    role: str,
    note: str = "",
    amount: Decimal | None = None,
    updates: Mapping[str, Any] | None = None,
) -> OrderEvent:
    """Move a locked order to ``to_status`` if the table allows it; record who and when. Raises IllegalTransition."""
    from_status = order.status
    if not states.allowed(order, to_status, role):
        raise IllegalTransition(
            _("An order that is %(from)s cannot become %(to)s.")
            % {"from": S(from_status).label.lower(), "to": S(to_status).label.lower()},
            status=from_status,
            wanted=to_status,
        )
    fields = dict(updates or {})
    fields["status"] = to_status
    if not Order.objects.filter(pk=order.pk, status=from_status).update(**fields, updated_at=timezone.now()):
        raise IllegalTransition(_("The order changed meanwhile. Reload it and try again."))
    for name, value in fields.items():
        setattr(order, name, value)
    event = OrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_role=role,
        note=note[:2000],
        amount=amount,
    )
    _after_commit_notify(event.pk)
    return event


def _locked(order: Order) -> Order:
    locked = Order.objects.select_for_update().select_related("shop").filter(pk=order.pk).first()
    if locked is None:
        raise OrderNotFound(_("No order %(number)s.") % {"number": order.number})
    return locked


def _check_buyer(order: Order, actor: User | None) -> User:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    if order.buyer_id != actor.pk:
        raise OrderNotFound(_("No order %(number)s.") % {"number": order.number})
    return actor


def _check_staff(order: Order, actor: User | None, action: ShopAction) -> User:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    if not can(actor, order.shop, ShopAction.VIEW_ORDERS):
        raise OrderNotFound(_("No order %(number)s.") % {"number": order.number})
    require(actor, order.shop, action)
    return actor


def _reason(text: str, *, required: bool) -> str:
    return clean_text(text, field="reason", max_length=2000, required=required)


def cancel_order(*, actor: User, order: Order, reason: str = "", as_staff: bool = False) -> Order:
    """Cancel an order: unpaid ones release their stock; paid, unshipped ones are refunded in full and their
    stock returned. The shopper cancels their own (``as_staff=False``); shop staff need "fulfil orders" for
    unpaid orders and "refund orders" for paid ones."""
    note = _reason(reason, required=False)
    if as_staff:
        action = ShopAction.REFUND_ORDERS if order.status != S.PLACED else ShopAction.FULFIL_ORDERS
        _check_staff(order, actor, action)
        role = STAFF
    else:
        _check_buyer(order, actor)
        role = BUYER
    if order.status == S.PLACED:
        with transaction.atomic():
            # The checkout first, then its orders by id: the order in which a payment's arrival locks them too.
            Checkout.objects.select_for_update().filter(pk=order.checkout_id).first()
            locked = _locked(order)
            if locked.status != S.PLACED:
                raise IllegalTransition(_("The order changed meanwhile. Reload it and try again."))
            if not states.allowed(locked, S.CANCELLED, role):
                raise IllegalTransition(_("This order cannot be cancelled."))
            # A checkout is paid as a whole: the shopper cancelling one unpaid order cancels the checkout's others.
            siblings = (
                Order.objects.filter(checkout_id=locked.checkout_id, status=S.PLACED)
                if role == BUYER
                else Order.objects.filter(pk=locked.pk)
            )
            for sibling in siblings.order_by("pk"):
                _close_unpaid(sibling, S.CANCELLED, actor=actor, role=role, note=note)
            payment_id = Checkout.objects.filter(pk=locked.checkout_id).values_list("payment_id", flat=True).first()
            if payment_id is not None:
                # A payment still waiting for the shopper (or an authorisation) is released if nothing needs it.
                transaction.on_commit(lambda: _enqueue_void(payment_id))
        order.refresh_from_db()
        return order
    if order.status != S.PAID:
        raise IllegalTransition(
            _("Only an order that has not shipped yet can be cancelled; ask for a refund or a return instead."),
            status=order.status,
        )
    return _refund(
        order=order, actor=actor, role=role, reason=note or _("Cancelled"), final_status=S.CANCELLED, restock=True
    )


def request_refund(*, actor: User, order: Order, reason: str) -> Order:
    """The shopper asks for their money back (with a reason); the shop's staff refund or decline."""
    _check_buyer(order, actor)
    note = _reason(reason, required=True)
    with transaction.atomic():
        locked = _locked(order)
        _transition(
            locked,
            S.REFUND_REQUESTED,
            actor=actor,
            role=BUYER,
            note=note,
            updates={"status_before_request": locked.status, "request_reason": note},
        )
        _after_commit_staff_request(locked.pk, "refund")
    order.refresh_from_db()
    return order


def request_return(*, actor: User, order: Order, reason: str) -> Order:
    """The shopper wants to send goods back, within the shop's return window after delivery (with a reason)."""
    _check_buyer(order, actor)
    note = _reason(reason, required=True)
    with transaction.atomic():
        locked = _locked(order)
        deadline = selectors.return_deadline(locked)
        if deadline is not None and timezone.now() > deadline:
            raise ReturnWindowClosed(
                _("The return window of %(shop)s closed on %(date)s (%(days)d days after delivery).")
                % {
                    "shop": locked.shop.name,
                    "date": deadline.date().isoformat(),
                    "days": selectors.return_window_days(locked.shop),
                }
            )
        _transition(
            locked,
            S.RETURN_REQUESTED,
            actor=actor,
            role=BUYER,
            note=note,
            updates={"status_before_request": locked.status, "request_reason": note},
        )
        _after_commit_staff_request(locked.pk, "return")
    order.refresh_from_db()
    return order


def _after_commit_staff_request(order_id: int, kind: str) -> None:
    if _quiet.get():
        return

    def enqueue() -> None:
        from agora.orders import tasks

        tasks.notify_shop_request.delay(order_id, kind)

    transaction.on_commit(enqueue)


def ship_order(*, actor: User, order: Order, tracking_number: str, note: str = "") -> Order:
    """The parcel left: a tracking number is required. Staff with "fulfil orders" (support included)."""
    _check_staff(order, actor, ShopAction.FULFIL_ORDERS)
    tracking = clean_text(tracking_number, field="tracking_number", max_length=80)
    if not tracking:
        raise OrderInvalid(
            _("A tracking number is required to mark the order shipped."),
            code="tracking_required",
            field="tracking_number",
        )
    with transaction.atomic():
        locked = _locked(order)
        if RefundRecord.objects.filter(order=locked, status=RefundRecord.PENDING, final_status=S.CANCELLED).exists():
            # The cancellation's refund is with the gateway (Stripe: pending): the order goes nowhere but back.
            raise IllegalTransition(
                _("This order is being cancelled: its refund is being processed. Do not ship it."),
                code="cancellation_pending",
            )
        _transition(
            locked,
            S.SHIPPED,
            actor=actor,
            role=STAFF,
            note=_reason(note, required=False),
            updates={"tracking_number": tracking, "shipped_at": timezone.now()},
        )
    order.refresh_from_db()
    return order


def mark_delivered(*, actor: User | None, order: Order, note: str = "") -> Order:
    """The parcel arrived; the shop's earnings on the order become payable (ledger). ``actor=None``: the
    system (a carrier's notice)."""
    role = SYSTEM
    if actor is not None:
        _check_staff(order, actor, ShopAction.FULFIL_ORDERS)
        role = STAFF
    with transaction.atomic():
        locked = _locked(order)
        _transition(
            locked,
            S.DELIVERED,
            actor=actor,
            role=role,
            note=_reason(note, required=False),
            updates={"delivered_at": timezone.now()},
        )
        ledger.record_payout_due(shop=locked.shop, order_id=locked.pk, currency=locked.currency, memo=locked.number)
    order.refresh_from_db()
    return order


def decline_request(*, actor: User, order: Order, note: str = "") -> Order:
    """Decline a refund or return request: the order goes back to where it was. Needs "refund orders"."""
    _check_staff(order, actor, ShopAction.REFUND_ORDERS)
    with transaction.atomic():
        locked = _locked(order)
        if locked.status not in (S.REFUND_REQUESTED, S.RETURN_REQUESTED) or not locked.status_before_request:
            raise IllegalTransition(_("There is no refund or return request to decline on this order."))
        _transition(
            locked,
            locked.status_before_request,
            actor=actor,
            role=STAFF,
            note=_reason(note, required=False),
            updates={"status_before_request": ""},
        )
    order.refresh_from_db()
    return order


def refund_order(
    *,
    actor: User,
    order: Order,
    lines: Mapping[Any, Any] | None = None,
    amount: object = None,
    reason: str = "",
    restock: bool | None = None,
) -> Order:
    """Refund through the gateway, by the shop's staff ("refund orders"): chosen ``lines`` ({line id:
    quantity}), or an ``amount``, or (neither) everything left. Partial → partially_refunded; all → refunded.
    ``restock`` (default: only if the order has not shipped) returns the refunded units to stock. The
    operator's commission on the refunded part goes back to the shop."""
    _check_staff(order, actor, ShopAction.REFUND_ORDERS)
    return _refund(
        order=order,
        actor=actor,
        role=STAFF,
        lines=lines,
        amount=amount,
        reason=_reason(reason, required=False),
        restock=restock,
    )


def accept_return(*, actor: User, order: Order, lines: Mapping[Any, Any] | None = None, note: str = "") -> Order:
    """The goods came back: they return to stock and are refunded (all, or the ``lines`` given). Needs
    "refund orders"."""
    _check_staff(order, actor, ShopAction.REFUND_ORDERS)
    if order.status != S.RETURN_REQUESTED:
        raise IllegalTransition(_("There is no return request on this order."), status=order.status)
    return _refund(
        order=order,
        actor=actor,
        role=STAFF,
        lines=lines,
        reason=_reason(note, required=False) or order.request_reason,
        restock=True,
        final_status=S.RETURNED if not lines else None,
    )


def _refund_plan(order: Order, lines: Mapping[Any, Any] | None, amount: object) -> tuple[Decimal, dict[int, int]]:
    """The amount and line quantities of a refund, checked against what is left (minus pending refunds)."""
    pending = list(RefundRecord.objects.filter(order=order, status=RefundRecord.PENDING))
    pending_amount = sum((r.amount for r in pending), Decimal(0))
    pending_lines: dict[int, int] = defaultdict(int)
    for record in pending:
        for key, quantity in record.lines.items():
            pending_lines[int(key)] += int(quantity)
    left_amount = order.total - order.refunded_amount - pending_amount
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
    left_lines = {
        pk: line.quantity - line.refunded_quantity - pending_lines.get(pk, 0) for pk, line in order_lines.items()
    }
    chosen: dict[int, int] = {}
    if lines is not None and not lines:
        # An empty choice is a mistake (no box ticked), not "everything": that is neither lines nor an amount.
        raise RefundInvalid(_("Choose at least one line to refund, or give an amount."), field="lines")
    if lines:
        for key, value in lines.items():
            try:
                pk = int(key)
            except (TypeError, ValueError):
                raise RefundInvalid(_("Lines are given as {line id: quantity}."), field="lines") from None
            if pk not in order_lines:
                raise RefundInvalid(_("The order has no line %(id)s.") % {"id": pk}, field="lines")
            quantity = _quantity(value, field="lines")
            if quantity > left_lines[pk]:
                raise RefundInvalid(
                    _("At most %(count)d of %(title)s can still be refunded.")
                    % {"count": left_lines[pk], "title": order_lines[pk].title},
                    field="lines",
                )
            chosen[pk] = quantity
    elif amount is None:
        chosen = {pk: n for pk, n in left_lines.items() if n > 0}
    if amount is not None:
        value = to_amount(amount, order.currency, field="amount")
        if value <= 0:
            raise RefundInvalid(_("A refund must be more than zero."), field="amount")
    else:
        value = sum((order_lines[pk].unit_price * n for pk, n in chosen.items()), Decimal(0))
        if all(left_lines[pk] - chosen.get(pk, 0) == 0 for pk in left_lines):
            # The last goods refunded: the delivery goes back too, and the order is refunded in full.
            value = left_amount
    if value > left_amount:
        raise RefundInvalid(
            _("At most %(amount)s can still be refunded.") % {"amount": _money(left_amount, order.currency)},
            field="amount",
        )
    if value <= 0 and not chosen:
        raise RefundInvalid(_("Nothing is left to refund on this order."), field="amount")
    return value, chosen


def _refund(
    *,
    order: Order,
    actor: User | None,
    role: str,
    reason: str,
    lines: Mapping[Any, Any] | None = None,
    amount: object = None,
    restock: bool | None = None,
    final_status: str | None = None,
) -> Order:
    # 1. Check and write down the refund (pending), under the order's lock: concurrent refunds see each other.
    with transaction.atomic():
        locked = _locked(order)
        target = final_status or S.PARTIALLY_REFUNDED
        if not states.allowed(locked, target, role) and not states.allowed(locked, S.REFUNDED, role):
            raise IllegalTransition(
                _("An order that is %(status)s cannot be refunded.") % {"status": S(locked.status).label.lower()},
                status=locked.status,
            )
        value, chosen = _refund_plan(locked, lines, amount)
        if restock is None:
            restock = locked.shipped_at is None
        record = RefundRecord.objects.create(
            order=locked,
            amount=value,
            commission_back=Decimal(0),
            reason=reason,
            lines={str(k): v for k, v in chosen.items()},
            restock=restock,
            final_status=final_status or "",
            actor=actor if actor is not None and actor.is_authenticated else None,
            role=role,
        )
    # 2. The gateway, outside any transaction; the record's id makes a retry refund nothing twice.
    complete_refund(record)
    order.refresh_from_db()
    return order


def complete_refund(record: RefundRecord) -> RefundRecord:
    """Send a pending refund to the gateway and apply it to the order (amounts, lines, stock, ledger, status).

    Safe to call again (the periodic task finishes refunds interrupted by a crash): the gateway call is
    idempotent on the record's key and the order is changed once. A refund the gateway has taken but not made yet
    (Stripe: "pending"; or no answer) leaves the record pending: the order changes when the gateway settles it
    (``apply_gateway_refund``, from payments' ``refund_status_changed``), or the periodic task asks again.
    """
    order = Order.objects.select_related("payment").get(pk=record.order_id)
    refund_id: int | None = None
    if record.amount > 0 and order.payment is not None:
        try:
            refund = payments.refund_payment(
                payment=order.payment,
                amount=record.amount,
                reason=record.reason or _("Refund"),
                idempotency_key=_refund_key(record.pk),
            )
        except DomainError:
            RefundRecord.objects.filter(pk=record.pk, status=RefundRecord.PENDING).update(status=RefundRecord.FAILED)
            raise
        refund_id = refund.pk
        if refund.status == RefundStatus.FAILED:
            RefundRecord.objects.filter(pk=record.pk, status=RefundRecord.PENDING).update(status=RefundRecord.FAILED)
            raise RefundInvalid(
                _("The payment gateway refused the refund: %(reason)s")
                % {"reason": refund.failure_message or _("no reason given")}
            )
        if refund.status != RefundStatus.SUCCEEDED:
            return RefundRecord.objects.get(pk=record.pk)
    _apply_refund(record.pk, refund_id)
    return RefundRecord.objects.get(pk=record.pk)


def _refund_key(record_id: int) -> str:
    return f"order-refund:{record_id}"


def _apply_refund(record_id: int, refund_id: int | None) -> bool:
    """The money went back: the order, its lines, the stock and the ledger say so. Once per record (False when it
    was applied before)."""
    record = RefundRecord.objects.get(pk=record_id)
    order = Order.objects.get(pk=record.order_id)
    with transaction.atomic():
        locked = _locked(order)
        if not RefundRecord.objects.filter(pk=record.pk, status=RefundRecord.PENDING).update(
            status=RefundRecord.DONE, payment_refund_id=refund_id
        ):
            return False
        refunded = locked.refunded_amount + record.amount
        if refunded >= locked.total:
            already = RefundRecord.objects.filter(order=locked, status=RefundRecord.DONE).exclude(pk=record.pk)
            given = already.aggregate(s=Sum("commission_back"))["s"] or Decimal(0)
            commission_back = locked.commission - given
        else:
            # The operator gives back the same share of its commission as the share of the order refunded.
            commission_back = ledger.round_money(locked.commission * record.amount / locked.total, locked.currency)
        RefundRecord.objects.filter(pk=record.pk).update(commission_back=commission_back)
        returned: list[tuple[int | None, int]] = []
        # Goods that left the warehouse after the refund was asked for are not in stock to return.
        restock = record.restock and not (locked.shipped_at is not None and locked.shipped_at > record.created_at)
        for key, quantity in record.lines.items():
            OrderLine.objects.filter(pk=int(key), order=locked).update(
                refunded_quantity=F("refunded_quantity") + int(quantity)
            )
            if restock:
                variant_id = OrderLine.objects.filter(pk=int(key)).values_list("variant_id", flat=True).first()
                returned.append((variant_id, int(quantity)))
        _return_stock(returned)
        if record.amount > 0:
            ledger.record_refund(
                shop=locked.shop,
                order_id=locked.pk,
                currency=locked.currency,
                amount=record.amount,
                commission_back=commission_back,
                key=_refund_key(record.pk),
                memo=locked.number,
            )
        full = refunded >= locked.total
        to_status = record.final_status or (S.REFUNDED if full else S.PARTIALLY_REFUNDED)
        updates: dict[str, Any] = {"refunded_amount": refunded}
        if to_status in states.FINAL:
            updates["closed_at"] = timezone.now()
        role = record.role or STAFF
        if not states.allowed(locked, to_status, role):
            # The order moved meanwhile (shipped while a cancellation was refunded): the money went back anyway,
            # so the order says how much of it was refunded.
            to_status, role = (S.REFUNDED if full else S.PARTIALLY_REFUNDED), SYSTEM
            if to_status == S.REFUNDED:
                updates["closed_at"] = timezone.now()
        if states.allowed(locked, to_status, role):
            _transition(
                locked,
                to_status,
                actor=record.actor,
                role=role,
                note=record.reason,
                amount=record.amount,
                updates=updates,
            )
        else:
            # The money went back whatever the order did meanwhile: record it without moving the status.
            Order.objects.filter(pk=locked.pk).update(refunded_amount=refunded, updated_at=timezone.now())
            event = OrderEvent.objects.create(
                order=locked,
                from_status=locked.status,
                to_status=locked.status,
                actor=record.actor,
                actor_role=role,
                note=record.reason,
                amount=record.amount,
            )
            _after_commit_notify(event.pk)
    return True


REFUND_KEY_RE = re.compile(r"^order-refund:(\d{1,18})$")


def apply_gateway_refund(refund: Refund) -> None:
    """What a refund that the gateway settled means for the orders (payments' ``refund_status_changed``, sent
    inside the payment's transaction, under its lock).

    An Agora refund of an order (``order-refund:<record>``) that the gateway made after all is applied to the order;
    one it refused fails its record. A refund made outside Agora (the Stripe dashboard) is recorded on the orders
    the payment paid (``record_outside_refund``). Other refunds (money no order took) concern no order.
    """
    match = REFUND_KEY_RE.match(refund.idempotency_key)
    if match is not None:
        record_id = int(match.group(1))
        if refund.status == RefundStatus.FAILED:
            RefundRecord.objects.filter(pk=record_id, status=RefundRecord.PENDING).update(status=RefundRecord.FAILED)
            logger.warning("orders: the gateway refused refund %s of order refund %s", refund.pk, record_id)
        elif refund.status == RefundStatus.SUCCEEDED and RefundRecord.objects.filter(pk=record_id).exists():
            try:
                # A failure here must not undo the payment's transaction: its refund was made at the gateway.
                # The record stays pending and the periodic task applies it.
                with transaction.atomic():
                    _apply_refund(record_id, refund.pk)
            except Exception:
                logger.exception("orders: refund %s could not be applied to order refund %s", refund.pk, record_id)
        return
    if refund.status == RefundStatus.SUCCEEDED and refund.idempotency_key.startswith("gateway:"):
        record_outside_refund(refund)


def record_outside_refund(refund: Refund) -> list[RefundRecord]:
    """Record on the orders a refund made at the payment provider, outside Agora (the Stripe dashboard).

    The refund goes to the order of the payment whose refundable amount it matches exactly, else it fills the
    payment's orders in turn (oldest first), never beyond what each has left. Each order gets a refund record, its
    refunded amount and status (partially refunded or refunded, with an event "by the system") and the ledger
    movements, commission share included. Nothing returns to stock: nobody said the goods came back. Idempotent:
    a refund already recorded records nothing.
    """
    if refund.status != RefundStatus.SUCCEEDED or refund.amount <= 0:
        return []
    with transaction.atomic():
        # The payment's lock (payments holds it when it sends the signal) makes two deliveries take turns.
        Payment.objects.select_for_update().filter(pk=refund.payment_id).first()
        if RefundRecord.objects.filter(payment_refund_id=refund.pk).exists():
            return []
        orders = list(Order.objects.select_for_update().filter(payment_id=refund.payment_id).order_by("pk"))
        pending = dict(
            RefundRecord.objects.filter(order__in=orders, status=RefundRecord.PENDING)
            .values("order_id")
            .annotate(s=Sum("amount"))
            .values_list("order_id", "s")
        )
        room = {o.pk: max(o.total - o.refunded_amount - (pending.get(o.pk) or Decimal(0)), Decimal(0)) for o in orders}
        left = refund.amount
        plan: list[tuple[Order, Decimal]] = []
        exact = [o for o in orders if room[o.pk] == left]
        if exact:
            plan.append((exact[0], left))
            left = Decimal(0)
        else:
            for order in orders:
                share = min(room[order.pk], left)
                if share > 0:
                    plan.append((order, share))
                    left -= share
        note = _("Refunded at the payment provider, outside Agora.")
        records = []
        for order, share in plan:
            record = RefundRecord.objects.create(
                order=order,
                amount=share,
                reason=note,
                lines={},
                restock=False,
                role=SYSTEM,
                payment_refund_id=refund.pk,
            )
            _apply_refund(record.pk, refund.pk)
            records.append(record)
        if left > 0:
            # Money no order holds any more (orders refunded already, or a payment no order took in full).
            logger.warning("orders: %s of outside refund %s is on no order", left, refund.pk)
    return records


# --- deals: one item bought outside the cart, paid in two steps -----------------------
def _direct_unit_price(unit_price: object, currency: str) -> Decimal:
    if isinstance(unit_price, bool):
        raise CheckoutInvalid(_("The price must be an amount."), field="unit_price")
    return to_amount(unit_price, currency, field="unit_price")


def place_direct_checkout(
    *,
    actor: User,
    variant_id: int,
    quantity: int,
    unit_price: Decimal,
    address: Mapping[str, Any],
    payment_method: str,
    delivery_method_id: int | None = None,
    capture: bool = True,
    reserved_until: datetime | None = None,
    price_note: str = "",
    purpose: str = "",
    claim: Callable[[Checkout, Order], None] | None = None,
) -> Checkout:
    """Buy one item outside the cart at ``unit_price`` (a deal's price) and pay for it.

    In ONE transaction: the variant is locked, its stock taken, the Checkout (``authorise_only`` unless
    ``capture``), its Order, line and "placed" event created, and then ``claim(checkout, order)`` runs: the
    caller's own bookkeeping (a team place, a flash claim) under the same transaction, so a DomainError from it
    undoes everything (no order, no stock taken). Then, outside it, the payment starts like ``place_checkout``:
    ``capture=False`` only authorises it and the order stays placed until ``capture_placed_order`` or
    ``cancel_placed_order``. Errors as ``place_checkout``: CheckoutInvalid, DeliveryUnavailable, ItemUnavailable,
    QuantityInvalid, SoldOut (409), PaymentDeclined (402: the order was cancelled, its stock returned).
    """
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    clean = clean_address(address)
    method = _check_payment_method(payment_method)
    count = _quantity(quantity)
    if count > settings.AGORA_CART_MAX_QUANTITY:
        raise QuantityInvalid(
            _("At most %(max)d of one item per order.") % {"max": settings.AGORA_CART_MAX_QUANTITY}, field="quantity"
        )
    if delivery_method_id is not None and (
        isinstance(delivery_method_id, bool)
        or not isinstance(delivery_method_id, int)
        or not 0 < delivery_method_id <= MAX_ID
    ):
        raise CheckoutInvalid(_("Choose one of the delivery methods offered."), field="delivery_method_id")
    purpose = (purpose or "").strip()
    if len(purpose) > 16:
        raise CheckoutInvalid(_("A checkout's purpose has at most 16 characters."), field="purpose")
    note = (price_note or "").strip()[:80]
    now = timezone.now()
    until = reserved_until or now + timedelta(minutes=_reservation_minutes(actor))
    with transaction.atomic():
        variant = (
            Variant.objects.select_for_update(of=("self",))
            .select_related("product", "product__shop")
            .filter(pk=variant_id if isinstance(variant_id, int) and 0 < variant_id <= MAX_ID else 0)
            .first()
        )
        if variant is None or not is_buyable(variant):
            raise ItemUnavailable(
                _("Variant %(id)s does not exist or is not for sale.") % {"id": variant_id},
                field="variant_id",
                variant_id=variant_id,
            )
        shop = variant.product.shop
        price = _direct_unit_price(unit_price, shop.currency)
        if variant.stock_quantity < count:
            left = max(variant.stock_quantity, 0)
            raise SoldOut(
                _("%(title)s is sold out.") % {"title": _title(variant)}
                if left <= 0
                else _("Only %(count)d of %(title)s left; you asked for %(quantity)d.")
                % {"count": left, "title": _title(variant), "quantity": count},
                variant_id=variant.pk,
                product_id=variant.product_id,
                product=variant.product.title,
                available=left,
            )
        subtotal = price * count
        delivery = _choose_delivery(shop, clean["country"], subtotal, delivery_method_id)
        total = subtotal + delivery.cost
        if total > MAX_TOTAL:
            raise CheckoutInvalid(
                _("A checkout can come to at most %(max)s. Lower the quantity.")
                % {"max": selectors.max_total_label(shop.currency)},
                code="total_too_large",
                field="quantity",
            )
        if not adjust_stock(variant_id=variant.pk, delta=-count):
            # Not reachable under the row lock; kept so that a change of locking can never oversell.
            raise SoldOut(_("%(title)s is sold out.") % {"title": _title(variant)}, variant_id=variant.pk)
        checkout = Checkout.objects.create(
            public_id=uuid.uuid4().hex,
            buyer=actor,
            email=actor.email or "",
            shipping_address=clean,
            currency=shop.currency,
            total=total,
            payment_method=method,
            reserved_until=until,
            authorise_only=not capture,
            purpose=purpose,
        )
        rate = selectors.commission_rate(shop)
        order = Order.objects.create(
            checkout=checkout,
            shop=shop,
            buyer=actor,
            email=checkout.email,
            number=_new_number(),
            currency=shop.currency,
            subtotal=subtotal,
            delivery_cost=delivery.cost,
            total=total,
            commission_rate=rate,
            commission=ledger.commission_for(amount=total, rate=rate, currency=shop.currency),
            delivery_method_id=delivery.method_id,
            delivery_method_name=delivery.name,
            delivery_min_days=delivery.min_days,
            delivery_max_days=delivery.max_days,
            reserved_until=until,
            placed_at=now,
        )
        OrderLine.objects.create(
            order=order,
            variant=variant,
            product_id=variant.product_id,
            title=variant.product.title,
            variant_name=variant.name,
            sku=variant.sku,
            unit_price=price,
            price_note=note,
            quantity=count,
        )
        OrderEvent.objects.create(
            order=order, from_status="", to_status=S.PLACED, actor=actor, actor_role=BUYER, created_at=now
        )
        if claim is not None:
            claim(checkout, order)
    return pay_checkout(checkout=checkout, method=method)


def reprice_placed_order(order: Order, *, unit_price: Decimal, note: str = "") -> Order:
    """Give a placed order's lines ``unit_price`` (a team reached a better tier before paying).

    Subtotal, total and commission follow; the delivery stays. Never above the payment authorised for it
    (OrderInvalid): an authorisation cannot grow. IllegalTransition when the order is not placed. No-op (no event)
    when the lines already cost that.
    """
    with transaction.atomic():
        # The checkout first, then the order: the order in which a payment's arrival locks them too.
        checkout = Checkout.objects.select_for_update(of=("self",)).select_related("payment").get(pk=order.checkout_id)
        locked = _locked(order)
        if locked.status != S.PLACED:
            raise IllegalTransition(
                _("Only an order awaiting payment can change its price; this one is %(status)s.")
                % {"status": S(locked.status).label.lower()},
                status=locked.status,
            )
        price = _direct_unit_price(unit_price, locked.currency)
        lines = list(OrderLine.objects.filter(order=locked))
        if all(line.unit_price == price for line in lines):
            return locked
        subtotal = sum((price * line.quantity for line in lines), Decimal(0))
        total = subtotal + locked.delivery_cost
        payment = checkout.payment
        held = payment is not None and payment.status not in (PaymentStatus.FAILED, PaymentStatus.VOIDED)
        if held and payment is not None and total > payment.amount:
            raise OrderInvalid(
                _("The new price would make the order %(total)s, more than the %(authorised)s authorised.")
                % {"total": _money(total, locked.currency), "authorised": _money(payment.amount, locked.currency)},
                code="above_authorised",
                field="unit_price",
            )
        if total > MAX_TOTAL:
            raise OrderInvalid(_("The new price makes the order too large."), field="unit_price")
        commission = ledger.commission_for(amount=total, rate=locked.commission_rate, currency=locked.currency)
        OrderLine.objects.filter(order=locked).update(unit_price=price)
        Order.objects.filter(pk=locked.pk).update(
            subtotal=subtotal, total=total, commission=commission, updated_at=timezone.now()
        )
        Checkout.objects.filter(pk=checkout.pk).update(total=F("total") + (total - locked.total))
        OrderEvent.objects.create(
            order=locked,
            from_status=S.PLACED,
            to_status=S.PLACED,
            actor=None,
            actor_role=SYSTEM,
            note=(note or _("New price: %(price)s each") % {"price": _money(price, locked.currency)})[:2000],
            amount=total,
        )
    locked.refresh_from_db()
    return locked


def capture_placed_order(order: Order) -> Order:
    """Capture the authorised payment of a placed order for exactly ``order.total``; the order becomes paid.

    The payment's signal marks it paid (ledger, notifications) like any payment. Idempotent: an order paid before
    is returned unchanged. IllegalTransition when the order is neither placed nor paid, or its payment is not
    authorised. A gateway that does not answer leaves the order placed and the payment "unknown" (reconciled by
    the periodic task). No lock is held here while the gateway is called.
    """
    order.refresh_from_db()
    if order.paid_at is not None:
        return order
    if order.status != S.PLACED:
        raise IllegalTransition(
            _("An order that is %(status)s cannot be charged.") % {"status": S(order.status).label.lower()},
            status=order.status,
        )
    payment = selectors.authorised_payment_of(order)
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        raise IllegalTransition(
            _("Order %(number)s has no authorised payment to capture.") % {"number": order.number},
            code="not_authorised",
        )
    payment = payments.capture_payment(payment=payment, amount=order.total)
    # The signal applied it inside the capture's transaction; again is a no-op that covers an unchanged status.
    apply_payment(payment)
    order.refresh_from_db()
    return order


def cancel_placed_order(order: Order, *, note: str, notify_buyer: bool = True) -> bool:
    """``cancel_placed_orders`` for one order; ``order`` gets its new status. False when it was not placed any
    more."""
    if not cancel_placed_orders([order.pk], note=note, notify_buyer=notify_buyer):
        return False
    order.refresh_from_db(fields=["status", "closed_at"])
    return True


def cancel_placed_orders(order_ids: Sequence[int], *, note: str, notify_buyer: bool = True) -> list[int]:
    """The system cancels placed orders (a team failed), in one transaction: their stock returns,
    ``order_closed_unpaid`` is sent once for all and, after commit, their checkouts' authorisations are voided.
    Returns the ids of the orders this call cancelled; of two concurrent calls only one cancels (and voids) an
    order. ``notify_buyer=False`` when the caller tells the buyers itself (a team's own message)."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    with transaction.atomic():
        # Checkouts, then orders, each in id order: the order every checkout path takes its locks in.
        checkout_ids = sorted(set(Order.objects.filter(pk__in=ids).values_list("checkout_id", flat=True)))
        list(Checkout.objects.select_for_update().filter(pk__in=checkout_ids).order_by("pk").values_list("pk"))
        locked = list(Order.objects.select_for_update().filter(pk__in=ids, status=S.PLACED).order_by("pk"))
        if not locked:
            return []
        now = timezone.now()
        Order.objects.filter(pk__in=[o.pk for o in locked]).update(status=S.CANCELLED, closed_at=now)
        _after_closing_unpaid(locked, S.CANCELLED, now, actor=None, role=SYSTEM, note=note, notify=notify_buyer)
        payment_ids = sorted(
            set(
                Checkout.objects.filter(pk__in={o.checkout_id for o in locked}, payment__isnull=False).values_list(
                    "payment_id", flat=True
                )
            )
        )
        if payment_ids:
            transaction.on_commit(lambda: _enqueue_voids(payment_ids))
    return [o.pk for o in locked]


def prepare_price_difference_refund(
    order: Order, *, amount: Decimal, idempotency_key: str, note: str
) -> RefundRecord | None:
    """Write down (pending) that ``amount`` of a paid order is to be given back, once per ``idempotency_key``.

    Nothing is sent to the gateway: call it inside the caller's transaction (so that the caller's own bookkeeping
    commits with the record), then ``complete_refund(record)`` after the commit; a record left pending by a crash is
    completed by the periodic task. Returns the existing record for a key used before, None when ``amount`` is not
    more than zero.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 120:
        raise RefundInvalid(_("A refund key of 1 to 120 characters is required."), field="idempotency_key")
    if isinstance(amount, Decimal | int) and not isinstance(amount, bool) and amount <= 0:
        return None
    value = to_amount(amount, order.currency, field="amount")
    if value <= 0:
        return None
    existing = RefundRecord.objects.filter(idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                locked = _locked(order)
                # Under the order's lock: a concurrent call with the same key has committed its record by now.
                existing = RefundRecord.objects.filter(idempotency_key=key).first()
                if existing is None:
                    if not states.allowed(locked, S.PARTIALLY_REFUNDED, SYSTEM) and not states.allowed(
                        locked, S.REFUNDED, SYSTEM
                    ):
                        raise IllegalTransition(
                            _("An order that is %(status)s cannot be refunded.")
                            % {"status": S(locked.status).label.lower()},
                            status=locked.status,
                        )
                    value, _chosen = _refund_plan(locked, None, value)
                    return RefundRecord.objects.create(
                        order=locked,
                        amount=value,
                        reason=clean_text(note, field="note", max_length=2000),
                        lines={},
                        restock=False,
                        role=SYSTEM,
                        idempotency_key=key,
                    )
        except IntegrityError:
            existing = RefundRecord.objects.get(idempotency_key=key)
    assert existing is not None
    if existing.order_id != order.pk:
        raise RefundInvalid(_("This refund key was used for another order."), field="idempotency_key")
    return existing


def refund_price_difference(order: Order, *, amount: Decimal, idempotency_key: str, note: str) -> RefundRecord | None:
    """The system gives back ``amount`` of a paid order (a team reached a better tier after this member paid).

    No lines and no stock move; the ledger and the operator's commission share go back like any refund, and the
    order becomes partially refunded with ``note`` as the event's note. The same ``idempotency_key`` returns the
    same record and never refunds twice (a record left pending by a crash is completed). None when ``amount`` is
    not more than zero. Call it outside any transaction (the gateway is called).
    """
    record = prepare_price_difference_refund(order, amount=amount, idempotency_key=idempotency_key, note=note)
    if record is None or record.status != RefundRecord.PENDING:
        return record
    result = complete_refund(record)
    order.refresh_from_db()
    return result


# --- guest orders ---------------------------------------------------------------------
def claim_token(checkout: Checkout) -> str:
    """The signed token of a guest checkout's claim link (sent only to the e-mail address it was placed with)."""
    return signing.dumps({"c": checkout.public_id, "e": checkout.email.lower()}, salt=CLAIM_SALT, compress=True)


def claim_guest_orders(user: User, token: str) -> list[Order]:
    """Attach a guest checkout's orders to ``user`` from the claim link in its confirmation e-mail.

    The link proves the e-mail was read; the account must have the same address. Orders are never attached on
    the strength of a matching e-mail alone. Claiming twice is harmless.
    """
    if user is None or not user.is_authenticated:
        raise NotAuthenticated(_("Sign in (or sign up) with the address the order was placed with first."))
    try:
        data = signing.loads(
            (token or "").strip(), salt=CLAIM_SALT, max_age=timedelta(days=settings.AGORA_ORDER_CLAIM_DAYS)
        )
    except signing.SignatureExpired:
        raise ClaimInvalid(_("This claim link has expired."), field="token") from None
    except signing.BadSignature:
        raise ClaimInvalid(_("This claim link is not valid."), field="token") from None
    if not isinstance(data, dict) or "c" not in data or "e" not in data:
        raise ClaimInvalid(_("This claim link is not valid."), field="token")
    if (user.email or "").lower() != str(data["e"]).lower():
        raise ClaimInvalid(
            _("This order was placed with another e-mail address. Sign in with that address to claim it."),
            code="claim_email_mismatch",
            field="token",
        )
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(public_id=data["c"]).first()
        if checkout is None:
            raise ClaimInvalid(_("This claim link is not valid."), field="token")
        if checkout.buyer_id not in (None, user.pk):
            raise ClaimInvalid(_("These orders were already claimed by another account."), field="token")
        Checkout.objects.filter(pk=checkout.pk).update(buyer=user)
        Order.objects.filter(checkout=checkout, buyer__isnull=True).update(buyer=user)
    return list(Order.objects.filter(checkout=checkout).order_by("pk"))


# --- expiry ---------------------------------------------------------------------------
def expire_unpaid_orders(*, now: datetime | None = None) -> int:
    """Cancel placed orders past their reservation and return their stock; returns how many expired.

    Safe to run twice or concurrently: each order moves with a conditional update, and only the run that moved
    it returns its stock. Payments whose outcome is unknown are asked about first, so a payment that did go
    through pays its orders instead of being refunded.
    """
    now = now or timezone.now()
    due = Order.objects.filter(status=S.PLACED, reserved_until__lt=now)
    checkout_ids = sorted(set(due.values_list("checkout_id", flat=True)))
    for payment in Payment.objects.filter(
        checkouts__pk__in=checkout_ids, status__in=[PaymentStatus.UNKNOWN, PaymentStatus.PENDING]
    ).distinct():
        try:
            apply_payment(payments.reconcile_payment(payment=payment))
        except DomainError:
            logger.warning("orders: could not reconcile payment %s before expiry", payment.pk, exc_info=True)
    expired = 0
    for order in Order.objects.filter(status=S.PLACED, reserved_until__lt=now).order_by("pk"):
        with transaction.atomic():
            if _close_unpaid(order, S.EXPIRED, actor=None, role=SYSTEM, note=_("Not paid in time")):
                expired += 1
    for payment_id in Payment.objects.filter(
        checkouts__pk__in=checkout_ids, status__in=[PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION]
    ).values_list("pk", flat=True):
        _enqueue_void(payment_id)
    # Refunds interrupted between the gateway and the database are finished here too.
    stale = timezone.now() - timedelta(minutes=2)
    for record in RefundRecord.objects.filter(status=RefundRecord.PENDING, created_at__lt=stale):
        try:
            complete_refund(record)
        except DomainError:
            logger.warning("orders: pending refund %s could not be completed", record.pk, exc_info=True)
    return expired


def purge_stale_guest_carts(*, now: datetime | None = None) -> int:
    """Forget guest carts nobody touched for AGORA_GUEST_CART_DAYS; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AGORA_GUEST_CART_DAYS)
    _total, by_model = Cart.objects.filter(user__isnull=True, updated_at__lt=cutoff).delete()
    return by_model.get(Cart._meta.label, 0)


# --- sales policy ---------------------------------------------------------------------
def update_sales_policy(
    *,
    actor: User,
    shop: Shop,
    return_window_days: object = None,
    commission_rate: object = None,
    clear_commission_rate: bool = False,
) -> ShopSalesPolicy:
    """The shop's return window (owners and managers: "edit shop") and its commission rate (the operator's
    staff only; ``clear_commission_rate`` goes back to the platform default)."""
    changes_rate = commission_rate is not None or clear_commission_rate
    if changes_rate and not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied(_("Only the operator's staff set a shop's commission rate."), field="commission_rate")
    if return_window_days is not None or not changes_rate:
        require(actor, shop, ShopAction.EDIT_SHOP)
    policy, _created = ShopSalesPolicy.objects.get_or_create(shop=shop)
    if return_window_days is not None:
        if (
            isinstance(return_window_days, bool)
            or not isinstance(return_window_days, int)
            or not (0 <= return_window_days <= 365)
        ):
            raise OrderInvalid(_("The return window is 0 to 365 days."), field="return_window_days")
        policy.return_window_days = return_window_days
    if clear_commission_rate:
        policy.commission_rate = None
    elif commission_rate is not None:
        try:
            rate = Decimal(str(commission_rate))
        except ArithmeticError:
            raise OrderInvalid(_("The commission rate is a fraction such as 0.10."), field="commission_rate") from None
        if not rate.is_finite() or rate < 0 or rate > 1 or rate != rate.quantize(Decimal("0.0001")):
            raise OrderInvalid(
                _("The commission rate is a fraction from 0 to 1 with at most 4 decimals, such as 0.10."),
                field="commission_rate",
            )
        policy.commission_rate = rate
    policy.save()
    return policy

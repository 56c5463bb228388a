"""Reads for carts, checkout and orders, checked against who is asking.

For the web pages and other apps: ``cart_view`` (the cart grouped by shop, with what changed), ``checkout_preview``
(totals and delivery per shop), ``orders_of`` / ``order_for_buyer`` (the shopper), ``shop_orders`` /
``order_for_staff`` (a shop's staff), ``order_timeline``, and for social features ``buyers_among`` and
``recent_purchase_counts``. Lists come with their related rows in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core import signing
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Product, ProductImage, ProductStatus, Variant
from agora.core.errors import DomainError, NotAuthenticated
from agora.core.money import CURRENCIES, format_money
from agora.orders import states
from agora.orders.errors import CheckoutNotFound, ClaimInvalid, OrderNotFound
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
from agora.orders.states import BOUGHT
from agora.payments.models import PAID, Payment, PaymentStatus
from agora.shipping.selectors import DeliveryQuote, delivery_options
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, can

# How the web session remembers a guest's cart (the API sends the token in the X-Cart-Token header instead).
CART_SESSION_KEY = "agora_cart_token"
# What a shop's staff must act on ("open" in the shop's order list).
OPEN_STATUSES = (OrderStatus.PAID, OrderStatus.REFUND_REQUESTED, OrderStatus.RETURN_REQUESTED)
CART_TOKEN_HEADER = "X-Cart-Token"  # noqa: S105 (a header name, not a secret)
# The salt of a guest checkout's signed link (``services.claim_token``), e-mailed to the guest only.
CLAIM_SALT = "agora.orders.claim"
# The most one checkout may come to: amount columns hold 9 digits before the point (max_digits=12, decimal_places=3).
MAX_TOTAL = Decimal("999999999.99")


def max_total_label(currency: str) -> str:
    """MAX_TOTAL as the shopper reads it in ``currency`` (rounded down: "¥999,999,999", not "¥1,000,000,000")."""
    exponent = CURRENCIES.get(currency, (2, ""))[0]
    return format_money(MAX_TOTAL.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_DOWN), currency)


# --- carts ----------------------------------------------------------------------------
def find_cart(*, user: Viewer = None, token: str = "") -> Cart | None:
    """The signed-in user's cart, else the guest cart with ``token``; None when there is none (nothing created)."""
    if user is not None and user.is_authenticated:
        return Cart.objects.filter(user_id=user.pk).first()
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    return Cart.objects.filter(token=token, user__isnull=True).first()


def cart_item_count(*, user: Viewer = None, token: str = "") -> int:
    """Units in the cart (the badge in the header): one query, zero without a cart."""
    if user is not None and user.is_authenticated:
        rows = CartItem.objects.filter(cart__user_id=user.pk)
    elif token:
        rows = CartItem.objects.filter(cart__token=token, cart__user__isnull=True)
    else:
        return 0
    return int(rows.filter(variant__isnull=False).aggregate(n=Sum("quantity"))["n"] or 0)


def is_buyable(variant: Variant) -> bool:
    """Can this variant be put in a cart and bought (stock aside)? Needs product and shop loaded."""
    product = variant.product
    return variant.is_active and product.status == ProductStatus.PUBLISHED and product.shop.is_active


@dataclass
class CartLine:
    """One line of the cart as the shopper sees it now (current price and stock)."""

    item_id: int
    variant: Variant
    product: Product
    shop: Shop
    quantity: int
    unit_price: Decimal
    seen_price: Decimal
    currency: str
    available: int
    # "" when fine; "sold_out" or "less_available" when the stock cannot cover the quantity.
    problem: str = ""
    image: ProductImage | None = None

    @property
    def variant_id(self) -> int:
        return self.variant.pk

    @property
    def title(self) -> str:
        return self.product.title

    @property
    def variant_name(self) -> str:
        return self.variant.name

    @property
    def sku(self) -> str:
        return self.variant.sku

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class CartGroup:
    """The lines of one shop, with their subtotal in the shop's currency."""

    shop: Shop
    currency: str
    lines: list[CartLine]

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal(0))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass
class CartChange:
    """Something that changed since the shopper last looked: ``kind`` is one of "price_up", "price_down",
    "sold_out", "less_available" or "removed"; ``message`` says it in words."""

    kind: str
    item_id: int
    variant_id: int | None
    title: str
    message: str
    currency: str
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    quantity: int = 0
    available: int | None = None


@dataclass
class CartView:
    cart: Cart | None
    groups: list[CartGroup] = field(default_factory=list)
    changes: list[CartChange] = field(default_factory=list)
    coupon_code: str = ""
    coupon_message: str = ""

    @property
    def lines(self) -> list[CartLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def currencies(self) -> list[str]:
        return sorted({group.currency for group in self.groups})

    @property
    def totals(self) -> dict[str, Decimal]:
        """The subtotal of every currency in the cart (usually just one)."""
        result: dict[str, Decimal] = {}
        for group in self.groups:
            result[group.currency] = result.get(group.currency, Decimal(0)) + group.subtotal
        return result

    @property
    def has_problems(self) -> bool:
        """Lines whose quantity the stock cannot cover: checkout would fail until they are fixed."""
        return any(line.problem for line in self.lines)


def coupon_message(code: str) -> str:
    if not code:
        return ""
    # No promotions app exists yet: the code is kept on the cart and reported as not recognised.
    return _("The coupon code %(code)s is not recognised.") % {"code": code}


def _cart_items(cart: Cart) -> list[CartItem]:
    return list(
        CartItem.objects.filter(cart=cart)
        .prefetch_related(
            Prefetch("variant", queryset=Variant.objects.select_related("product__shop")),
            Prefetch(
                "variant__product__images",
                queryset=ProductImage.objects.order_by("position", "id"),
                to_attr="photo_list",
            ),
        )
        .order_by("added_at", "id")
    )


def _price_change(item: CartItem, variant: Variant) -> CartChange | None:
    if variant.price == item.seen_price:
        return None
    up = variant.price > item.seen_price
    currency = variant.product.shop.currency
    values = {
        "title": item.title,
        "old": format_money(item.seen_price, currency),
        "new": format_money(variant.price, currency),
    }
    return CartChange(
        kind="price_up" if up else "price_down",
        item_id=item.pk,
        variant_id=variant.pk,
        title=item.title,
        message=(
            _("%(title)s now costs %(new)s (was %(old)s).") if up else _("%(title)s is cheaper: %(new)s (was %(old)s).")
        )
        % values,
        currency=currency,
        old_price=item.seen_price,
        new_price=variant.price,
        quantity=item.quantity,
    )


def cart_view(cart: Cart | None) -> CartView:
    """The cart now: lines grouped by shop (in the order they were added) at current prices and stock, the
    subtotal per shop, and the changes since the shopper last looked (prices, stock, lines no longer for sale).

    A read only: nothing is updated. ``services.review_cart`` returns the same and then records that the shopper
    has seen the changes (new prices become the seen ones; lines that can no longer be bought are dropped).
    Three queries whatever the size of the cart.
    """
    if cart is None:
        return CartView(cart=None)
    view = CartView(cart=cart, coupon_code=cart.coupon_code, coupon_message=coupon_message(cart.coupon_code))
    groups: dict[int, CartGroup] = {}
    for item in _cart_items(cart):
        variant = item.variant
        if variant is None or not is_buyable(variant):
            view.changes.append(
                CartChange(
                    kind="removed",
                    item_id=item.pk,
                    variant_id=item.variant_id,
                    title=item.title,
                    message=_("%(title)s is no longer for sale and was removed from your cart.")
                    % {"title": item.title},
                    currency=item.currency,
                    quantity=item.quantity,
                )
            )
            continue
        product = variant.product
        shop = product.shop
        change = _price_change(item, variant)
        if change is not None:
            view.changes.append(change)
        problem = ""
        if variant.stock_quantity <= 0:
            problem = "sold_out"
            message = _("%(title)s is sold out.") % {"title": item.title}
        elif variant.stock_quantity < item.quantity:
            problem = "less_available"
            message = _("Only %(count)d of %(title)s left; you have %(quantity)d in your cart.") % {
                "count": variant.stock_quantity,
                "title": item.title,
                "quantity": item.quantity,
            }
        if problem:
            view.changes.append(
                CartChange(
                    kind=problem,
                    item_id=item.pk,
                    variant_id=variant.pk,
                    title=item.title,
                    message=message,
                    currency=shop.currency,
                    quantity=item.quantity,
                    available=variant.stock_quantity,
                )
            )
        photos = getattr(product, "photo_list", [])
        line = CartLine(
            item_id=item.pk,
            variant=variant,
            product=product,
            shop=shop,
            quantity=item.quantity,
            unit_price=variant.price,
            seen_price=item.seen_price,
            currency=shop.currency,
            available=variant.stock_quantity,
            problem=problem,
            image=photos[0] if photos else None,
        )
        groups.setdefault(shop.pk, CartGroup(shop=shop, currency=shop.currency, lines=[])).lines.append(line)
    view.groups = list(groups.values())
    return view


# --- checkout preview -----------------------------------------------------------------
@dataclass
class CheckoutGroup:
    """One shop's part of a checkout: its lines, delivery options and the chosen one, and totals."""

    shop: Shop
    currency: str
    lines: list[CartLine]
    subtotal: Decimal
    options: list[DeliveryQuote] = field(default_factory=list)
    delivery: DeliveryQuote | None = None
    # Why no delivery could be chosen (the shop does not deliver to the country, or the chosen method is gone).
    delivery_error: str = ""

    @property
    def delivery_cost(self) -> Decimal:
        return self.delivery.cost if self.delivery is not None else Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.delivery_cost


@dataclass
class CheckoutPreview:
    """What the checkout page shows: per shop lines, delivery and totals in ``currency``, and the grand total.

    ``currencies`` lists every currency in the cart: with more than one, only ``currency``'s lines are here and
    the others wait for another checkout. ``ready`` is False while something blocks placing the order
    (``problems`` says what).
    """

    currency: str
    currencies: list[str]
    country: str
    groups: list[CheckoutGroup]
    changes: list[CartChange]
    problems: list[str]

    @property
    def subtotal(self) -> Decimal:
        return sum((g.subtotal for g in self.groups), Decimal(0))

    @property
    def delivery_total(self) -> Decimal:
        return sum((g.delivery_cost for g in self.groups), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.delivery_total

    @property
    def ready(self) -> bool:
        return bool(self.groups) and not self.problems


def pick_currency(currencies: list[str], currency: str | None) -> str:
    """The currency to check out: the requested one if the cart has it, else the only one (or the first)."""
    if currency and currency.upper() in currencies:
        return currency.upper()
    return currencies[0] if currencies else ""


def checkout_preview(
    cart: Cart | None,
    *,
    country: str = "",
    delivery: Mapping[int, int] | None = None,
    currency: str | None = None,
) -> CheckoutPreview:
    """Totals for the checkout page. ``delivery`` maps shop id → chosen delivery method id; a shop without a
    choice gets its cheapest option for ``country``. Without a country no delivery is quoted yet.

    Reads only; the real prices, stock and delivery are checked again when the order is placed.
    """
    view = cart_view(cart)
    currencies = view.currencies
    chosen_currency = pick_currency(currencies, currency)
    chosen = {int(k): int(v) for k, v in (delivery or {}).items()}
    problems: list[str] = []
    groups: list[CheckoutGroup] = []
    code = (country or "").strip().upper()
    for group in view.groups:
        if group.currency != chosen_currency:
            continue
        entry = CheckoutGroup(shop=group.shop, currency=group.currency, lines=group.lines, subtotal=group.subtotal)
        if code:
            try:
                entry.options = delivery_options(shop=group.shop, country=code, subtotal=group.subtotal)
            except DomainError as exc:
                entry.delivery_error = exc.message
            if not entry.options and not entry.delivery_error:
                entry.delivery_error = _("%(shop)s does not deliver to this country.") % {"shop": group.shop.name}
            if entry.options:
                wanted = chosen.get(group.shop.pk)
                match = [o for o in entry.options if o.method_id == wanted]
                if wanted is not None and not match:
                    entry.delivery_error = _("The chosen delivery method of %(shop)s is not available here.") % {
                        "shop": group.shop.name
                    }
                entry.delivery = match[0] if match else min(entry.options, key=lambda o: (o.cost, o.max_days))
            if entry.delivery_error:
                problems.append(entry.delivery_error)
        groups.append(entry)
    problems.extend(line_problem_messages(view))
    grand_total = sum((g.total for g in groups), Decimal(0))
    if grand_total > MAX_TOTAL:
        problems.append(
            _("A checkout can come to at most %(max)s. Lower the quantities or check out in parts.")
            % {"max": max_total_label(chosen_currency)}
        )
    if not groups:
        problems.append(_("Your cart is empty."))
    return CheckoutPreview(
        currency=chosen_currency,
        currencies=currencies,
        country=code,
        groups=groups,
        changes=view.changes,
        problems=problems,
    )


def line_problem_messages(view: CartView) -> list[str]:
    return [c.message for c in view.changes if c.kind in ("sold_out", "less_available")]


# --- checkouts ------------------------------------------------------------------------
def _checkout_queryset() -> QuerySet[Checkout]:
    return Checkout.objects.select_related("payment", "buyer").prefetch_related(
        Prefetch("orders", queryset=Order.objects.select_related("shop").prefetch_related("lines").order_by("id"))
    )


def checkout_for(*, public_id: str, user: Viewer = None, guest_token: str = "") -> Checkout:
    """A checkout for its buyer, or for the guest holding the cart token it was placed with; else a 404."""
    checkout = _checkout_queryset().filter(public_id=public_id).first()
    if checkout is not None:
        if user is not None and user.is_authenticated and checkout.buyer_id == user.pk:
            return checkout
        if guest_token and checkout.buyer_id is None and checkout.guest_token == guest_token:
            return checkout
    raise CheckoutNotFound(_("No checkout %(id)s.") % {"id": public_id})


def checkout_for_link(token: str) -> Checkout:
    """The checkout a guest's e-mailed link (``services.claim_token``) stands for, with its orders, their lines
    and shops and its payment; a 404 for a link that is not one of ours, ClaimInvalid (422) once it expired.

    The signature proves the link came from the confirmation e-mail, so its reader may see those orders.
    """
    try:
        data = signing.loads(
            (token or "").strip(), salt=CLAIM_SALT, max_age=timedelta(days=settings.AGORA_ORDER_CLAIM_DAYS)
        )
    except signing.SignatureExpired:
        raise ClaimInvalid(_("This link has expired. Sign in to see your orders.")) from None
    except signing.BadSignature:
        raise CheckoutNotFound(_("This link is not valid.")) from None
    public_id = data.get("c") if isinstance(data, dict) else None
    found = (
        Checkout.objects.filter(public_id=str(public_id or ""))
        .select_related("payment")
        .prefetch_related("orders__lines", "orders__shop")
        .first()
    )
    if found is None:
        raise CheckoutNotFound(_("This link is not valid."))
    return found


# --- orders ---------------------------------------------------------------------------
def _with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("shop", "checkout", "checkout__payment").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    )


def orders_of(user: User) -> QuerySet[Order]:
    """The shopper's orders, newest first, with shop and lines (three queries per page)."""
    return _with_details(Order.objects.filter(buyer_id=user.pk)).order_by("-placed_at", "-id")


def order_for_buyer(*, user: Viewer, number: str) -> Order:
    """One of the shopper's own orders by its number; anyone else's is a 404."""
    if user is None or not user.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    order = _with_details(Order.objects.filter(number=number, buyer_id=user.pk)).first()
    if order is None:
        raise OrderNotFound(_("No order %(number)s.") % {"number": number})
    return order


def shop_orders(shop: Shop, *, viewer: Viewer, status: str = "") -> QuerySet[Order]:
    """A shop's orders for its staff (``status`` narrows it), newest first; nothing for anyone else.

    Three queries per page: the orders with their buyer and checkout, and their lines.
    """
    if not can(viewer, shop, ShopAction.VIEW_ORDERS):
        return Order.objects.none()
    orders = Order.objects.filter(shop=shop)
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    elif status == "open":
        orders = orders.filter(status__in=OPEN_STATUSES)
    return _with_details(orders).select_related("buyer").order_by("-placed_at", "-id")


def order_for_staff(*, shop: Shop, viewer: Viewer, number: str) -> Order:
    """An order of ``shop`` for its staff; a 404 for anyone who may not see the shop's orders."""
    order = None
    if can(viewer, shop, ShopAction.VIEW_ORDERS):
        order = _with_details(Order.objects.filter(shop=shop, number=number)).select_related("buyer").first()
    if order is None:
        raise OrderNotFound(_("No order %(number)s.") % {"number": number})
    return order


def shop_order_counts(shop: Shop, *, viewer: Viewer) -> dict[str, int]:
    """Orders of the shop per status (one query), for the dashboard; empty for outsiders."""
    if not can(viewer, shop, ShopAction.VIEW_ORDERS):
        return {}
    rows = Order.objects.filter(shop=shop).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def order_timeline(order: Order) -> list[OrderEvent]:
    """What happened to the order, oldest first, with who did it (one query)."""
    return list(OrderEvent.objects.filter(order=order).select_related("actor").order_by("created_at", "id"))


def sales_policy(shop: Shop) -> ShopSalesPolicy:
    """The shop's sales policy; an unsaved default one when the shop never set it."""
    policy = ShopSalesPolicy.objects.filter(shop=shop).first()
    return policy if policy is not None else ShopSalesPolicy(shop=shop)


def return_window_days(shop: Shop) -> int:
    days = sales_policy(shop).return_window_days
    return int(days if days is not None else settings.AGORA_RETURN_WINDOW_DAYS)


def commission_rate(shop: Shop) -> Decimal:
    """The operator's commission rate for ``shop``: its own override, else AGORA_COMMISSION_RATE."""
    rate = sales_policy(shop).commission_rate
    return Decimal(rate) if rate is not None else Decimal(str(settings.AGORA_COMMISSION_RATE))


def has_pending_refund(order: Order) -> bool:
    """A refund of the order was sent to the gateway and is not settled yet (Stripe: "pending")."""
    return RefundRecord.objects.filter(order_id=order.pk, status=RefundRecord.PENDING).exists()


def return_deadline(order: Order) -> datetime | None:
    if order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=return_window_days(order.shop))


def buyer_actions(order: Order) -> list[str]:
    """The statuses the shopper may move the order to now (a return only inside the shop's window)."""
    actions = states.next_statuses(order, states.BUYER)
    deadline = return_deadline(order)
    if deadline is not None and timezone.now() > deadline:
        actions = [a for a in actions if a != OrderStatus.RETURN_REQUESTED]
    return actions


# --- for other apps -------------------------------------------------------------------
def buyers_among(product: Product | int, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` bought ``product`` (paid and not fully refunded or returned): one query.

    For "friends who bought this".
    """
    ids = {int(i) for i in user_ids}
    if not ids:
        return set()
    product_id = product.pk if isinstance(product, Product) else int(product)
    rows = OrderLine.objects.filter(
        product_id=product_id, order__buyer_id__in=ids, order__status__in=BOUGHT
    ).values_list("order__buyer_id", flat=True)
    return {int(pk) for pk in rows if pk is not None}


def recent_purchase_counts(since: datetime) -> dict[int, int]:
    """Units bought per product id in orders paid since ``since`` (and not cancelled or refunded since): one
    query. For trending."""
    rows = (
        OrderLine.objects.filter(order__paid_at__gte=since, order__status__in=BOUGHT, product_id__isnull=False)
        .values("product_id")
        .annotate(units=Sum("quantity"))
    )
    return {int(row["product_id"]): int(row["units"] or 0) for row in rows}


def bought_order_count(user: Viewer, *, shop: Shop | None = None) -> int:
    """How many orders ``user`` has bought (paid at some point: bought, refunded or returned), optionally at
    ``shop``. 0 is a "new customer"."""
    if user is None or not user.is_authenticated:
        return 0
    orders = Order.objects.filter(buyer_id=user.pk, status__in=[*BOUGHT, OrderStatus.REFUNDED, OrderStatus.RETURNED])
    if shop is not None:
        orders = orders.filter(shop=shop)
    return orders.count()


def authorised_payment_of(order: Order) -> Payment | None:
    """The checkout's current payment when it is authorised or captured (money held or taken), else None."""
    payment = Payment.objects.filter(checkouts__pk=order.checkout_id).first()
    if payment is None or payment.status not in (PaymentStatus.AUTHORIZED, *PAID):
        return None
    return payment


def guest_orders_for_email(email: str) -> QuerySet[Order]:
    """Unclaimed guest orders placed with ``email`` (staff tools; never attach them without a claim link)."""
    return Order.objects.filter(buyer__isnull=True, email__iexact=email.strip())


def unpaid_expired(now: datetime | None = None) -> QuerySet[Order]:
    return Order.objects.filter(status=OrderStatus.PLACED, reserved_until__lt=now or timezone.now())


__all__ = [
    "CART_SESSION_KEY",
    "CART_TOKEN_HEADER",
    "CLAIM_SALT",
    "MAX_TOTAL",
    "CartChange",
    "CartGroup",
    "CartLine",
    "CartView",
    "CheckoutGroup",
    "CheckoutPreview",
    "buyer_actions",
    "buyers_among",
    "cart_item_count",
    "cart_view",
    "checkout_for",
    "checkout_for_link",
    "checkout_preview",
    "commission_rate",
    "find_cart",
    "has_pending_refund",
    "order_for_buyer",
    "order_for_staff",
    "order_timeline",
    "orders_of",
    "recent_purchase_counts",
    "return_deadline",
    "return_window_days",
    "sales_policy",
    "shop_order_counts",
    "shop_orders",
]

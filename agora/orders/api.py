"""Carts, checkout and orders under /api/v1/: the shopper's side and the shop staff's side.

Guests have a cart too: the first `POST /cart/items` without credentials answers with a `token`; send it back as
the `X-Cart-Token` header. `POST /checkout` takes an `Idempotency-Key` header: a retry with the same key gets
the first answer and never places or charges twice.
"""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.pagination import paginate

from agora.accounts.models import User
from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import ErrorOut, Id, Slug, Text, responses
from agora.idempotency.api import idempotent_api_call
from agora.ledger import selectors as ledger_selectors
from agora.ledger import services as ledger_services
from agora.orders import selectors, services
from agora.orders.errors import CartEmpty, CartNotFound, OrderNotFound
from agora.orders.models import Cart, Checkout, Order
from agora.orders.schemas import (
    AcceptReturnIn,
    BalanceOut,
    CartItemIn,
    CartOut,
    CheckoutIn,
    CheckoutOut,
    ClaimOut,
    CouponIn,
    LedgerMovementOut,
    NoteIn,
    OrderDetailOut,
    OrderFilters,
    OrderOut,
    PayIn,
    PayoutIn,
    PrefillIn,
    PreviewIn,
    PreviewOut,
    QuantityIn,
    ReasonIn,
    RefundIn,
    SalesPolicyIn,
    SalesPolicyOut,
    ShipIn,
    StaffOrderDetailOut,
    StaffOrderOut,
    TokenIn,
)
from agora.orders.selectors import CART_TOKEN_HEADER, CartView
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction

router = Router(tags=["orders"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}
Number = Text
# An id in a JSON object's key: ASCII digits only (str.isdigit() also takes "²", which int() refuses).
ID_KEY = re.compile(r"[0-9]{1,18}")


# --- whose cart -----------------------------------------------------------------------
def _shopper(request: HttpRequest) -> User | None:
    viewer = viewer_of(request)
    return viewer if isinstance(viewer, User) else None


def _token(request: HttpRequest) -> str:
    return (request.headers.get(CART_TOKEN_HEADER) or "").strip()[:64]


def _cart(request: HttpRequest, *, create: bool = False) -> Cart | None:
    """The caller's cart: a signed-in user's own, else the guest cart of the X-Cart-Token header."""
    return services.get_cart(user=_shopper(request), token=_token(request), create=create)


def _existing_cart(request: HttpRequest) -> Cart:
    cart = _cart(request)
    if cart is None:
        raise CartNotFound(_("You have no cart yet. Add an item first."))
    return cart


def _cart_out(cart: Cart | None) -> CartView:
    return services.review_cart(cart)


# --- cart -----------------------------------------------------------------------------
@router.get("cart", **PUBLIC, response=responses({200: CartOut}))
def get_cart(request: HttpRequest) -> CartView:
    """The cart grouped by shop at current prices and stock, with what changed since you last looked (shown
    once). Guests send their cart's token in the `X-Cart-Token` header."""
    return _cart_out(_cart(request))


@router.post("cart/items", **PUBLIC, response=responses({200: CartOut}))
def add_item(request: HttpRequest, payload: CartItemIn) -> CartView:
    """Put a variant in the cart (quantities add up). Without a cart yet, a guest gets one: keep its `token`."""
    cart = _cart(request, create=True)
    assert cart is not None
    services.add_item(cart, variant_id=payload.variant_id, quantity=payload.quantity)
    return _cart_out(cart)


@router.patch("cart/items/{variant_id}", **PUBLIC, response=responses({200: CartOut}))
def set_quantity(request: HttpRequest, variant_id: Id, payload: QuantityIn) -> CartView:
    """Change how many of a variant the cart holds (1 up to the stock left)."""
    cart = _existing_cart(request)
    services.set_quantity(cart, variant_id=variant_id, quantity=payload.quantity)
    return _cart_out(cart)


@router.delete("cart/items/{variant_id}", **PUBLIC, response=responses({200: CartOut}))
def remove_item(request: HttpRequest, variant_id: Id) -> CartView:
    cart = _existing_cart(request)
    services.remove_item(cart, variant_id=variant_id)
    return _cart_out(cart)


@router.delete("cart", **PUBLIC, response=responses({200: CartOut}))
def clear_cart(request: HttpRequest) -> CartView:
    """Empty the cart."""
    cart = _existing_cart(request)
    services.clear_cart(cart)
    return _cart_out(cart)


@router.post("cart/prefill", **PUBLIC, response=responses({200: CartOut}))
def prefill_cart(request: HttpRequest, payload: PrefillIn) -> CartView:
    """Fill the cart from `variant:quantity` pairs (what the `/cart/add?items=...` link does): each quantity is
    set to the one given. All or nothing."""
    cart = _cart(request, create=True)
    assert cart is not None
    services.prefill_cart(cart, items=payload.items, coupon=payload.coupon)
    return _cart_out(cart)


@router.post("cart/coupon", **PUBLIC, response=responses({200: CartOut}))
def set_coupon(request: HttpRequest, payload: CouponIn) -> CartView:
    """Keep a coupon code on the cart. Promotions do not exist yet: `coupon_message` says it is not recognised."""
    cart = _cart(request, create=True)
    assert cart is not None
    services.set_coupon(cart, code=payload.code)
    return _cart_out(cart)


@router.post("cart/merge", response=responses({200: CartOut}))
def merge_cart(request: HttpRequest, payload: TokenIn) -> CartView:
    """After signing in: move the guest cart with this token into your cart (quantities add up)."""
    return _cart_out(services.merge_carts(user=user_of(request), token=payload.token))


# --- checkout -------------------------------------------------------------------------
@router.post("checkout/preview", **PUBLIC, response=responses({200: PreviewOut}))
def preview(request: HttpRequest, payload: PreviewIn) -> selectors.CheckoutPreview:
    """Totals per shop and in all for a country, with each shop's delivery options (the cheapest chosen unless
    `delivery` picks one). Nothing is reserved."""
    delivery = {int(k): v for k, v in payload.delivery.items() if ID_KEY.fullmatch(k)}
    return selectors.checkout_preview(
        _cart(request), country=payload.country, delivery=delivery, currency=payload.currency
    )


def _checkout_body(request: HttpRequest, checkout: Checkout) -> CheckoutOut:
    fresh = selectors.checkout_for(public_id=checkout.public_id, user=checkout.buyer, guest_token=checkout.guest_token)
    return CheckoutOut.from_orm(fresh, context={"request": request})


def _idempotency_scope(request: HttpRequest) -> str | None:
    if _shopper(request) is None and _token(request):
        return f"guest:{_token(request)}"
    return None


@router.post("checkout", **PUBLIC, response=responses({201: CheckoutOut, 402: ErrorOut}))
def checkout(request: HttpRequest, payload: CheckoutIn) -> HttpResponse:
    """Place the cart's orders (one per shop) and pay for them, all in one currency.

    Send an `Idempotency-Key` header (a UUID): a retry gets the first answer. The stock is reserved while the
    payment runs. Answers 201 with the checkout: `status` "paid", or "awaiting_payment" when the gateway did not
    answer (it is settled within minutes) or the shopper must confirm (Stripe: `payment.client_secret`).
    402 `payment_declined`: the orders were cancelled, nothing was charged. 409 `sold_out`: someone was faster.
    409 `cart_changed`: prices went up; the cart now shows them, confirm again (with a new key).
    """
    user = _shopper(request)
    cart = _cart(request)

    def work() -> tuple[int, Any]:
        if cart is None:
            raise CartEmpty(_("Your cart is empty. Add something before checking out."), field="cart")
        placed = services.place_checkout(
            actor=user,
            cart=cart,
            address=payload.address.model_dump(),
            payment_method=payload.payment_method,
            delivery=payload.delivery,
            email=payload.email,
            currency=payload.currency,
        )
        return 201, _checkout_body(request, placed)

    return idempotent_api_call(request, payload=payload, work=work, scope=_idempotency_scope(request))


@router.get("checkouts/{public_id}", **PUBLIC, response=responses({200: CheckoutOut}))
def get_checkout(request: HttpRequest, public_id: Text) -> Checkout:
    """A checkout of yours (a guest sends the cart token it was placed with)."""
    return selectors.checkout_for(public_id=public_id[:32], user=_shopper(request), guest_token=_token(request))


@router.post("checkouts/{public_id}/pay", **PUBLIC, response=responses({201: CheckoutOut, 402: ErrorOut}))
def pay_again(request: HttpRequest, public_id: Text, payload: PayIn) -> HttpResponse:
    """Pay again for a checkout still awaiting payment (its payment failed or was abandoned) while the stock is
    reserved. Takes an `Idempotency-Key` header."""
    found = selectors.checkout_for(public_id=public_id[:32], user=_shopper(request), guest_token=_token(request))

    def work() -> tuple[int, Any]:
        paid = services.retry_payment(found, payload.payment_method, actor=_shopper(request))
        return 201, _checkout_body(request, paid)

    return idempotent_api_call(request, payload=payload, work=work, scope=_idempotency_scope(request))


# --- the shopper's orders -------------------------------------------------------------
@router.get("orders", response=responses({200: list[OrderOut]}))
@paginate(PagePagination)
def list_orders(request: HttpRequest) -> Any:
    """Your orders, newest first."""
    return selectors.orders_of(user_of(request))


@router.post("orders/claim", response=responses({200: ClaimOut}))
def claim(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """Attach the orders of a guest checkout to your account with the token of the claim link e-mailed to the
    guest (your account must have that e-mail address)."""
    orders = services.claim_guest_orders(user_of(request), payload.token)
    return {"orders": list(selectors.orders_of(user_of(request)).filter(pk__in=[o.pk for o in orders]))}


@router.get("orders/{number}", response=responses({200: OrderDetailOut}))
def get_order(request: HttpRequest, number: Number) -> Order:
    """One of your orders with its timeline and the `actions` open to you."""
    return selectors.order_for_buyer(user=user_of(request), number=number[:16])


def _mine(request: HttpRequest, number: str) -> tuple[User, Order]:
    user = user_of(request)
    return user, selectors.order_for_buyer(user=user, number=number[:16])


@router.post("orders/{number}/cancel", response=responses({200: OrderDetailOut}))
def cancel(request: HttpRequest, number: Number, payload: ReasonIn) -> Order:
    """Cancel an order that has not shipped: unpaid, its checkout is cancelled; paid, it is refunded in full."""
    user, order = _mine(request, number)
    services.cancel_order(actor=user, order=order, reason=payload.reason)
    return selectors.order_for_buyer(user=user, number=order.number)


@router.post("orders/{number}/refund-request", response=responses({200: OrderDetailOut}))
def request_refund(request: HttpRequest, number: Number, payload: ReasonIn) -> Order:
    """Ask the shop for a refund (a reason is required)."""
    user, order = _mine(request, number)
    services.request_refund(actor=user, order=order, reason=payload.reason)
    return selectors.order_for_buyer(user=user, number=order.number)


@router.post("orders/{number}/return-request", response=responses({200: OrderDetailOut}))
def request_return(request: HttpRequest, number: Number, payload: ReasonIn) -> Order:
    """Ask to send a delivered order back, within the shop's return window (a reason is required)."""
    user, order = _mine(request, number)
    services.request_return(actor=user, order=order, reason=payload.reason)
    return selectors.order_for_buyer(user=user, number=order.number)


# --- a shop's orders (its staff) ------------------------------------------------------
def _staff_shop(request: HttpRequest, slug: str) -> tuple[User, Shop]:
    """The shop, if the caller is on its staff with the right to see orders; a 404 for everyone else."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    if not shop_selectors.can(user, shop, ShopAction.VIEW_ORDERS):
        raise OrderNotFound(_("No orders of '%(slug)s' for you to see.") % {"slug": slug})
    return user, shop


def _staff_order(request: HttpRequest, slug: str, number: str) -> tuple[User, Order]:
    user, shop = _staff_shop(request, slug)
    return user, selectors.order_for_staff(shop=shop, viewer=user, number=number[:16])


def _staff_detail(user: User, order: Order) -> Order:
    return selectors.order_for_staff(shop=order.shop, viewer=user, number=order.number)


@router.get("shops/{slug}/orders", response=responses({200: list[StaffOrderOut]}))
@paginate(PagePagination)
def shop_orders(request: HttpRequest, slug: Slug, filters: Query[OrderFilters]) -> Any:
    """The shop's orders for its staff, newest first; `status` narrows them ("open": waiting for the shop)."""
    user, shop = _staff_shop(request, slug)
    return selectors.shop_orders(shop, viewer=user, status=filters.status)


@router.get("shops/{slug}/orders/{number}", response=responses({200: StaffOrderDetailOut}))
def shop_order(request: HttpRequest, slug: Slug, number: Number) -> Order:
    return _staff_order(request, slug, number)[1]


@router.post("shops/{slug}/orders/{number}/ship", response=responses({200: StaffOrderDetailOut}))
def ship(request: HttpRequest, slug: Slug, number: Number, payload: ShipIn) -> Order:
    """Mark a paid order shipped, with its tracking number (staff who fulfil orders, support included)."""
    user, order = _staff_order(request, slug, number)
    services.ship_order(actor=user, order=order, tracking_number=payload.tracking_number, note=payload.note)
    return _staff_detail(user, order)


@router.post("shops/{slug}/orders/{number}/deliver", response=responses({200: StaffOrderDetailOut}))
def deliver(request: HttpRequest, slug: Slug, number: Number, payload: NoteIn) -> Order:
    """Mark a shipped order delivered: the shop's earnings on it become payable."""
    user, order = _staff_order(request, slug, number)
    services.mark_delivered(actor=user, order=order, note=payload.note)
    return _staff_detail(user, order)


@router.post("shops/{slug}/orders/{number}/cancel", response=responses({200: StaffOrderDetailOut}))
def staff_cancel(request: HttpRequest, slug: Slug, number: Number, payload: ReasonIn) -> Order:
    """Cancel an order that has not shipped (a paid one is refunded in full: managers and owners only)."""
    user, order = _staff_order(request, slug, number)
    services.cancel_order(actor=user, order=order, reason=payload.reason, as_staff=True)
    return _staff_detail(user, order)


@router.post("shops/{slug}/orders/{number}/refund", response=responses({200: StaffOrderDetailOut}))
def refund(request: HttpRequest, slug: Slug, number: Number, payload: RefundIn) -> HttpResponse | Order:
    """Refund through the payment gateway: chosen `lines` ({line id: quantity}), an `amount`, or (neither)
    everything left. Managers and owners only. Takes an `Idempotency-Key` header."""
    user, order = _staff_order(request, slug, number)

    def work() -> tuple[int, Any]:
        services.refund_order(
            actor=user,
            order=order,
            lines=payload.lines,
            amount=payload.amount,
            reason=payload.reason,
            restock=payload.restock,
        )
        return 200, StaffOrderDetailOut.from_orm(_staff_detail(user, order), context={"request": request})

    return idempotent_api_call(request, payload=payload, work=work)


@router.post("shops/{slug}/orders/{number}/accept-return", response=responses({200: StaffOrderDetailOut}))
def accept_return(request: HttpRequest, slug: Slug, number: Number, payload: AcceptReturnIn) -> Order:
    """The goods came back: refund them and put them back in stock (all, or the `lines` given)."""
    user, order = _staff_order(request, slug, number)
    services.accept_return(actor=user, order=order, lines=payload.lines, note=payload.note)
    return _staff_detail(user, order)


@router.post("shops/{slug}/orders/{number}/decline-request", response=responses({200: StaffOrderDetailOut}))
def decline_request(request: HttpRequest, slug: Slug, number: Number, payload: NoteIn) -> Order:
    """Decline a refund or return request: the order goes back to where it was."""
    user, order = _staff_order(request, slug, number)
    services.decline_request(actor=user, order=order, note=payload.note)
    return _staff_detail(user, order)


# --- a shop's money -------------------------------------------------------------------
def _finance_shop(request: HttpRequest, slug: str) -> Shop:
    user, shop = _staff_shop(request, slug)
    shop_selectors.require(user, shop, ShopAction.VIEW_FINANCES)
    return shop


@router.get("shops/{slug}/balance", response=responses({200: list[BalanceOut]}))
def balance(request: HttpRequest, slug: Slug) -> list[ledger_selectors.ShopBalance]:
    """What the platform owes the shop, per currency: pending (not delivered yet) and payable (payout due)."""
    return ledger_selectors.shop_balance(_finance_shop(request, slug))


@router.get("shops/{slug}/ledger", response=responses({200: list[LedgerMovementOut]}))
@paginate(PagePagination)
def ledger(request: HttpRequest, slug: Slug) -> Any:
    """The shop's money movements, newest first: order paid, commission, refunds, payout due."""
    return ledger_selectors.shop_movements(_finance_shop(request, slug))


@router.post("shops/{slug}/payouts", response=responses({201: LedgerMovementOut}))
def record_payout(request: HttpRequest, slug: Slug, payload: PayoutIn) -> HttpResponse:
    """The operator paid the shop out (operator staff only): moves `amount` from the shop's payable balance, never
    more than it holds. Takes an `Idempotency-Key` header, so a retried request records one payout."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)

    def work() -> tuple[int, Any]:
        movement = ledger_services.record_payout(
            actor=user, shop=shop, amount=payload.amount, currency=payload.currency, reference=payload.reference
        )
        return 201, LedgerMovementOut.from_orm(movement)

    return idempotent_api_call(request, payload=payload, work=work)


def _policy_out(shop: Shop) -> dict[str, Any]:
    policy = selectors.sales_policy(shop)
    return {
        "return_window_days": selectors.return_window_days(shop),
        "commission_rate": str(selectors.commission_rate(shop)),
        "commission_rate_is_default": policy.commission_rate is None,
    }


@router.get("shops/{slug}/sales-policy", response=responses({200: SalesPolicyOut}))
def get_sales_policy(request: HttpRequest, slug: Slug) -> dict[str, Any]:
    """The shop's return window and the operator's commission rate on its orders."""
    return _policy_out(_staff_shop(request, slug)[1])


@router.patch("shops/{slug}/sales-policy", response=responses({200: SalesPolicyOut}))
def update_sales_policy(request: HttpRequest, slug: Slug, payload: SalesPolicyIn) -> dict[str, Any]:
    """Owners and managers set the return window; only the operator's staff set the commission rate."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    if not (user.is_staff or shop_selectors.can(user, shop, ShopAction.VIEW_ORDERS)):
        raise OrderNotFound(_("No orders of '%(slug)s' for you to see.") % {"slug": slug})
    services.update_sales_policy(
        actor=user,
        shop=shop,
        return_window_days=payload.return_window_days,
        commission_rate=payload.commission_rate,
        clear_commission_rate=payload.clear_commission_rate,
    )
    return _policy_out(shop)

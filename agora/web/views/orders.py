"""Buying on the web: the buy box, the cart, the prefill link, checkout, the confirmation, my orders, guest links.

Every write goes through ``agora.orders.services``; the views parse, call and render. The cart is the signed-in
shopper's, or the guest cart whose token the session holds (the orders app merges it at sign-in). Lines are
addressed by variant inside the caller's own cart, so another person's cart cannot even be named; orders are
found through ``order_for_buyer`` / ``checkout_for``, which answer 404 for anyone else's.
HTMX requests get the fragment they replace, plain posts a redirect or the whole page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from agora.idempotency.errors import IdempotencyKeyReused
from agora.idempotency.services import fingerprint_of, run_idempotent
from agora.orders import selectors as order_selectors
from agora.orders import services as order_services
from agora.orders import states
from agora.orders.errors import CartItemNotFound, OrderNotFound
from agora.orders.models import Cart, Checkout, Order, OrderStatus
from agora.orders.selectors import CART_SESSION_KEY
from agora.payments.models import PaymentStatus
from agora.shipping.selectors import DeliveryQuote, country_name, delivery_options
from agora.web.views.common import paginate, safe_next
from agora.web.views.orders_forms import (
    ADDRESS_FIELDS,
    WHOLE_NUMBER,
    CheckoutForm,
    DirectCheckoutForm,
    PayAgainForm,
    ReasonForm,
    delivery_choices,
    new_idempotency_key,
)

ORDERS_PER_PAGE = 20
# The address of the last checkout, offered again next time (this browser only).
ADDRESS_SESSION_KEY = "agora_checkout_address"


# --- helpers ---------------------------------------------------------------------------
def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _token(request: HttpRequest) -> str:
    return str(request.session.get(CART_SESSION_KEY, "") or "")


def _cart(request: HttpRequest, *, create: bool = False) -> Cart | None:
    """The caller's cart (created on demand with ``create``); a new guest cart's token goes into the session."""
    user = _user(request)
    token = _token(request)
    if user is not None and token:
        # A guest cart left in this session (signed in before the merge at login existed): join it now.
        order_services.merge_carts(user=user, token=token)
        request.session.pop(CART_SESSION_KEY, None)
        token = ""
    cart = order_services.get_cart(user=user, token=token, create=create)
    if cart is not None and user is None and cart.token and cart.token != token:
        request.session[CART_SESSION_KEY] = cart.token
    return cart


def _count(request: HttpRequest) -> int:
    user = _user(request)
    if user is not None:
        return order_selectors.cart_item_count(user=user)
    return order_selectors.cart_item_count(token=_token(request))


def _cart_changed(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """Tell the page (orders.js) the new cart count, for the badge in the header."""
    response["HX-Trigger"] = json.dumps({"cartChanged": {"count": _count(request)}})
    return response


def _refused(exc: DomainError) -> bool:
    """Errors about the caller rather than the input: they go to the error middleware (login, 403, 404 page)."""
    return isinstance(exc, NotAuthenticated | PermissionDenied) or (isinstance(exc, NotFound) and not exc.field)


# --- buy box ---------------------------------------------------------------------------
@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Put a variant in the cart (``action=add``), or put it there and go to checkout (``action=buy``)."""
    back = safe_next(request, reverse("web:cart"))
    buy = request.POST.get("action") == "buy"
    variant_id = request.POST.get("variant", "")
    quantity = request.POST.get("quantity", "1")
    cart = _cart(request, create=True)
    assert cart is not None
    try:
        in_cart = (
            buy
            and WHOLE_NUMBER.fullmatch(variant_id) is not None
            and any(line.variant_id == int(variant_id) for line in _lines(cart))
        )
        if in_cart:
            # "Buy now" twice must not buy twice as many: the quantity asked for is the one bought.
            item = order_services.set_quantity(cart, variant_id=int(variant_id), quantity=quantity)
        else:
            item = order_services.add_item(cart, variant_id=variant_id, quantity=quantity)  # type: ignore[arg-type]
    except DomainError as exc:
        if _refused(exc):
            raise
        if _htmx(request):
            return render(request, "web/orders/_buy_status.html", {"error": exc.message}, status=exc.status)
        messages.error(request, exc.message)
        return redirect(back)
    if buy:
        # A cart in several currencies is checked out one currency at a time: this item's.
        target = f"{reverse('web:checkout')}?currency={item.currency}"
        if _htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    if _htmx(request):
        return _cart_changed(render(request, "web/orders/_buy_status.html", {"added": True}), request)
    messages.success(request, _("Added to your cart."))
    return redirect(back)


def _lines(cart: Cart) -> list[Any]:
    return list(cart.items.all())  # type: ignore[attr-defined]


# --- cart ------------------------------------------------------------------------------
def _render_cart(
    request: HttpRequest,
    view: order_selectors.CartView,
    *,
    line_errors: dict[int, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"view": view, "line_errors": line_errors or {}, "notice": notice}
    template = "web/orders/_cart.html" if _htmx(request) else "web/orders/cart.html"
    return render(request, template, context, status=status)


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    """The cart by shop, with what changed since the shopper last looked (shown once, then taken as seen)."""
    view = order_services.review_cart(_cart(request))
    return _render_cart(request, view)


def _cart_write(request: HttpRequest, variant_id: int, *, remove: bool) -> HttpResponse:
    cart_obj = _cart(request)
    line_errors: dict[int, str] = {}
    notice = ""
    status = 200
    try:
        if cart_obj is None:
            raise CartItemNotFound(_("Your cart is empty."), field="variant_id")
        if remove:
            order_services.remove_item(cart_obj, variant_id=variant_id)
        else:
            order_services.set_quantity(cart_obj, variant_id=variant_id, quantity=request.POST.get("quantity", ""))
    except CartItemNotFound as exc:
        if not _htmx(request):
            raise
        notice = exc.message
    except DomainError as exc:
        if _refused(exc):
            raise
        if not _htmx(request):
            messages.error(request, exc.message)
            return redirect("web:cart")
        line_errors[variant_id], status = exc.message, exc.status
    if not _htmx(request):
        if remove:
            messages.success(request, _("Removed from your cart."))
        return redirect("web:cart")
    view = order_selectors.cart_view(cart_obj)
    return _cart_changed(_render_cart(request, view, line_errors=line_errors, notice=notice, status=status), request)


@require_POST
def cart_update(request: HttpRequest, variant_id: int) -> HttpResponse:
    return _cart_write(request, variant_id, remove=False)


@require_POST
def cart_remove(request: HttpRequest, variant_id: int) -> HttpResponse:
    return _cart_write(request, variant_id, remove=True)


@require_GET
def cart_prefill(request: HttpRequest) -> HttpResponse:
    """``/cart/add?items=<variant>:<qty>,...&coupon=...``: fill the cart, then open checkout.

    All or nothing: a bad link changes nothing and explains which entry is wrong.
    """
    items = request.GET.get("items", "")
    coupon = request.GET.get("coupon", "")
    try:
        order_services.parse_items(items)  # refuse a malformed link before making a cart for it
        cart_obj = _cart(request, create=True)
        assert cart_obj is not None
        order_services.prefill_cart(cart_obj, items=items, coupon=coupon)
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied):
            raise
        context = {"message": exc.message, "items": items[:500], "coupon": coupon[:40]}
        return render(request, "web/orders/prefill_error.html", context, status=exc.status)
    return redirect("web:checkout")


# --- checkout --------------------------------------------------------------------------
def _initial(request: HttpRequest, view: order_selectors.CartView) -> dict[str, Any]:
    initial: dict[str, Any] = dict(request.session.get(ADDRESS_SESSION_KEY) or {})
    initial = {k: v for k, v in initial.items() if k in ADDRESS_FIELDS and isinstance(v, str)}
    if not initial.get("country") and view.groups:
        # Most shoppers buy from shops of their own country; they can change it.
        initial["country"] = str(view.groups[0].shop.country.code or "")
    user = _user(request)
    if user is not None and not initial.get("name"):
        initial["name"] = user.display_name or ""
    initial["idempotency_key"] = new_idempotency_key()
    return initial


def _checkout_context(
    request: HttpRequest,
    cart_obj: Cart | None,
    form: CheckoutForm,
    *,
    changes: list[Any] | None = None,
    delivery_errors: dict[int, str] | None = None,
    error: str = "",
) -> dict[str, Any]:
    source = request.POST if request.method == "POST" else request.GET
    country = str(form["country"].value() or "")
    currency = str(source.get("currency") or form["currency"].value() or "")
    preview = order_selectors.checkout_preview(
        cart_obj, country=country, delivery=delivery_choices(source), currency=currency or None
    )
    if not form.is_bound:
        form.initial["currency"] = preview.currency
    return {
        "form": form,
        "preview": preview,
        "changes": changes if changes is not None else preview.changes,
        "country_name": country_name(country) if country else "",
        "payment_options": form.options,
        "delivery_errors": delivery_errors or {},
        "error": error,
        "guest": _user(request) is None,
    }


def _render_checkout(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, "web/orders/checkout.html", context, status=status)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """GET: the checkout page. POST ``action=place``: place the order; any other POST recomputes the totals
    (the "Update" button without JavaScript)."""
    cart_obj = _cart(request)
    guest = _user(request) is None
    if request.method == "POST":
        form = CheckoutForm(request.POST, guest=guest)
        if request.POST.get("action") == "place":
            return _place(request, cart_obj, form)
        form.is_valid()  # to show the values back; errors are only shown when placing
        form.errors.clear()
        return _render_checkout(request, _checkout_context(request, cart_obj, form))
    view = order_services.review_cart(cart_obj)
    form = CheckoutForm(initial=_initial(request, view), guest=guest)
    if request.GET.get("country"):
        form.initial["country"] = request.GET["country"][:2].upper()
    return _render_checkout(request, _checkout_context(request, cart_obj, form, changes=view.changes))


@require_POST
def checkout_summary(request: HttpRequest) -> HttpResponse:
    """The totals of the checkout form as it is now (HTMX, when the country or a delivery method changes)."""
    form = CheckoutForm(request.POST, guest=_user(request) is None)
    form.is_valid()
    context = _checkout_context(request, _cart(request), form)
    return render(request, "web/orders/_checkout_summary.html", context)


def _place(request: HttpRequest, cart_obj: Cart | None, form: CheckoutForm) -> HttpResponse:
    user = _user(request)
    if not form.is_valid():
        return _render_checkout(request, _checkout_context(request, cart_obj, form), status=422)
    data = form.cleaned_data
    if cart_obj is None:
        form.add_error(None, _("Your cart is empty. Add something before checking out."))
        return _render_checkout(request, _checkout_context(request, cart_obj, form), status=422)
    address = form.address()
    delivery = delivery_choices(request.POST)
    email = data.get("email", "")
    currency = data.get("currency") or None
    payload = {
        "address": address,
        "delivery": {str(k): v for k, v in sorted(delivery.items())},
        "payment_method": data["payment_method"],
        "email": email,
        "currency": currency,
    }
    scope = f"user:{user.pk}" if user is not None else f"guest:{cart_obj.token}"

    def work() -> tuple[int, Any]:
        placed = order_services.place_checkout(
            actor=user,
            cart=cart_obj,
            address=address,
            payment_method=data["payment_method"],
            delivery=delivery,
            email=email,
            currency=currency,
        )
        return 201, {"checkout": placed.public_id}

    try:
        result = run_idempotent(
            scope=scope,
            key=data["idempotency_key"],
            fingerprint=fingerprint_of(method="POST", path=request.path, payload=payload),
            work=work,
        )
        status, body = result.status, result.body
    except IdempotencyKeyReused:
        # This page's form was sent before with other values (back, edit, submit): its order was placed already.
        message = _(
            "You already placed an order from this page. Check your orders before placing another one; "
            "your cart holds what is still to buy."
        )
        status, body = 422, {"detail": message}
    except DomainError as exc:
        if _refused(exc):
            raise
        status, body = exc.status, exc.as_dict()
    if status < 400:
        request.session[ADDRESS_SESSION_KEY] = address
        return redirect("web:checkout_done", public_id=body["checkout"])
    return _checkout_failed(request, cart_obj, body, status)


def _checkout_failed(request: HttpRequest, cart_obj: Cart | None, body: dict[str, Any], status: int) -> HttpResponse:
    """Show a refused checkout on the form, next to the field at fault, with a new key for the next try."""
    data = request.POST.copy()
    data["idempotency_key"] = new_idempotency_key()
    form = CheckoutForm(data, guest=_user(request) is None)
    form.is_valid()
    message, field = str(body.get("detail") or _("The order could not be placed.")), str(body.get("field") or "")
    delivery_errors: dict[int, str] = {}
    name = field.removeprefix("address.")
    if field.startswith("delivery."):
        shop_id = field.removeprefix("delivery.")
        if shop_id.isdigit():
            delivery_errors[int(shop_id)] = message
        else:
            form.add_error(None, message)
    elif name in form.fields and (name in ADDRESS_FIELDS or name == "email"):
        form.add_error(name, message)
    else:
        form.add_error(None, message)
    context = _checkout_context(request, cart_obj, form, delivery_errors=delivery_errors, error=message)
    return _render_checkout(request, context, status=status)


# --- confirmation ----------------------------------------------------------------------
def _checkout_for(request: HttpRequest, public_id: str) -> Checkout:
    return order_selectors.checkout_for(public_id=public_id, user=_user(request), guest_token=_token(request))


def _checkout_state(checkout_obj: Checkout, *, confirmed: bool = False) -> str:
    """How far the checkout got: "paid"; "action" (Stripe: the shopper confirms the card on this page); "pending"
    (the gateway's answer is not known yet); "authorised" (a deal: the payment is held and captured when the team
    completes; nothing to do, no paying again); "failed" (pay again while the stock is reserved); or "closed"
    (cancelled or expired, nothing charged)."""
    orders = list(checkout_obj.orders.all())  # type: ignore[attr-defined]
    if any(o.status == OrderStatus.PLACED for o in orders):
        payment = checkout_obj.payment
        if payment is None:
            return "failed"
        if checkout_obj.authorise_only and payment.status == PaymentStatus.AUTHORIZED:
            return "authorised"
        if payment.status == PaymentStatus.REQUIRES_ACTION and not confirmed:
            return "action" if payment.client_secret and settings.STRIPE_PUBLISHABLE_KEY else "pending"
        if payment.status in (
            PaymentStatus.PENDING,
            PaymentStatus.UNKNOWN,
            PaymentStatus.REQUIRES_ACTION,
            PaymentStatus.AUTHORIZED,
            PaymentStatus.CAPTURED,
        ):
            return "pending"
        return "failed"
    if any(o.paid_at is not None for o in orders):
        return "paid"
    return "closed"


@require_GET
def checkout_done(request: HttpRequest, public_id: str) -> HttpResponse:
    """The confirmation: order numbers per shop, what was paid, and what happens next."""
    checkout_obj = _checkout_for(request, public_id)
    # Back from Stripe.js with the card confirmed: wait for the gateway's word (the webhook) instead of asking again.
    state = _checkout_state(checkout_obj, confirmed=request.GET.get("confirmed") == "1")
    context = {
        "checkout": checkout_obj,
        "orders": list(checkout_obj.orders.all()),  # type: ignore[attr-defined]
        "state": state,
        "payment": checkout_obj.payment,
        "pay_form": PayAgainForm(initial={"payment_method": checkout_obj.payment_method}),
        "guest": checkout_obj.buyer_id is None,
        "stripe_key": settings.STRIPE_PUBLISHABLE_KEY if state == "action" else "",
    }
    template = "web/orders/_checkout_status.html" if _htmx(request) else "web/orders/checkout_done.html"
    return render(request, template, context)


@require_POST
def checkout_pay(request: HttpRequest, public_id: str) -> HttpResponse:
    """Pay again for a checkout whose payment failed or did not finish, while its stock is still reserved."""
    checkout_obj = _checkout_for(request, public_id)
    form = PayAgainForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a payment method."))
        return redirect("web:checkout_done", public_id=public_id)
    try:
        order_services.retry_payment(checkout_obj, form.cleaned_data["payment_method"], actor=_user(request))
    except DomainError as exc:
        if _refused(exc):
            raise
        # A second click on "Pay now" after the first one paid: the page says "paid", nothing went wrong.
        if not (exc.code == "nothing_to_pay" and _checkout_state(_checkout_for(request, public_id)) == "paid"):
            messages.error(request, exc.message)
    return redirect("web:checkout_done", public_id=public_id)


# --- my orders -------------------------------------------------------------------------
@login_required
@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    assert user is not None
    page = paginate(request, order_selectors.orders_of(user), ORDERS_PER_PAGE)  # type: ignore[arg-type]
    return render(request, "web/orders/orders.html", {"page_obj": page, "orders": page.object_list})


def _buyer_actions(order_obj: Order) -> dict[str, bool]:
    """Which buttons the shopper gets: what the state machine allows them now (and the return window)."""
    allowed = set(states.next_statuses(order_obj, states.BUYER))
    can_return = OrderStatus.RETURN_REQUESTED in allowed
    if can_return:
        deadline = order_selectors.return_deadline(order_obj)
        can_return = deadline is None or timezone.now() <= deadline
    return {
        "cancel": OrderStatus.CANCELLED in allowed,
        "refund": OrderStatus.REFUND_REQUESTED in allowed,
        "return": can_return,
    }


def _render_order(
    request: HttpRequest,
    order_obj: Order,
    *,
    forms_: dict[str, ReasonForm] | None = None,
    error: str = "",
    status: int = 200,
    guest_link: str = "",
) -> HttpResponse:
    forms_ = forms_ or {}
    context = {
        "order": order_obj,
        "timeline": order_selectors.order_timeline(order_obj),
        "actions": _buyer_actions(order_obj) if not guest_link else {},
        "return_deadline": order_selectors.return_deadline(order_obj),
        "refund_form": forms_.get("refund") or ReasonForm(prefix="refund"),
        "return_form": forms_.get("return") or ReasonForm(prefix="return"),
        "cancel_form": forms_.get("cancel") or ReasonForm(prefix="cancel", required=False),
        "error": error,
        "guest_link": guest_link,
        "address": order_obj.checkout.shipping_address,
        "address_country": country_name(str(order_obj.checkout.shipping_address.get("country", "")))
        if order_obj.checkout.shipping_address.get("country")
        else "",
    }
    return render(request, "web/orders/order.html", context, status=status)


@login_required
@require_GET
def order(request: HttpRequest, number: str) -> HttpResponse:
    return _render_order(request, order_selectors.order_for_buyer(user=request.user, number=number))


def _order_action(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    user = _user(request)
    order_obj = order_selectors.order_for_buyer(user=request.user, number=number)
    assert user is not None
    form = ReasonForm(request.POST, prefix=kind, required=kind != "cancel")
    status = 422
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if kind == "cancel":
                order_services.cancel_order(actor=user, order=order_obj, reason=reason)
                messages.success(request, _("Order %(number)s is cancelled.") % {"number": number})
            elif kind == "refund":
                order_services.request_refund(actor=user, order=order_obj, reason=reason)
                messages.success(request, _("Refund requested. The shop will answer soon."))
            else:
                order_services.request_return(actor=user, order=order_obj, reason=reason)
                messages.success(request, _("Return requested. The shop will tell you how to send it back."))
        except DomainError as exc:
            if _refused(exc):
                raise
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
            status = exc.status
        else:
            return redirect("web:order", number=number)
    order_obj = order_selectors.order_for_buyer(user=request.user, number=number)
    return _render_order(request, order_obj, forms_={kind: form}, status=status)


@login_required
@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    return _order_action(request, number, "cancel")


@login_required
@require_POST
def order_refund(request: HttpRequest, number: str) -> HttpResponse:
    return _order_action(request, number, "refund")


@login_required
@require_POST
def order_return(request: HttpRequest, number: str) -> HttpResponse:
    return _order_action(request, number, "return")


# --- guest links -----------------------------------------------------------------------
def _checkout_from_link(token: str) -> Checkout:
    return order_selectors.checkout_for_link(token)


@require_http_methods(["GET", "POST"])
def order_claim(request: HttpRequest, token: str) -> HttpResponse:
    """The guest's link from the confirmation e-mail: the orders (read only) and, signed in with the same
    address, a button that adds them to the account (POST)."""
    checkout_obj = _checkout_from_link(token)
    user = _user(request)
    if checkout_obj.buyer_id is not None and user is not None and checkout_obj.buyer_id == user.pk:
        if request.method == "POST":
            messages.info(request, _("These orders are already in your account."))
        return redirect("web:orders")
    error = ""
    if request.method == "POST":
        if user is None:
            return redirect(f"{reverse('web:login')}?next={request.path}")
        try:
            claimed = order_services.claim_guest_orders(user, token)
        except DomainError as exc:
            if isinstance(exc, NotAuthenticated | PermissionDenied):
                raise
            error = exc.message
        else:
            messages.success(
                request,
                _("%(count)d order(s) added to your account.") % {"count": len(claimed)},
            )
            return redirect("web:orders")
    claimed_by_other = checkout_obj.buyer_id is not None
    orders_list = [] if claimed_by_other else list(checkout_obj.orders.all())  # type: ignore[attr-defined]
    context = {
        "checkout": checkout_obj,
        "orders": orders_list,
        "claimed": claimed_by_other,
        "email": checkout_obj.email,
        "email_matches": user is not None and (user.email or "").lower() == checkout_obj.email.lower(),
        "error": error,
        "token": token,
    }
    return render(request, "web/orders/claim.html", context, status=422 if error else 200)


@require_GET
def guest_order(request: HttpRequest, token: str, number: str) -> HttpResponse:
    """One order of a guest checkout, with its timeline, through the e-mailed link."""
    checkout_obj = _checkout_from_link(token)
    if checkout_obj.buyer_id is not None:
        raise OrderNotFound(_("These orders were added to an account. Sign in to see them."))
    match = [o for o in checkout_obj.orders.all() if o.number == number]  # type: ignore[attr-defined]
    if not match:
        raise OrderNotFound(_("No order %(number)s.") % {"number": number})
    order_obj = match[0]
    order_obj.checkout = checkout_obj
    return _render_order(request, order_obj, guest_link=reverse("web:order_claim", kwargs={"token": token}))


# --- one item bought outside the cart (deals) ---------------------------------------------
@dataclass
class DirectSummary:
    """What the direct checkout page shows on its right: the item at its price, the delivery and the total."""

    variant: Variant
    quantity: int
    unit_price: Decimal
    currency: str
    country: str = ""
    options: list[DeliveryQuote] = field(default_factory=list)
    delivery: DeliveryQuote | None = None
    delivery_error: str = ""

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def total(self) -> Decimal:
        return self.subtotal + (self.delivery.cost if self.delivery is not None else Decimal(0))


def _direct_summary(
    variant: Variant, quantity: int, unit_price: Decimal, country: str, method_id: int | None
) -> DirectSummary:
    shop = variant.product.shop
    summary = DirectSummary(variant=variant, quantity=quantity, unit_price=unit_price, currency=shop.currency)
    code = (country or "").strip().upper()[:2]
    if not code:
        return summary
    summary.country = code
    try:
        summary.options = delivery_options(shop=shop, country=code, subtotal=summary.subtotal)
    except DomainError as exc:
        summary.delivery_error = exc.message
        return summary
    if not summary.options:
        summary.delivery_error = _("%(shop)s does not deliver to %(country)s.") % {
            "shop": shop.name,
            "country": country_name(code),
        }
        return summary
    match = [o for o in summary.options if o.method_id == method_id]
    summary.delivery = match[0] if match else min(summary.options, key=lambda o: (o.cost, o.max_days, o.method_id))
    return summary


def render_direct_checkout(
    request: HttpRequest,
    *,
    variant: Variant,
    quantity: int,
    unit_price: Decimal,
    heading: str,
    note: str = "",
    place: Callable[[dict[str, str], str, int | None], Checkout],
    done_url: Callable[[Checkout], str] | None = None,
    extra_fields: dict[str, str] | None = None,
) -> HttpResponse:
    """The checkout page of one item bought outside the cart (a team or flash deal), for the deal's own view.

    Sign-in required. GET: the form (address, delivery of the variant's shop for the chosen country, payment) and
    the summary (item × quantity at ``unit_price`` + delivery = total, and ``note``). POST ``action=place``:
    ``place(address, payment_method, delivery_method_id)`` runs once per form (its idempotency key), then a
    redirect to ``done_url(checkout)`` (default: the checkout's confirmation page). A DomainError shows the form
    again with its message and status. Any other POST recomputes the summary (HTMX: the summary alone).
    ``extra_fields`` are hidden inputs sent back with the form (the deal, the team code...).
    """
    user = _user(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    shop = variant.product.shop
    status = 200
    if request.method == "POST":
        form = DirectCheckoutForm(request.POST)
        if request.POST.get("action") == "place":
            placed = _place_direct(request, user, form, place)
            if isinstance(placed, Checkout):
                request.session[ADDRESS_SESSION_KEY] = form.address()
                if done_url is not None:
                    return redirect(done_url(placed))
                return redirect("web:checkout_done", public_id=placed.public_id)
            status = placed
        else:
            form.is_valid()  # to show the values back; errors are only shown when placing
            form.errors.clear()
    else:
        initial: dict[str, Any] = {
            k: v
            for k, v in (request.session.get(ADDRESS_SESSION_KEY) or {}).items()
            if k in ADDRESS_FIELDS and isinstance(v, str)
        }
        # Most shoppers buy from shops of their own country; they can change it.
        initial.setdefault("country", str(shop.country.code or ""))
        if not initial.get("name"):
            initial["name"] = user.display_name or ""
        if request.GET.get("country"):
            initial["country"] = request.GET["country"][:2].upper()
        initial["idempotency_key"] = new_idempotency_key()
        form = DirectCheckoutForm(initial=initial)
    source = request.POST if request.method == "POST" else request.GET
    method = str(source.get("delivery_method") or "")
    summary = _direct_summary(
        variant,
        quantity,
        unit_price,
        str(form["country"].value() or ""),
        int(method) if WHOLE_NUMBER.fullmatch(method) else None,
    )
    context = {
        "form": form,
        "summary": summary,
        "heading": heading,
        "note": note,
        "country_name": country_name(summary.country) if summary.country else "",
        "payment_options": form.options,
        "extra_fields": sorted((extra_fields or {}).items()),
        "action_url": request.get_full_path(),
    }
    if _htmx(request) and request.method == "POST" and request.POST.get("action") != "place":
        return render(request, "web/orders/_direct_checkout_summary.html", context)
    return render(request, "web/orders/direct_checkout.html", context, status=status)


def _place_direct(
    request: HttpRequest,
    user: User,
    form: DirectCheckoutForm,
    place: Callable[[dict[str, str], str, int | None], Checkout],
) -> Checkout | int:
    """Place once per form key; the checkout, or the HTTP status of the refusal (the form then says why)."""
    if not form.is_valid():
        return 422
    address, method, delivery_id = form.address(), form.cleaned_data["payment_method"], form.delivery_method_id()
    payload = {"address": address, "payment_method": method, "delivery_method": delivery_id}

    def work() -> tuple[int, Any]:
        return 201, {"checkout": place(address, method, delivery_id).public_id}

    try:
        result = run_idempotent(
            scope=f"user:{user.pk}",
            key=form.cleaned_data["idempotency_key"],
            fingerprint=fingerprint_of(method="POST", path=request.path, payload=payload),
            work=work,
        )
        status, body = result.status, result.body
    except IdempotencyKeyReused:
        status, body = 422, {"detail": _("You already placed an order from this page. Check your orders first.")}
    except DomainError as exc:
        if _refused(exc):
            raise
        status, body = exc.status, exc.as_dict()
    if status < 400:
        checkout_obj = Checkout.objects.filter(public_id=body["checkout"]).first()
        if checkout_obj is not None:
            return checkout_obj
        status, body = 404, {"detail": _("The order could not be found. Check your orders.")}
    # A new key for the next try: this one is spent on the refusal.
    data = request.POST.copy()
    data["idempotency_key"] = new_idempotency_key()
    form.data = data
    message, name = str(body.get("detail") or _("The order could not be placed.")), str(body.get("field") or "")
    name = name.removeprefix("address.")
    if name in form.fields and name != "idempotency_key":
        form.add_error(name, message)
    else:
        form.add_error(None, message)
    return status

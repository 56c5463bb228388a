"""The seller dashboard's orders and money: the shop's orders, one order with fulfilment and refunds, the sales
policy, and the balance with its ledger movements and a chart of the last 30 days.

Orders are found through ``order_for_staff`` (a 404 for anyone who may not see the shop's orders, and for another
shop's order number); every action is a service call that checks the role again (fulfil vs refund).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from agora.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from agora.core.money import format_money
from agora.idempotency.services import fingerprint_of, run_idempotent
from agora.ledger import selectors as ledger_selectors
from agora.ledger.models import Account, LedgerTransaction
from agora.orders import selectors as order_selectors
from agora.orders import services as order_services
from agora.orders import states
from agora.orders.models import Order, OrderStatus
from agora.shipping.selectors import country_name
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.web.dashboard.orders_forms import NoteForm, RefundForm, SalesPolicyForm, ShipForm
from agora.web.dashboard.views import INVALID, _context, _form_error, _shop, _user
from agora.web.views.orders_forms import new_idempotency_key

ORDERS_PER_PAGE = 20
MOVEMENTS_PER_PAGE = 30
CHART_DAYS = 30
SHOP_ACCOUNTS = (Account.SHOP_PENDING, Account.SHOP_PAYABLE)
# The filter chips of the orders list, in the order a seller works through them.
STATUS_FILTERS = ("open", "placed", "paid", "shipped", "delivered", "refund_requested", "return_requested")


def _order_rights(request: HttpRequest, shop: Shop) -> dict[str, bool]:
    user = request.user
    return {
        "fulfil": shop_selectors.can(user, shop, ShopAction.FULFIL_ORDERS),
        "refund": shop_selectors.can(user, shop, ShopAction.REFUND_ORDERS),
        "finances": shop_selectors.can(user, shop, ShopAction.VIEW_FINANCES),
        "edit_shop": shop_selectors.can(user, shop, ShopAction.EDIT_SHOP),
    }


# --- the orders list ---------------------------------------------------------------------
@login_required
def shop_orders(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    status = request.GET.get("status", "")
    status = status if status in OrderStatus.values or status == "open" else ""
    orders = order_selectors.shop_orders(shop, viewer=request.user, status=status)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    counts = order_selectors.shop_order_counts(shop, viewer=request.user)
    open_count = sum(
        counts.get(s, 0) for s in (OrderStatus.PAID, OrderStatus.REFUND_REQUESTED, OrderStatus.RETURN_REQUESTED)
    )
    filters = [("", _("All"), sum(counts.values()))]
    filters.append(("open", _("To handle"), open_count))
    filters.extend((s, str(OrderStatus(s).label), counts.get(s, 0)) for s in STATUS_FILTERS[1:])
    context = _context(
        request,
        shop,
        "orders",
        page_obj=page,
        orders=page.object_list,
        status_filter=status,
        filters=filters,
        order_rights=_order_rights(request, shop),
    )
    return render(request, "web/dashboard/orders/orders.html", context)


# --- one order -----------------------------------------------------------------------------
def _order(request: HttpRequest, shop: Shop, number: str) -> Order:
    return order_selectors.order_for_staff(shop=shop, viewer=request.user, number=number)


def _staff_actions(order: Order, rights: dict[str, bool]) -> dict[str, bool]:
    allowed = set(states.next_statuses(order, states.STAFF))
    requested = order.status in (OrderStatus.REFUND_REQUESTED, OrderStatus.RETURN_REQUESTED)
    cancel_right = rights["fulfil"] if order.status == OrderStatus.PLACED else rights["refund"]
    return {
        "ship": rights["fulfil"] and OrderStatus.SHIPPED in allowed and order.shipped_at is None,
        "deliver": rights["fulfil"] and OrderStatus.DELIVERED in allowed and order.shipped_at is not None,
        "refund": rights["refund"]
        and bool({OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED} & allowed)
        and order.refunded_amount < order.total,
        "accept_return": rights["refund"] and order.status == OrderStatus.RETURN_REQUESTED,
        "decline": rights["refund"] and requested,
        "cancel": cancel_right and order.status in (OrderStatus.PLACED, OrderStatus.PAID),
    }


def _render_order(
    request: HttpRequest,
    shop: Shop,
    order: Order,
    *,
    ship_form: ShipForm | None = None,
    refund_form: RefundForm | None = None,
    note_form: NoteForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    rights = _order_rights(request, shop)
    address = order.checkout.shipping_address or {}
    context = _context(
        request,
        shop,
        "orders",
        order=order,
        timeline=order_selectors.order_timeline(order),
        actions=_staff_actions(order, rights),
        order_rights=rights,
        ship_form=ship_form or ShipForm(),
        refund_form=refund_form
        or RefundForm(initial={"restock": order.shipped_at is None, "idempotency_key": new_idempotency_key()}),
        note_form=note_form or NoteForm(),
        error=error,
        address=address,
        address_country=country_name(str(address.get("country", ""))) if address.get("country") else "",
        show_staff_names=True,
    )
    return render(request, "web/dashboard/orders/order.html", context, status=status)


@login_required
def dashboard_order(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    return _render_order(request, shop, _order(request, shop, number))


def _done(request: HttpRequest, shop: Shop, order: Order, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("web:dashboard_order", slug=shop.slug, number=order.number)


def _refused(
    request: HttpRequest, shop: Shop, number: str, form: forms.Form, exc: DomainError, **forms_: Any
) -> HttpResponse:
    status = _form_error(form, exc)
    return _render_order(request, shop, _order(request, shop, number), status=status, **forms_)


@login_required
@require_POST
def order_ship(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = ShipForm(request.POST)
    if not form.is_valid():
        return _render_order(request, shop, order, ship_form=form, status=INVALID)
    try:
        order_services.ship_order(actor=_user(request), order=order, **form.cleaned_data)
    except DomainError as exc:
        return _refused(request, shop, number, form, exc, ship_form=form)
    return _done(request, shop, order, _("Order %(number)s is marked shipped.") % {"number": order.number})


@login_required
@require_POST
def order_deliver(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        order_services.mark_delivered(actor=_user(request), order=order, note=form.cleaned_data.get("note", ""))
    except DomainError as exc:
        return _refused(request, shop, number, form, exc, note_form=form)
    return _done(request, shop, order, _("Order %(number)s is marked delivered.") % {"number": order.number})


def _fresh_refund_form(request: HttpRequest) -> RefundForm:
    """The refund form as sent, with a new key: after a refusal, the corrected form is a new request."""
    data = request.POST.copy()
    data["idempotency_key"] = new_idempotency_key()
    form = RefundForm(data)
    form.is_valid()
    return form


def _replayed_error(status: int, body: Any) -> DomainError:
    """A refusal stored with an idempotency key, as the error it was (a replay of a refused form)."""
    body = body if isinstance(body, dict) else {}
    kind = {401: NotAuthenticated, 403: PermissionDenied, 404: NotFound, 409: Conflict}.get(status, ValidationFailed)
    error = kind(str(body.get("detail") or _("The refund was refused.")), field=body.get("field") or None)
    error.status = status
    return error


@login_required
@require_POST
def order_refund(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    """Refund lines or an amount. The form's idempotency key makes a double submit refund once."""
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _render_order(request, shop, order, refund_form=form, status=INVALID)
    try:
        lines = form.lines(request.POST)
    except forms.ValidationError as exc:
        form.add_error(None, exc)
        return _render_order(request, shop, order, refund_form=form, status=INVALID)
    data = form.cleaned_data
    user = _user(request)

    def work() -> tuple[int, Any]:
        refunded = order_services.refund_order(
            actor=user,
            order=order,
            lines=lines or None,
            amount=data["amount"] or None,
            reason=data["reason"],
            restock=bool(data["restock"]),
        )
        return 200, {"status": refunded.status, "pending": order_selectors.has_pending_refund(refunded)}

    payload = {
        "lines": {str(k): v for k, v in sorted(lines.items())},
        "amount": data["amount"],
        "reason": data["reason"],
        "restock": bool(data["restock"]),
    }
    try:
        if data["idempotency_key"]:
            result = run_idempotent(
                scope=f"user:{user.pk}",
                key=data["idempotency_key"],
                fingerprint=fingerprint_of(method="POST", path=request.path, payload=payload),
                work=work,
            )
            status, body = result.status, result.body
        else:
            status, body = work()
    except DomainError as exc:
        fresh = _fresh_refund_form(request)
        return _refused(request, shop, number, fresh, exc, refund_form=fresh)
    if status >= 400:
        fresh = _fresh_refund_form(request)
        return _refused(request, shop, number, fresh, _replayed_error(status, body), refund_form=fresh)
    if body.get("pending"):
        message = _(
            "The refund was sent to the payment provider and is being processed. The order changes when the "
            "provider confirms it."
        )
    else:
        message = _("Refund sent. The order is now %(status)s.") % {"status": OrderStatus(body["status"]).label.lower()}
    return _done(request, shop, order, message)


@login_required
@require_POST
def order_accept_return(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        order_services.accept_return(actor=_user(request), order=order, note=form.cleaned_data.get("note", ""))
    except DomainError as exc:
        return _refused(request, shop, number, form, exc, note_form=form)
    return _done(request, shop, order, _("Return accepted: the items are back in stock and refunded."))


@login_required
@require_POST
def order_decline(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        order_services.decline_request(actor=_user(request), order=order, note=form.cleaned_data.get("note", ""))
    except DomainError as exc:
        return _refused(request, shop, number, form, exc, note_form=form)
    return _done(request, shop, order, _("Request declined. The shopper is told."))


@login_required
@require_POST
def order_cancel(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_ORDERS)
    order = _order(request, shop, number)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        order_services.cancel_order(
            actor=_user(request), order=order, reason=form.cleaned_data.get("note", ""), as_staff=True
        )
    except DomainError as exc:
        return _refused(request, shop, number, form, exc, note_form=form)
    return _done(request, shop, order, _("Order %(number)s is cancelled.") % {"number": order.number})


# --- sales policy --------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def sales_policy(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.EDIT_SHOP)
    policy = order_selectors.sales_policy(shop)
    form = SalesPolicyForm(request.POST or None, initial={"return_window_days": policy.return_window_days})
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.is_valid():
            try:
                order_services.update_sales_policy(
                    actor=_user(request), shop=shop, return_window_days=form.cleaned_data["return_window_days"]
                )
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(request, _("Sales policy saved."))
                return redirect("web:sales_policy", slug=shop.slug)
    context = _context(
        request,
        shop,
        "policy",
        form=form,
        policy=policy,
        commission_percent=order_selectors.commission_rate(shop) * 100,
    )
    return render(request, "web/dashboard/orders/sales_policy.html", context, status=status)


# --- balance -------------------------------------------------------------------------------
@dataclass
class Chart:
    """The shop's balance over the last days in one currency, drawn as an inline SVG (no script, no CDN)."""

    currency: str
    days: list[tuple[date, Decimal, Decimal]]  # (day, change that day, balance at its end)
    width: int = 640
    height: int = 180
    pad: int = 28

    @property
    def low(self) -> Decimal:
        return min([Decimal(0), *(b for _d, _c, b in self.days), *(c for _d, c, _b in self.days)])

    @property
    def high(self) -> Decimal:
        top = max([Decimal(0), *(b for _d, _c, b in self.days), *(c for _d, c, _b in self.days)])
        return top if top > self.low else self.low + 1

    def _y(self, value: Decimal) -> float:
        span = float(self.high - self.low) or 1.0
        inner = self.height - 2 * self.pad
        return round(self.pad + inner * (1 - float(value - self.low) / span), 1)

    def _x(self, index: int) -> float:
        inner = self.width - 2 * self.pad
        return round(self.pad + inner * index / max(len(self.days) - 1, 1), 1)

    @property
    def points(self) -> str:
        return " ".join(f"{self._x(i)},{self._y(b)}" for i, (_d, _c, b) in enumerate(self.days))

    @property
    def area(self) -> str:
        base = self.zero_y
        first, last = self._x(0), self._x(len(self.days) - 1)
        return f"{first},{base} {self.points} {last},{base}"

    @property
    def zero_y(self) -> float:
        return self._y(Decimal(0))

    @property
    def bars(self) -> list[dict[str, Any]]:
        """One bar per day with a change, from the zero line (green up, red down)."""
        step = (self.width - 2 * self.pad) / max(len(self.days), 1)
        result = []
        for i, (day, change, _balance) in enumerate(self.days):
            if not change:
                continue
            top, bottom = sorted([self._y(change), self.zero_y])
            result.append(
                {
                    "x": round(self._x(i) - step * 0.3, 1),
                    "y": top,
                    "w": round(step * 0.6, 1),
                    "h": round(max(bottom - top, 1.0), 1),
                    "up": change > 0,
                    "label": f"{day.isoformat()}: {format_money(change, self.currency)}",
                }
            )
        return result

    @property
    def high_label(self) -> str:
        return format_money(self.high, self.currency)

    @property
    def low_label(self) -> str:
        return format_money(self.low, self.currency)

    @property
    def last(self) -> Decimal:
        return self.days[-1][2] if self.days else Decimal(0)


def balance_chart(shop: Shop, *, days: int = CHART_DAYS, today: date | None = None) -> list[Chart]:
    """What the shop is owed (pending + payable) at the end of each of the last ``days`` days, per currency."""
    charts = []
    for totals in ledger_selectors.daily_totals(shop, days, today=today):
        balance = totals.opening
        series = []
        for day, change in totals.days:
            balance += change
            series.append((day, change, balance))
        charts.append(Chart(currency=totals.currency, days=series))
    return charts


def _shop_amount(movement: LedgerTransaction, shop: Shop) -> Decimal:
    """How much a movement changed what the shop is owed (its two accounts together)."""
    total = sum(
        (e.amount for e in movement.entries.all() if e.shop_id == shop.pk and e.account in SHOP_ACCOUNTS),  # type: ignore[attr-defined]
        Decimal(0),
    )
    return -total


@login_required
def shop_balance(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.VIEW_FINANCES)
    page = Paginator(ledger_selectors.shop_movements(shop), MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    movements = list(page.object_list)
    for movement in movements:
        movement.shop_amount = _shop_amount(movement, shop)  # type: ignore[attr-defined]
        movement.pending = sum(  # type: ignore[attr-defined]
            (-e.amount for e in movement.entries.all() if e.account == Account.SHOP_PENDING),  # type: ignore[attr-defined]
            Decimal(0),
        )
        movement.payable = sum(  # type: ignore[attr-defined]
            (-e.amount for e in movement.entries.all() if e.account == Account.SHOP_PAYABLE),  # type: ignore[attr-defined]
            Decimal(0),
        )
    context = _context(
        request,
        shop,
        "balance",
        balances=ledger_selectors.shop_balance(shop),
        page_obj=page,
        movements=movements,
        charts=balance_chart(shop),
        chart_days=CHART_DAYS,
    )
    return render(request, "web/dashboard/orders/balance.html", context)

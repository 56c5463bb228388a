"""The seller dashboard's delivery page: zones of countries and their methods, edited inline with HTMX.

Like the variants editor: every zone and method is found through the shop in the URL (another shop's id is
a 404), HTMX requests get the fragment they replace, plain form posts a redirect or the whole page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from agora.core.errors import DomainError
from agora.core.money import CURRENCIES
from agora.shipping import selectors as shipping_selectors
from agora.shipping import services as shipping_services
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.web.dashboard.orders_forms import MethodForm, ZoneForm
from agora.web.dashboard.views import INVALID, _context, _form_error, _shop, _user


def _amount_input(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    exponent = CURRENCIES.get(currency, (2, ""))[0]
    return str(amount.quantize(Decimal(1).scaleb(-exponent)))


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _delivery_context(request: HttpRequest, shop: Shop, **extra: Any) -> dict[str, Any]:
    manage = shop_selectors.can(request.user, shop, ShopAction.MANAGE_DELIVERY)
    return _context(request, shop, "delivery", manage_delivery=manage, **extra)


def _zones(request: HttpRequest, shop: Shop) -> list[DeliveryZone]:
    zones = list(shipping_selectors.list_zones(viewer=request.user, shop=shop))
    for zone in zones:
        zone.country_names = [(c, shipping_selectors.country_name(c)) for c in zone.countries]  # type: ignore[attr-defined]
    return zones


def _zone(request: HttpRequest, shop: Shop, zone_id: int) -> DeliveryZone:
    zone = shipping_selectors.get_zone(viewer=request.user, shop=shop, zone_id=zone_id)
    zone.country_names = [(c, shipping_selectors.country_name(c)) for c in zone.countries]  # type: ignore[attr-defined]
    return zone


def _zone_initial(zone: DeliveryZone) -> dict[str, Any]:
    return {"name": zone.name, "countries": ", ".join(zone.countries), "everywhere_else": zone.everywhere_else}


def _method_initial(method: DeliveryMethod, currency: str) -> dict[str, Any]:
    return {
        "name": method.name,
        "price": _amount_input(method.price, currency),
        "free_over": _amount_input(method.free_over, currency),
        "min_days": method.min_days,
        "max_days": method.max_days,
        "is_active": method.is_active,
    }


def _render_page(
    request: HttpRequest, shop: Shop, *, zone_form: ZoneForm | None = None, status: int = 200
) -> HttpResponse:
    context = _delivery_context(request, shop, zones=_zones(request, shop), zone_form=zone_form or ZoneForm())
    template = "web/dashboard/orders/_delivery_zones.html" if _htmx(request) else "web/dashboard/orders/delivery.html"
    return render(request, template, context, status=status)


def _render_zone(
    request: HttpRequest,
    shop: Shop,
    zone: DeliveryZone,
    *,
    zone_form: ZoneForm | None = None,
    method_form: MethodForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = _delivery_context(
        request, shop, zone=zone, edit_form=zone_form, method_form=method_form or MethodForm(), zone_error=error
    )
    return render(request, "web/dashboard/orders/_delivery_zone.html", context, status=status)


# --- zones -------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def delivery(request: HttpRequest, slug: str) -> HttpResponse:
    """The zones and their methods; a POST adds a zone."""
    shop = _shop(request, slug)
    if request.method != "POST":
        return _render_page(request, shop)
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    form = ZoneForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            zone = shipping_services.create_zone(actor=_user(request), shop=shop, **form.zone_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not _htmx(request):
                messages.success(
                    request, _("Zone %(name)s added. Now add a delivery method to it.") % {"name": zone.name}
                )
                return redirect("web:delivery", slug=shop.slug)
            form, status = ZoneForm(), 200
    return _render_page(request, shop, zone_form=form, status=status)


@login_required
def delivery_zone(request: HttpRequest, slug: str, zone_id: int) -> HttpResponse:
    shop = _shop(request, slug)
    return _render_zone(request, shop, _zone(request, shop, zone_id))


@login_required
@require_http_methods(["GET", "POST"])
def delivery_zone_edit(request: HttpRequest, slug: str, zone_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    zone = _zone(request, shop, zone_id)
    if request.method != "POST":
        return _render_zone(request, shop, zone, zone_form=ZoneForm(initial=_zone_initial(zone)))
    form = ZoneForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            shipping_services.update_zone(actor=_user(request), zone=zone, **form.zone_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not _htmx(request):
                messages.success(request, _("Zone saved."))
                return redirect("web:delivery", slug=shop.slug)
            return _render_zone(request, shop, _zone(request, shop, zone_id))
    zone = _zone(request, shop, zone_id)
    if not _htmx(request):
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("web:delivery", slug=shop.slug)
    return _render_zone(request, shop, zone, zone_form=form, status=status)


@login_required
@require_POST
def delivery_zone_delete(request: HttpRequest, slug: str, zone_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    zone = _zone(request, shop, zone_id)
    shipping_services.delete_zone(actor=_user(request), zone=zone)
    if _htmx(request):
        return _render_page(request, shop)
    messages.success(request, _("Zone %(name)s deleted.") % {"name": zone.name})
    return redirect("web:delivery", slug=shop.slug)


# --- methods -----------------------------------------------------------------------------
@login_required
@require_POST
def delivery_method_add(request: HttpRequest, slug: str, zone_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    zone = _zone(request, shop, zone_id)
    form = MethodForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            shipping_services.add_method(actor=_user(request), zone=zone, **form.method_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not _htmx(request):
                messages.success(request, _("Delivery method added."))
                return redirect("web:delivery", slug=shop.slug)
            form, status = MethodForm(), 200
    if not _htmx(request):
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("web:delivery", slug=shop.slug)
    return _render_zone(request, shop, _zone(request, shop, zone_id), method_form=form, status=status)


def _method(request: HttpRequest, shop: Shop, method_id: int) -> DeliveryMethod:
    return shipping_selectors.get_method(viewer=request.user, shop=shop, method_id=method_id)


def _render_method_row(
    request: HttpRequest, shop: Shop, method: DeliveryMethod, *, form: MethodForm | None = None, status: int = 200
) -> HttpResponse:
    context = _delivery_context(request, shop, method=method, form=form)
    template = (
        "web/dashboard/orders/_delivery_method_edit.html"
        if form is not None
        else "web/dashboard/orders/_delivery_method.html"
    )
    return render(request, template, context, status=status)


@login_required
def delivery_method_row(request: HttpRequest, slug: str, method_id: int) -> HttpResponse:
    shop = _shop(request, slug)
    return _render_method_row(request, shop, _method(request, shop, method_id))


@login_required
@require_http_methods(["GET", "POST"])
def delivery_method_edit(request: HttpRequest, slug: str, method_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    method = _method(request, shop, method_id)
    if request.method != "POST":
        return _render_method_row(
            request, shop, method, form=MethodForm(initial=_method_initial(method, shop.currency))
        )
    form = MethodForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            shipping_services.update_method(actor=_user(request), method=method, **form.method_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not _htmx(request):
                messages.success(request, _("Delivery method saved."))
                return redirect("web:delivery", slug=shop.slug)
            return _render_method_row(request, shop, _method(request, shop, method_id))
    if not _htmx(request):
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("web:delivery", slug=shop.slug)
    return _render_method_row(request, shop, _method(request, shop, method_id), form=form, status=status)


@login_required
@require_POST
def delivery_method_delete(request: HttpRequest, slug: str, method_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DELIVERY)
    method = _method(request, shop, method_id)
    zone_id = method.zone_id
    shipping_services.delete_method(actor=_user(request), method=method)
    if _htmx(request):
        return _render_zone(request, shop, _zone(request, shop, zone_id))
    messages.success(request, _("Delivery method deleted."))
    return redirect("web:delivery", slug=shop.slug)

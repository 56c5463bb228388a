"""Reads for delivery: what a shop offers for a country and a basket subtotal, and its zones for its staff."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django_countries import countries as all_countries

from agora.shipping.errors import DeliveryInvalid, DeliveryUnavailable, MethodNotFound, ZoneNotFound
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, require


@dataclass(frozen=True)
class DeliveryQuote:
    """One way to get a shop's parcel to a country, and what it costs for a given subtotal."""

    method_id: int
    name: str
    cost: Decimal
    currency: str
    min_days: int
    max_days: int
    is_free: bool
    # The method's own price and threshold, for "free from €50" hints (extensions of the contract).
    price: Decimal = Decimal("0")
    free_over: Decimal | None = None
    zone_name: str = ""


def check_country(code: object, *, field: str = "country") -> str:
    """An ISO 3166 alpha-2 code, upper-cased, or a 422 naming the field."""
    text = str(code or "").strip().upper()
    if len(text) != 2 or not text.isalpha() or all_countries.alpha2(text) != text:
        raise DeliveryInvalid(
            _("'%(code)s' is not a country code. Use a two-letter ISO code such as DE, US or JP.") % {"code": text},
            code="unknown_country",
            field=field,
        )
    return text


def country_name(code: str) -> str:
    return str(all_countries.name(code) or code)


def _quote(method: DeliveryMethod, currency: str, subtotal: Decimal) -> DeliveryQuote:
    is_free = method.price == 0 or (method.free_over is not None and subtotal >= method.free_over)
    return DeliveryQuote(
        method_id=method.pk,
        name=method.name,
        cost=Decimal("0") if is_free else method.price,
        currency=currency,
        min_days=method.min_days,
        max_days=method.max_days,
        is_free=is_free,
        price=method.price,
        free_over=method.free_over,
        zone_name=method.zone.name,
    )


def _methods_for(shop: Shop, country: str) -> list[DeliveryMethod]:
    """The shop's active methods that deliver to ``country``, in the seller's order. Two small queries.

    A zone listing the country wins, even with no active method; only a country that no zone lists falls to
    the "everywhere else" zone.
    """
    zones = list(DeliveryZone.objects.filter(shop=shop).values_list("pk", "countries", "everywhere_else"))
    chosen = [pk for pk, codes, _rest in zones if country in (codes or [])]
    if not chosen:
        chosen = [pk for pk, _codes, rest in zones if rest]
    if not chosen:
        return []
    return list(
        DeliveryMethod.objects.filter(zone_id__in=chosen, is_active=True)
        .select_related("zone")
        .order_by("zone__position", "zone_id", "position", "id")
    )


def _check_subtotal(subtotal: Decimal) -> Decimal:
    if not isinstance(subtotal, Decimal) or not subtotal.is_finite() or subtotal < 0:
        raise DeliveryInvalid(_("The subtotal must be an amount of zero or more."), field="subtotal")
    return subtotal


def delivery_options(*, shop: Shop, country: str, subtotal: Decimal) -> list[DeliveryQuote]:
    """What ``shop`` offers to deliver to ``country`` for a basket of ``subtotal`` (shop currency).

    Empty when the shop does not deliver there. An unknown country code is a 422 (field "country").
    """
    code = check_country(country)
    subtotal = _check_subtotal(subtotal)
    return [_quote(m, shop.currency, subtotal) for m in _methods_for(shop, code)]


def quote(*, shop: Shop, method_id: int, country: str, subtotal: Decimal) -> DeliveryQuote:
    """The cost of one method; DeliveryUnavailable (422, field "delivery") when it cannot deliver there."""
    code = check_country(country)
    subtotal = _check_subtotal(subtotal)
    for method in _methods_for(shop, code):
        if method.pk == method_id:
            return _quote(method, shop.currency, subtotal)
    exists = DeliveryMethod.objects.filter(pk=method_id, shop=shop, is_active=True).exists()
    if exists:
        message = _("%(shop)s cannot deliver this way to %(country)s. Choose another delivery method.") % {
            "shop": shop.name,
            "country": country_name(code),
        }
    else:
        message = _("%(shop)s has no such delivery method (any more). Choose another one for %(country)s.") % {
            "shop": shop.name,
            "country": country_name(code),
        }
    raise DeliveryUnavailable(message, field="delivery", country=code)


def ships_to(*, shop: Shop, country: str) -> bool:
    return bool(_methods_for(shop, check_country(country)))


# --- for the shop's staff ------------------------------------------------------------------
def list_zones(*, viewer: Viewer, shop: Shop) -> QuerySet[DeliveryZone]:
    """The shop's zones with their methods (prefetched, in order): two queries."""
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    return (
        DeliveryZone.objects.filter(shop=shop)
        .prefetch_related(Prefetch("methods", queryset=DeliveryMethod.objects.order_by("position", "id")))
        .order_by("position", "id")
    )


def get_zone(*, viewer: Viewer, shop: Shop, zone_id: int) -> DeliveryZone:
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    zone = list_zones(viewer=viewer, shop=shop).filter(pk=zone_id).first()
    if zone is None:
        raise ZoneNotFound(_("%(shop)s has no delivery zone %(id)s.") % {"shop": shop.name, "id": zone_id})
    return zone


def get_method(*, viewer: Viewer, shop: Shop, method_id: int) -> DeliveryMethod:
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    method = DeliveryMethod.objects.select_related("zone", "shop").filter(pk=method_id, shop=shop).first()
    if method is None:
        raise MethodNotFound(_("%(shop)s has no delivery method %(id)s.") % {"shop": shop.name, "id": method_id})
    return method

"""Delivery over the API: what a shop charges to deliver to a country, and its zones and methods for its staff."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, Slug, responses
from agora.core.money import to_amount
from agora.shipping import selectors, services
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shipping.schemas import (
    DeliveryFilters,
    DeliveryMethodIn,
    DeliveryMethodOut,
    DeliveryMethodPatchIn,
    DeliveryQuoteOut,
    DeliveryZoneIn,
    DeliveryZoneOut,
    DeliveryZonePatchIn,
)
from agora.shipping.selectors import DeliveryQuote
from agora.shops import selectors as shop_selectors
from agora.shops.permissions import ShopAction

router = Router(tags=["shipping"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}


@router.get("shops/{slug}/delivery", **PUBLIC, response=responses({200: list[DeliveryQuoteOut]}))
def delivery_options(request: HttpRequest, slug: Slug, filters: Query[DeliveryFilters]) -> list[DeliveryQuote]:
    """How the shop delivers to `country` and what each way costs for a basket of `subtotal` (shop currency).

    An empty list means the shop does not deliver there. Not paginated: a shop has a handful of methods.
    """
    shop = shop_selectors.get_shop(slug, viewer=viewer_of(request))
    subtotal = to_amount(filters.subtotal, shop.currency, field="subtotal")
    return selectors.delivery_options(shop=shop, country=filters.country, subtotal=subtotal)


# --- zones (staff) ------------------------------------------------------------------
@router.get("shops/{slug}/delivery/zones", response=responses({200: list[DeliveryZoneOut]}))
@paginate(PagePagination)
def list_zones(request: HttpRequest, slug: Slug) -> Any:
    """The shop's delivery zones with their methods, for its staff."""
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    return selectors.list_zones(viewer=user, shop=shop)


@router.post("shops/{slug}/delivery/zones", response=responses({201: DeliveryZoneOut}))
def create_zone(request: HttpRequest, slug: Slug, payload: DeliveryZoneIn) -> Status[DeliveryZone]:
    """A new zone: `countries` as ISO codes, or `everywhere_else` for every country no other zone lists."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    zone = services.create_zone(actor=user, shop=shop, **payload.model_dump())
    return Status(201, selectors.get_zone(viewer=user, shop=shop, zone_id=zone.pk))


@router.get("shops/{slug}/delivery/zones/{zone_id}", response=responses({200: DeliveryZoneOut}))
def get_zone(request: HttpRequest, slug: Slug, zone_id: Id) -> DeliveryZone:
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    return selectors.get_zone(viewer=user, shop=shop, zone_id=zone_id)


@router.patch("shops/{slug}/delivery/zones/{zone_id}", response=responses({200: DeliveryZoneOut}))
def update_zone(request: HttpRequest, slug: Slug, zone_id: Id, payload: DeliveryZonePatchIn) -> DeliveryZone:
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    zone = selectors.get_zone(viewer=user, shop=shop, zone_id=zone_id)
    services.update_zone(actor=user, zone=zone, **payload.model_dump(exclude_unset=True))
    return selectors.get_zone(viewer=user, shop=shop, zone_id=zone_id)


@router.delete("shops/{slug}/delivery/zones/{zone_id}", response=responses({204: None}))
def delete_zone(request: HttpRequest, slug: Slug, zone_id: Id) -> Status[None]:
    """Remove a zone with its methods."""
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    services.delete_zone(actor=user, zone=selectors.get_zone(viewer=user, shop=shop, zone_id=zone_id))
    return Status(204, None)


# --- methods (staff) ----------------------------------------------------------------
@router.post("shops/{slug}/delivery/zones/{zone_id}/methods", response=responses({201: DeliveryMethodOut}))
def add_method(request: HttpRequest, slug: Slug, zone_id: Id, payload: DeliveryMethodIn) -> Status[DeliveryMethod]:
    """A method in the zone: `price` in the shop's currency, free from `free_over` on, `min_days` to `max_days`."""
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    zone = selectors.get_zone(viewer=user, shop=shop, zone_id=zone_id)
    return Status(201, services.add_method(actor=user, zone=zone, **payload.model_dump()))


@router.patch("shops/{slug}/delivery/methods/{method_id}", response=responses({200: DeliveryMethodOut}))
def update_method(request: HttpRequest, slug: Slug, method_id: Id, payload: DeliveryMethodPatchIn) -> DeliveryMethod:
    """Change a method; `"free_over": null` removes the free-delivery threshold."""
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    method = selectors.get_method(viewer=user, shop=shop, method_id=method_id)
    return services.update_method(actor=user, method=method, **payload.model_dump(exclude_unset=True))


@router.delete("shops/{slug}/delivery/methods/{method_id}", response=responses({204: None}))
def delete_method(request: HttpRequest, slug: Slug, method_id: Id) -> Status[None]:
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    services.delete_method(actor=user, method=selectors.get_method(viewer=user, shop=shop, method_id=method_id))
    return Status(204, None)

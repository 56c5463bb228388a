"""Writes for delivery zones and methods. Only staff allowed to MANAGE_DELIVERY may change them."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.core.money import to_amount
from agora.core.text import clean_text, field_label
from agora.shipping.errors import DeliveryInvalid
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shipping.selectors import check_country, country_name
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import require

MAX_ZONES = 20
MAX_METHODS_PER_ZONE = 10
MAX_DAYS = 365
# The price columns hold 9 digits before the point (max_digits=12, decimal_places=3): a larger amount is refused
# here instead of failing in the database.
MAX_PRICE = Decimal("999999999.99")

_UNSET: Any = object()


# --- checks ---------------------------------------------------------------------------
def _countries(codes: Iterable[object]) -> list[str]:
    if isinstance(codes, str):
        # "DE, FR AT" from a form or a careless client: split it rather than read it letter by letter.
        codes = codes.replace(",", " ").split()
    cleaned = {check_country(code, field="countries") for code in codes if str(code or "").strip()}
    return sorted(cleaned)


def _days(value: object, *, field: str) -> int:
    label = field_label(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DeliveryInvalid(_("%(field)s must be a whole number.") % {"field": label}, field=field)
    try:
        number = int(value)
    except ValueError:
        raise DeliveryInvalid(_("%(field)s must be a whole number.") % {"field": label}, field=field) from None
    if not 0 <= number <= MAX_DAYS:
        raise DeliveryInvalid(
            _("%(field)s must be between 0 and %(max)d.") % {"field": label, "max": MAX_DAYS}, field=field
        )
    return number


def _check_days(min_days: int, max_days: int) -> None:
    if min_days > max_days:
        raise DeliveryInvalid(
            _("The longest delivery time cannot be shorter than the shortest (%(min)d days).") % {"min": min_days},
            field="max_days",
        )


def _price(value: object, currency: str, *, field: str) -> Decimal:
    amount = to_amount(value, currency, field=field)
    if amount > MAX_PRICE:
        raise DeliveryInvalid(
            _("%(field)s cannot exceed %(max)s.") % {"field": field_label(field), "max": MAX_PRICE},
            code="amount_too_large",
            field=field,
        )
    return amount


def _free_over(value: object, currency: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _price(value, currency, field="free_over")


def _lock_shop(shop: Shop) -> None:
    # Zone checks (a country in one zone only, one "everywhere else", the zone limit) read every zone of the
    # shop; the shop row lock makes two staff members' edits take turns instead of both passing the check.
    Shop.objects.select_for_update().filter(pk=shop.pk).first()


def _check_zone(shop: Shop, *, countries: list[str], everywhere_else: bool, exclude: int | None = None) -> None:
    if not countries and not everywhere_else:
        raise DeliveryInvalid(
            _("List the countries of the zone (such as DE, FR, AT), or make it cover everywhere else."),
            field="countries",
        )
    others = DeliveryZone.objects.filter(shop=shop)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    for zone in others.order_by("position", "id"):
        taken = sorted(set(countries) & set(zone.countries or []))
        if taken:
            raise DeliveryInvalid(
                _("%(country)s is already in the zone “%(zone)s”: a country belongs to one zone only.")
                % {"country": country_name(taken[0]), "zone": zone.name},
                code="country_in_other_zone",
                field="countries",
            )
        if everywhere_else and zone.everywhere_else:
            raise DeliveryInvalid(
                _("The zone “%(zone)s” already covers everywhere else.") % {"zone": zone.name},
                code="everywhere_else_taken",
                field="everywhere_else",
            )


# --- zones ----------------------------------------------------------------------------
def create_zone(
    *, actor: User, shop: Shop, name: str, countries: Iterable[object] = (), everywhere_else: bool = False
) -> DeliveryZone:
    """A new zone: the countries it covers (ISO codes), or everywhere no other zone lists."""
    require(actor, shop, ShopAction.MANAGE_DELIVERY)
    name = clean_text(name, field="name", max_length=80, required=True)
    codes = _countries(countries)
    try:
        with transaction.atomic():
            _lock_shop(shop)
            if DeliveryZone.objects.filter(shop=shop).count() >= MAX_ZONES:
                raise DeliveryInvalid(
                    _("A shop has at most %(max)d delivery zones.") % {"max": MAX_ZONES}, field="name"
                )
            _check_zone(shop, countries=codes, everywhere_else=everywhere_else)
            position = (DeliveryZone.objects.filter(shop=shop).aggregate(m=Max("position"))["m"] or 0) + 1
            return DeliveryZone.objects.create(
                shop=shop, name=name, countries=codes, everywhere_else=everywhere_else, position=position
            )
    except IntegrityError:
        raise DeliveryInvalid(_("Another zone already covers everywhere else."), field="everywhere_else") from None


def update_zone(
    *,
    actor: User,
    zone: DeliveryZone,
    name: str | None = None,
    countries: Iterable[object] | None = None,
    everywhere_else: bool | None = None,
) -> DeliveryZone:
    shop = zone.shop
    require(actor, shop, ShopAction.MANAGE_DELIVERY)
    if name is not None:
        zone.name = clean_text(name, field="name", max_length=80, required=True)
    if countries is not None:
        zone.countries = _countries(countries)
    if everywhere_else is not None:
        zone.everywhere_else = everywhere_else
    try:
        with transaction.atomic():
            _lock_shop(shop)
            _check_zone(shop, countries=zone.countries, everywhere_else=zone.everywhere_else, exclude=zone.pk)
            zone.save(update_fields=["name", "countries", "everywhere_else", "updated_at"])
    except IntegrityError:
        raise DeliveryInvalid(_("Another zone already covers everywhere else."), field="everywhere_else") from None
    return zone


def delete_zone(*, actor: User, zone: DeliveryZone) -> None:
    """Remove a zone and its methods. Orders placed with them keep their own copy of the delivery."""
    require(actor, zone.shop, ShopAction.MANAGE_DELIVERY)
    with transaction.atomic():
        zone.delete()


# --- methods --------------------------------------------------------------------------
def add_method(
    *,
    actor: User,
    zone: DeliveryZone,
    name: str,
    price: object,
    free_over: object = None,
    min_days: object = 1,
    max_days: object = 5,
    is_active: bool = True,
) -> DeliveryMethod:
    """A way to deliver into ``zone``: its price in the shop's currency, free from a subtotal on, and how long."""
    shop = zone.shop
    require(actor, shop, ShopAction.MANAGE_DELIVERY)
    name = clean_text(name, field="name", max_length=80, required=True)
    amount = _price(price, shop.currency, field="price")
    threshold = _free_over(free_over, shop.currency)
    low, high = _days(min_days, field="min_days"), _days(max_days, field="max_days")
    _check_days(low, high)
    with transaction.atomic():
        # The zone row lock keeps the per-zone limit true when two methods are added at once.
        DeliveryZone.objects.select_for_update().filter(pk=zone.pk).first()
        existing = DeliveryMethod.objects.filter(zone=zone)
        if existing.count() >= MAX_METHODS_PER_ZONE:
            raise DeliveryInvalid(
                _("A zone has at most %(max)d delivery methods.") % {"max": MAX_METHODS_PER_ZONE}, field="name"
            )
        position = (existing.aggregate(m=Max("position"))["m"] or 0) + 1
        return DeliveryMethod.objects.create(
            zone=zone,
            shop=shop,
            name=name,
            price=amount,
            free_over=threshold,
            min_days=low,
            max_days=high,
            is_active=is_active,
            position=position,
        )


def update_method(
    *,
    actor: User,
    method: DeliveryMethod,
    name: str | None = None,
    price: object = None,
    free_over: object = _UNSET,
    min_days: object = None,
    max_days: object = None,
    is_active: bool | None = None,
) -> DeliveryMethod:
    """Change a method; ``free_over=None`` removes the free-delivery threshold, leaving it out keeps it."""
    shop = method.shop
    require(actor, shop, ShopAction.MANAGE_DELIVERY)
    if name is not None:
        method.name = clean_text(name, field="name", max_length=80, required=True)
    if price is not None:
        method.price = _price(price, shop.currency, field="price")
    if free_over is not _UNSET:
        method.free_over = _free_over(free_over, shop.currency)
    if min_days is not None:
        method.min_days = _days(min_days, field="min_days")
    if max_days is not None:
        method.max_days = _days(max_days, field="max_days")
    _check_days(method.min_days, method.max_days)
    if is_active is not None:
        method.is_active = is_active
    with transaction.atomic():
        method.save(update_fields=["name", "price", "free_over", "min_days", "max_days", "is_active", "updated_at"])
    return method


def delete_method(*, actor: User, method: DeliveryMethod) -> None:
    require(actor, method.shop, ShopAction.MANAGE_DELIVERY)
    with transaction.atomic():
        method.delete()

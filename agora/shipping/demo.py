"""Demo delivery for every demo shop: domestic, a region around it and the rest of the world.

Called by ``manage.py demo`` after the shops exist; everything goes through the services, as the owner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agora.accounts.models import User
from agora.shipping.services import add_method, create_zone
from agora.shops.models import Membership, Role, Shop

Progress = Callable[[str, int, int], None]

EU = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
]  # fmt: skip
REGIONS: dict[str, tuple[str, list[str]]] = {
    "GB": ("Europe", [*EU, "NO", "CH", "IS"]),
    "UA": ("Europe", [*EU, "MD"]),
    "US": ("North America", ["CA", "MX"]),
    "JP": ("East Asia", ["KR", "TW", "HK", "SG", "CN"]),
    "KR": ("East Asia", ["JP", "TW", "HK", "SG", "CN"]),
    "PH": ("Asia", ["SG", "MY", "TH", "VN", "ID", "HK", "TW", "JP", "KR"]),
    "RU": ("Neighbours", ["BY", "KZ", "AM", "GE", "UZ", "KG"]),
    "BR": ("South America", ["AR", "UY", "PY", "CL", "BO", "PE", "CO"]),
}
# (standard, express, region, world, free-over for standard) in each demo currency, as a shop there would price.
PRICES: dict[str, tuple[str, str, str, str, str]] = {
    "EUR": ("4.90", "9.90", "9.90", "19.90", "50"),
    "GBP": ("3.95", "7.95", "9.95", "17.95", "40"),
    "USD": ("5.99", "14.99", "12.99", "24.99", "60"),
    "PHP": ("150", "350", "500", "1200", "2500"),
    "UAH": ("80", "150", "400", "900", "1500"),
    "RUB": ("350", "700", "1200", "2500", "5000"),
    "JPY": ("600", "1200", "2000", "3500", "8000"),
    "KRW": ("3000", "6000", "15000", "30000", "50000"),
    "BRL": ("19.90", "39.90", "59.90", "129.90", "250"),
}


def _owner(shop: Shop) -> User:
    membership = Membership.objects.select_related("user").filter(shop=shop, role=Role.OWNER).order_by("id").first()
    if membership is None:
        raise ValueError(f"The demo shop {shop.slug} has no owner.")
    return membership.user


def seed_shop(shop: Shop, owner: User) -> None:
    standard, express, regional, world, free_over = PRICES.get(shop.currency, PRICES["EUR"])
    home = str(shop.country.code if hasattr(shop.country, "code") else shop.country)
    domestic = create_zone(actor=owner, shop=shop, name="Domestic", countries=[home])
    add_method(actor=owner, zone=domestic, name="Standard", price=standard, free_over=free_over, min_days=2, max_days=4)
    add_method(actor=owner, zone=domestic, name="Express", price=express, min_days=1, max_days=1)
    region_name, region = REGIONS.get(home, ("Europe", EU))
    neighbours = [code for code in region if code != home]
    if neighbours:
        zone = create_zone(actor=owner, shop=shop, name=region_name, countries=neighbours)
        add_method(actor=owner, zone=zone, name="Tracked parcel", price=regional, min_days=3, max_days=8)
    rest = create_zone(actor=owner, shop=shop, name="Rest of the world", everywhere_else=True)
    add_method(actor=owner, zone=rest, name="International post", price=world, min_days=7, max_days=21)


def seed(*, shops: Sequence[Shop], users: Sequence[User], progress: Progress) -> None:
    """Give every demo shop its delivery zones and methods (``users`` is unused: each shop's owner acts)."""
    total = len(shops)
    for done, shop in enumerate(shops, start=1):
        seed_shop(shop, _owner(shop))
        progress("delivery", done, total)

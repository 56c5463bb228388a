"""Demo team deals for `manage.py demo`: two live group deals on demo products, each with an open team started by
a demo person (not the demo shopper, who can then join it from the product page or the team's link).

Created through the services, as each shop's owner and with the sandbox card; orders are placed quietly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import Min
from django.utils import timezone

from agora.accounts.models import User
from agora.catalog.models import Product, ProductStatus
from agora.core.errors import DomainError
from agora.core.money import CURRENCIES
from agora.groupbuy import services
from agora.groupbuy.models import Audience
from agora.orders import services as order_services
from agora.orders.demo import ADDRESSES, CARD
from agora.shops.models import Membership, Role, Shop

Progress = Callable[[str, int, int], None]


def _owner(shop: Shop) -> User | None:
    membership = Membership.objects.select_related("user").filter(shop=shop, role=Role.OWNER).order_by("id").first()
    return membership.user if membership is not None else None


def _product_of(shop: Shop) -> Product | None:
    """A published product of the shop whose every active variant has a few units, cheapest variant priced."""
    return (
        Product.objects.filter(shop=shop, status=ProductStatus.PUBLISHED, variants__is_active=True)
        .annotate(low=Min("variants__price"), stock=Min("variants__stock_quantity"))
        .filter(stock__gte=6, low__gt=0)
        .order_by("-stock", "id")
        .first()
    )


def _share(price: Decimal, percent: int, currency: str) -> Decimal:
    quantum = Decimal(1).scaleb(-CURRENCIES.get(currency, (2, ""))[0])
    return (price * Decimal(percent) / 100).quantize(quantum, rounding=ROUND_DOWN)


def _plans(price: Decimal, currency: str) -> list[dict[str, Any]]:
    return [
        {
            "group_price": _share(price, 80, currency),
            "min_members": 2,
            "max_members": 4,
            "tiers": [{"members": 3, "price": _share(price, 75, currency)}],
            "per_user_limit": 2,
        },
        {
            "group_price": _share(price, 70, currency),
            "min_members": 3,
            "max_members": 3,
            "audience": Audience.NEW_CUSTOMERS,
            "per_user_limit": 1,
        },
    ]


def _start_team(deal: Any, leader: User, variant_id: int) -> bool:
    for address in ADDRESSES:
        try:
            services.start_team(
                actor=leader, deal=deal, variant_id=variant_id, quantity=1, address=address, payment_method=CARD
            )
        except DomainError:
            continue  # the shop does not deliver there: try the next address
        return True
    return False


def seed(*, shops: Sequence[Shop], users: Sequence[User], progress: Progress) -> None:
    """Two live team deals in the last demo shops that have something to sell, each with one open team."""
    if not users:
        return
    leader = users[1] if len(users) > 1 else users[0]
    now = timezone.now()
    made = 0
    wanted = 2
    with order_services.quietly():
        for shop in reversed(list(shops)):
            if made == wanted:
                break
            owner, product = _owner(shop), _product_of(shop)
            if owner is None or product is None:
                continue
            price = product.low  # type: ignore[attr-defined]
            plan = _plans(price, shop.currency)[made]
            if not 0 < plan["group_price"] < price:
                continue
            try:
                deal = services.create_deal(
                    actor=owner,
                    shop=shop,
                    product_id=product.pk,
                    starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(days=3),
                    stock_allotted=20,
                    fill_hours=24,
                    **plan,
                )
            except DomainError:
                continue
            first = product.variants.filter(is_active=True).order_by("position", "id").first()
            if first is not None:
                _start_team(deal, leader, first.pk)
            made += 1
            progress("team deals", made, wanted)

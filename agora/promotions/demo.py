"""Demo flash deals for `manage.py demo`: one on now, and one coming with early access for the shop's followers
(the demo shopper follows that shop, so they see the early access open for them).

Created through the service, as each shop's owner; nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from agora.accounts.models import User
from agora.catalog.models import ProductStatus, Variant
from agora.core.errors import DomainError
from agora.core.money import CURRENCIES
from agora.core.ratelimit import reset
from agora.promotions.models import EarlyAccess
from agora.promotions.services import create_flash_deal
from agora.shops.models import Membership, Role, Shop
from agora.social import services as social_services

Progress = Callable[[str, int, int], None]


def _owner(shop: Shop) -> User | None:
    membership = Membership.objects.select_related("user").filter(shop=shop, role=Role.OWNER).order_by("id").first()
    return membership.user if membership is not None else None


def _variant_of(shop: Shop) -> Variant | None:
    return (
        Variant.objects.filter(
            shop=shop, is_active=True, stock_quantity__gte=5, product__status=ProductStatus.PUBLISHED
        )
        .select_related("product")
        .order_by("-price", "id")
        .first()
    )


def _deal_price(price: Decimal, currency: str) -> Decimal:
    quantum = Decimal(1).scaleb(-CURRENCIES.get(currency, (2, ""))[0])
    return (price * Decimal("0.7")).quantize(quantum, rounding=ROUND_DOWN)


def seed(*, shops: Sequence[Shop], users: Sequence[User], progress: Progress) -> None:
    """A live flash deal in the first demo shop that has something to sell, an upcoming one in the next."""
    now = timezone.now()
    plans = [
        # (starts, lasts, early access, minutes early)
        (now - timedelta(minutes=30), timedelta(days=2), EarlyAccess.NONE, 0),
        (now + timedelta(hours=2), timedelta(days=1), EarlyAccess.FOLLOWERS, 30),
    ]
    made = 0
    for shop in shops:
        if made == len(plans):
            break
        owner, variant = _owner(shop), _variant_of(shop)
        if owner is None or variant is None:
            continue
        price = _deal_price(variant.price, shop.currency)
        if not 0 < price < variant.price:
            continue
        starts, lasts, early, minutes = plans[made]
        try:
            create_flash_deal(
                actor=owner,
                shop=shop,
                variant_id=variant.pk,
                deal_price=price,
                quantity=min(10, variant.stock_quantity),
                starts_at=starts,
                ends_at=starts + lasts,
                per_user_limit=2,
                early_access=early,
                early_minutes=minutes,
            )
        except DomainError:
            continue
        if early == EarlyAccess.FOLLOWERS and users:
            # A demo rule hit (a rate limit): the deal stays, without the follow.
            with suppress(DomainError):
                social_services.follow_shop(actor=users[0], shop=shop)
            reset("social.follow", str(users[0].pk))
        made += 1
        progress("flash deals", made, len(plans))

"""Test helpers for flash deals: a shop selling a variant with a deal on it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.orders.tests.factories import ADDRESS, CARD, selling_shop, variant_for_sale
from agora.promotions import services
from agora.promotions.models import FlashDeal
from agora.shops.models import Shop

__all__ = ["ADDRESS", "CARD", "buy_deal", "flash_deal"]


def flash_deal(
    *,
    shop: Shop | None = None,
    owner: User | None = None,
    variant: Variant | None = None,
    price: str = "20.00",
    deal_price: str = "12.00",
    stock: int = 20,
    quantity: int = 5,
    starts_in: timedelta = timedelta(minutes=-5),
    lasts: timedelta = timedelta(hours=2),
    **kwargs: Any,
) -> FlashDeal:
    """A flash deal through the service (live since 5 minutes by default), on a new variant unless given."""
    if shop is None or owner is None:
        shop, owner = selling_shop()
    if variant is None:
        variant = variant_for_sale(shop, price=price, stock=stock, title="Flash sneakers")
    start = timezone.now() + starts_in
    return services.create_flash_deal(
        actor=owner,
        shop=shop,
        variant_id=variant.pk,
        deal_price=Decimal(deal_price),
        quantity=quantity,
        starts_at=start,
        ends_at=start + lasts,
        **kwargs,
    )


def buy_deal(user: User, deal: FlashDeal, quantity: int = 1, method: str = CARD) -> Any:
    return services.buy_flash_deal(actor=user, deal=deal, quantity=quantity, address=ADDRESS, payment_method=method)

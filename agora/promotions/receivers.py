"""What flash deals do when other apps' things happen (an order closed unpaid gives its units back)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from agora.orders.models import Order
from agora.orders.signals import order_closed_unpaid
from agora.promotions.services import release_claims


@receiver(order_closed_unpaid, dispatch_uid="promotions.release_flash_claim")
def release_flash_claim(sender: type[Order], orders: list[Order], **kwargs: Any) -> None:
    # Sent inside the transaction that cancels or expires the orders, so the units return with their stock.
    release_claims(orders=orders)

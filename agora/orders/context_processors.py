"""What every page shows of the shopper's cart (the count in the header)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from agora.orders.selectors import CART_SESSION_KEY, cart_item_count


def cart(request: HttpRequest) -> dict[str, Any]:
    """``cart_count``: units in the cart, counted only if a template shows it.

    One query for a signed-in shopper or a guest with a cart; none for a visitor without one (no cart token
    in the session). Templates call the function once; later uses read the cached number.
    """
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)

    @cache
    def count() -> int:
        if user is not None and user.is_authenticated:
            return cart_item_count(user=user)
        token = session.get(CART_SESSION_KEY, "") if session is not None else ""
        return cart_item_count(token=token) if token else 0

    return {"cart_count": count}

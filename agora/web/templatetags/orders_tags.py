"""``{% load orders_tags %}``: helpers of the buying and selling pages."""

from __future__ import annotations

from django import template

from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, can

register = template.Library()


@register.simple_tag
def shop_can(user: Viewer, shop: Shop, action: str) -> bool:
    """``{% shop_can user shop "view_finances" as allowed %}``: whether the user's role allows the action."""
    try:
        return can(user, shop, ShopAction(action))
    except ValueError:
        return False


@register.filter
def order_status(value: str) -> str:
    """An order status as words: "shipped" -> "Shipped"."""
    from agora.orders.models import OrderStatus

    try:
        return str(OrderStatus(value).label)
    except ValueError:
        return str(value)


@register.filter
def get_item(mapping: object, key: object) -> object:
    """``{{ errors|get_item:shop.pk }}``: a dict value in a template (None when missing)."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.simple_tag
def delivery_days(min_days: int | None, max_days: int | None) -> str:
    """``{% delivery_days 2 4 %}`` → "2–4 days"; "1 day" when both ends are the same; "" when unknown."""
    from django.utils.translation import gettext, ngettext

    if max_days is None:
        return ""
    if min_days is None or min_days == max_days:
        return ngettext("%(count)d day", "%(count)d days", max_days) % {"count": max_days}
    return gettext("%(min)d–%(max)d days") % {"min": min_days, "max": max_days}


@register.filter
def payment_authorised(order: object) -> bool:
    """Whether a placed deal order's payment is authorised and waits to be captured (a team not complete yet).

    Reads ``order.checkout.payment``: select them with the order (the orders selectors do)."""
    from agora.orders.models import Order, OrderStatus
    from agora.payments.models import PaymentStatus

    if not isinstance(order, Order) or order.status != OrderStatus.PLACED:
        return False
    checkout = order.checkout
    payment = checkout.payment if checkout.authorise_only else None
    return payment is not None and payment.status == PaymentStatus.AUTHORIZED


@register.filter
def order_status_for(order: object) -> str:
    """The status of ``order`` as words for its buyer: "Payment authorised" instead of "awaiting payment" while a
    deal's payment waits to be captured."""
    from django.utils.translation import gettext

    if payment_authorised(order):
        return gettext("Payment authorised")
    return order_status(getattr(order, "status", ""))

"""What each staff role may do in a shop. One table, read by services and templates alike."""

from __future__ import annotations

from enum import StrEnum

from agora.shops.models import Role


class ShopAction(StrEnum):
    VIEW_DRAFTS = "view_drafts"
    MANAGE_PRODUCTS = "manage_products"
    EDIT_SHOP = "edit_shop"
    MANAGE_STAFF = "manage_staff"
    # Orders and money (agora.orders, agora.shipping, agora.ledger)
    VIEW_ORDERS = "view_orders"
    FULFIL_ORDERS = "fulfil_orders"
    REFUND_ORDERS = "refund_orders"
    MANAGE_DELIVERY = "manage_delivery"
    VIEW_FINANCES = "view_finances"
    # Social (agora.social): speaking as the shop, and keeping its posts' comments civil
    POST_AS_SHOP = "post_as_shop"
    MODERATE_COMMENTS = "moderate_comments"
    # Team purchases and flash deals (agora.groupbuy, agora.promotions)
    MANAGE_DEALS = "manage_deals"


ROLE_ACTIONS: dict[str, frozenset[ShopAction]] = {
    Role.OWNER: frozenset(ShopAction),
    Role.MANAGER: frozenset(ShopAction) - {ShopAction.MANAGE_STAFF, ShopAction.VIEW_FINANCES},
    # Support answers shoppers and ships parcels; money leaving the shop (refunds) needs a manager.
    Role.SUPPORT: frozenset(
        {
            ShopAction.VIEW_DRAFTS,
            ShopAction.VIEW_ORDERS,
            ShopAction.FULFIL_ORDERS,
            ShopAction.MODERATE_COMMENTS,
        }
    ),
}


def role_allows(role: str | None, action: ShopAction) -> bool:
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())

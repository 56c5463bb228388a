"""What each staff role may do in a shop. One table, read by services and templates alike."""

from __future__ import annotations

from enum import StrEnum

from agora.shops.models import Role


class ShopAction(StrEnum):
    VIEW_DRAFTS = "view_drafts"
    MANAGE_PRODUCTS = "manage_products"
    EDIT_SHOP = "edit_shop"
    MANAGE_STAFF = "manage_staff"


ROLE_ACTIONS: dict[str, frozenset[ShopAction]] = {
    Role.OWNER: frozenset(ShopAction),
    Role.MANAGER: frozenset({ShopAction.VIEW_DRAFTS, ShopAction.MANAGE_PRODUCTS, ShopAction.EDIT_SHOP}),
    Role.SUPPORT: frozenset({ShopAction.VIEW_DRAFTS}),
}


def role_allows(role: str | None, action: ShopAction) -> bool:
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())

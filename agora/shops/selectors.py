"""Reads for shops and their staff, checked against the caller's rights."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from agora.accounts.models import User
from agora.core.errors import NotAuthenticated
from agora.shops.errors import ShopNotFound, ShopPermissionDenied
from agora.shops.models import Invitation, Membership, Shop
from agora.shops.permissions import ShopAction, role_allows

Viewer = User | AnonymousUser | None

# What a refused action is called in the message that refuses it.
ACTION_NAMES = {
    ShopAction.VIEW_DRAFTS: pgettext_lazy("shop action", "view drafts"),
    ShopAction.MANAGE_PRODUCTS: pgettext_lazy("shop action", "manage products"),
    ShopAction.EDIT_SHOP: pgettext_lazy("shop action", "edit shop"),
    ShopAction.MANAGE_STAFF: pgettext_lazy("shop action", "manage staff"),
}


def role_of(user: Viewer, shop: Shop) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    cache: dict[int, str | None] = getattr(user, "_shop_roles", {})
    if shop.pk not in cache:
        cache[shop.pk] = Membership.objects.filter(shop=shop, user=user).values_list("role", flat=True).first()
        user._shop_roles = cache  # type: ignore[union-attr,attr-defined]
    return cache[shop.pk]


def can(user: Viewer, shop: Shop, action: ShopAction) -> bool:
    if user is not None and user.is_authenticated and user.is_superuser:
        return True
    return role_allows(role_of(user, shop), action)


def require(user: Viewer, shop: Shop, action: ShopAction) -> None:
    if user is None or not user.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    if not can(user, shop, action):
        raise ShopPermissionDenied(
            _("Your role in %(shop)s does not allow this (%(action)s).")
            % {"shop": shop.name, "action": ACTION_NAMES.get(action, action.value.replace("_", " "))}
        )


def get_shop(slug: str, *, viewer: Viewer = None) -> Shop:
    """An active shop, or an inactive one for its own staff."""
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None or (not shop.is_active and not can(viewer, shop, ShopAction.VIEW_DRAFTS)):
        raise ShopNotFound(_("No shop '%(slug)s'.") % {"slug": slug})
    return shop


def list_shops(*, q: str = "") -> QuerySet[Shop]:
    shops = Shop.objects.filter(is_active=True)
    if q:
        shops = shops.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return shops.annotate(
        published_products=Count("products", filter=Q(products__status="published"), distinct=True)
    ).order_by("name", "id")


def shops_of(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("shop").order_by("shop__name")


def list_staff(*, viewer: Viewer, shop: Shop) -> QuerySet[Membership]:
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    return Membership.objects.filter(shop=shop).select_related("user").order_by("id")


def list_invitations(*, viewer: Viewer, shop: Shop) -> QuerySet[Invitation]:
    require(viewer, shop, ShopAction.MANAGE_STAFF)
    return Invitation.objects.filter(shop=shop).select_related("invited_by", "accepted_by")


def get_invitation(token: str) -> Invitation:
    invitation = Invitation.objects.select_related("shop").filter(token=token).first()
    if invitation is None:
        raise ShopNotFound(_("This invitation does not exist."))
    return invitation


def shop_for_staff(slug: str, *, viewer: Viewer, action: ShopAction) -> Shop:
    """The shop, if ``viewer`` may do ``action`` in it (an inactive shop is invisible to outsiders)."""
    shop = get_shop(slug, viewer=viewer)
    require(viewer, shop, action)
    return shop


__all__ = [
    "ShopPermissionDenied",
    "can",
    "get_invitation",
    "get_shop",
    "list_invitations",
    "list_shops",
    "list_staff",
    "require",
    "role_of",
    "shop_for_staff",
    "shops_of",
]

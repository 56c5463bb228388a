"""Shops over the API: opening and editing a shop, its staff and invitations."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, Slug, Text, responses
from agora.shops import selectors, services
from agora.shops.models import Invitation, Membership, Shop
from agora.shops.schemas import (
    InvitationIn,
    InvitationOut,
    MembershipOut,
    MyShopOut,
    RoleIn,
    ShopIn,
    ShopListOut,
    ShopOut,
    ShopPatchIn,
    StaffOut,
)

router = Router(tags=["shops"])


class ShopFilters(Schema):
    q: Text = ""


@router.get("shops", auth=OPTIONAL_AUTH, openapi_extra=OPTIONAL_SECURITY, response=responses({200: list[ShopListOut]}))
@paginate(PagePagination)
def list_shops(request: HttpRequest, filters: Query[ShopFilters]) -> Any:
    """Active shops by name; `q` matches words in the name or the description."""
    return selectors.list_shops(q=filters.q)


@router.post("shops", response=responses({201: ShopOut}))
def create_shop(request: HttpRequest, payload: ShopIn) -> Status[Shop]:
    """Open a shop; the caller becomes its owner."""
    return Status(201, services.create_shop(owner=user_of(request), **payload.model_dump()))


@router.get("shops/{slug}", auth=OPTIONAL_AUTH, openapi_extra=OPTIONAL_SECURITY, response=responses({200: ShopOut}))
def get_shop(request: HttpRequest, slug: Slug) -> Shop:
    """An active shop (a closed one only for its staff)."""
    return selectors.get_shop(slug, viewer=viewer_of(request))


@router.patch("shops/{slug}", response=responses({200: ShopOut}))
def update_shop(request: HttpRequest, slug: Slug, payload: ShopPatchIn) -> Shop:
    """Edit the shop (owners and managers). The currency is locked once the shop has products."""
    user = user_of(request)
    shop = selectors.get_shop(slug, viewer=user)
    return services.update_shop(actor=user, shop=shop, **payload.model_dump(exclude_unset=True))


@router.post("shops/{slug}/logo", response=responses({200: ShopOut}))
def upload_logo(request: HttpRequest, slug: Slug, logo: File[UploadedFile]) -> Shop:
    """Upload the logo (JPEG, PNG, WebP or GIF) as multipart form data in the field `logo`."""
    user = user_of(request)
    return services.set_logo(actor=user, shop=selectors.get_shop(slug, viewer=user), upload=logo)


@router.get("me/shops", response=responses({200: list[MyShopOut]}))
@paginate(PagePagination)
def my_shops(request: HttpRequest) -> Any:
    """The shops the caller is on the staff of, with the caller's role in each."""
    return selectors.shops_of(user_of(request))


# --- staff ---------------------------------------------------------------------------
@router.get("shops/{slug}/staff", response=responses({200: list[StaffOut]}))
@paginate(PagePagination)
def list_staff(request: HttpRequest, slug: Slug) -> Any:
    user = user_of(request)
    return selectors.list_staff(viewer=user, shop=selectors.get_shop(slug, viewer=user))


@router.patch("shops/{slug}/staff/{user_id}", response=responses({200: StaffOut}))
def change_role(request: HttpRequest, slug: Slug, user_id: Id, payload: RoleIn) -> Membership:
    """Give a staff member another role (owners only). A shop always keeps one owner."""
    user = user_of(request)
    shop = selectors.get_shop(slug, viewer=user)
    return services.change_role(actor=user, shop=shop, user_id=user_id, role=payload.role)


@router.delete("shops/{slug}/staff/{user_id}", response=responses({204: None}))
def remove_staff(request: HttpRequest, slug: Slug, user_id: Id) -> Status[None]:
    """Remove someone from the staff (owners), or leave the staff yourself."""
    user = user_of(request)
    services.remove_staff(actor=user, shop=selectors.get_shop(slug, viewer=user), user_id=user_id)
    return Status(204, None)


# --- invitations ---------------------------------------------------------------------
@router.get("shops/{slug}/invitations", response=responses({200: list[InvitationOut]}))
@paginate(PagePagination)
def list_invitations(request: HttpRequest, slug: Slug) -> Any:
    user = user_of(request)
    return selectors.list_invitations(viewer=user, shop=selectors.get_shop(slug, viewer=user))


@router.post("shops/{slug}/invitations", response=responses({201: InvitationOut}))
def invite(request: HttpRequest, slug: Slug, payload: InvitationIn) -> Status[Invitation]:
    """Invite someone by e-mail to join the staff with a role (owners only). The link goes by e-mail."""
    user = user_of(request)
    shop = selectors.get_shop(slug, viewer=user)
    return Status(201, services.invite_staff(actor=user, shop=shop, email=payload.email, role=payload.role))


@router.delete("shops/{slug}/invitations/{invitation_id}", response=responses({204: None}))
def revoke_invitation(request: HttpRequest, slug: Slug, invitation_id: Id) -> Status[None]:
    user = user_of(request)
    shop = selectors.get_shop(slug, viewer=user)
    services.revoke_invitation(actor=user, shop=shop, invitation_id=invitation_id)
    return Status(204, None)


@router.post("invitations/{token}/accept", response=responses({200: MembershipOut}))
def accept_invitation(request: HttpRequest, token: Slug) -> Membership:
    """Join a shop's staff with the token from the invitation e-mail, signed in with the invited address."""
    return services.accept_invitation(user=user_of(request), token=token)

"""API shapes for shops, their staff and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from agora.accounts.schemas import PublicUserOut, absolute_file_url
from agora.api.schemas import InputSchema


# --- out -----------------------------------------------------------------------------
class ShopOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    currency: str
    country: str
    logo: str | None
    logo_thumbnail: str | None
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_country(obj: Any) -> str:
        return str(obj.country.code if hasattr(obj.country, "code") else obj.country)

    @staticmethod
    def resolve_logo(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.logo, context)

    @staticmethod
    def resolve_logo_thumbnail(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.logo_thumbnail, context)


class ShopListOut(ShopOut):
    published_products: int = Field(0, description="Number of published products.")


class ShopRefOut(Schema):
    """A shop named inside another object."""

    id: int
    slug: str
    name: str
    currency: str


class MyShopOut(Schema):
    shop: ShopOut
    role: str


class StaffOut(Schema):
    user_id: int
    user: PublicUserOut
    role: str
    created_at: datetime


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    status: str = Field(..., description="pending, accepted, revoked or expired.")
    invited_by: str | None = Field(None, description="Username of who sent it.")
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None

    @staticmethod
    def resolve_status(obj: Any) -> str:
        if obj.accepted_at is not None:
            return "accepted"
        if obj.revoked_at is not None:
            return "revoked"
        return "pending" if obj.is_pending else "expired"

    @staticmethod
    def resolve_invited_by(obj: Any) -> str | None:
        return obj.invited_by.username if obj.invited_by_id else None


class MembershipOut(Schema):
    shop: ShopOut
    role: str


# --- in ------------------------------------------------------------------------------
class ShopIn(InputSchema):
    name: str = Field(..., max_length=500)
    currency: str = Field(..., max_length=10, description="ISO 4217 code, e.g. EUR.")
    country: str = Field(..., max_length=10, description="ISO 3166 two-letter code, e.g. LV.")
    slug: str = Field("", max_length=200, description="Made from the name when left out.")
    description: str = Field("", max_length=20000)


class ShopPatchIn(InputSchema):
    name: str | None = Field(None, max_length=500)
    slug: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=20000)
    currency: str | None = Field(None, max_length=10)
    country: str | None = Field(None, max_length=10)
    is_active: bool | None = Field(None, description="Closing or reopening the shop is for owners.")


RoleName = Literal["owner", "manager", "support"]


class RoleIn(InputSchema):
    role: RoleName


class InvitationIn(InputSchema):
    email: str = Field(..., max_length=254)
    role: RoleName

"""API shapes for people, sign-in and tokens. A public profile never carries private fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from agora.api.schemas import InputSchema


def absolute_file_url(file: Any, context: Any) -> str | None:
    """The absolute URL of an uploaded file, or None when there is none."""
    if not file:
        return None
    request = (context or {}).get("request")
    return request.build_absolute_uri(file.url) if request is not None else str(file.url)


# --- out -----------------------------------------------------------------------------
class PublicUserOut(Schema):
    username: str
    display_name: str
    bio: str
    avatar: str | None
    avatar_thumbnail: str | None
    date_joined: datetime

    @staticmethod
    def resolve_avatar(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.avatar, context)

    @staticmethod
    def resolve_avatar_thumbnail(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.avatar_thumbnail, context)


class MeOut(PublicUserOut):
    """The caller's own profile, with the private fields."""

    id: int
    email: str
    language: str
    currency: str
    is_staff: bool
    is_private: bool


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(..., description="The first characters of the secret, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    is_active: bool


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="The secret. Shown once: store it now.")


class AuthOut(Schema):
    """A signed-in session of the API: the bearer token's secret and who it belongs to."""

    token: str = Field(..., description="Send it as 'Authorization: Bearer <token>'. Shown once.")
    user: MeOut


# --- in ------------------------------------------------------------------------------
class SignupIn(InputSchema):
    username: str = Field(..., max_length=200)
    email: str = Field(..., max_length=254)
    password: str = Field(..., max_length=4096)
    display_name: str = Field("", max_length=200)


class LoginIn(InputSchema):
    username: str = Field(..., max_length=254, description="The username or the e-mail address.")
    password: str = Field(..., max_length=4096)
    token_name: str = Field("login", max_length=80, description="A name to recognise the token by later.")


class NewTokenIn(InputSchema):
    # Not "TokenIn": the OpenAPI document names schemas by class name, and orders has a TokenIn ({"token"}) that
    # took this one's place, so POST /auth/tokens was documented with the wrong body.
    name: str = Field(..., max_length=200)


class ProfileIn(InputSchema):
    display_name: str | None = Field(None, max_length=200)
    bio: str | None = Field(None, max_length=2000)
    language: str | None = Field(None, max_length=8)
    currency: str | None = Field(None, max_length=3)
    is_private: bool | None = Field(None, description="Private account: only approved followers see your posts.")


class PasswordResetIn(InputSchema):
    email: str = Field(..., max_length=254)


class PasswordResetConfirmIn(InputSchema):
    uid: str = Field(..., max_length=64)
    token: str = Field(..., max_length=128)
    new_password: str = Field(..., max_length=4096)


class PasswordChangeIn(InputSchema):
    old_password: str = Field(..., max_length=4096)
    new_password: str = Field(..., max_length=4096)

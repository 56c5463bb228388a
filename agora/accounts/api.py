"""Accounts over the API: sign-up and sign-in, tokens, the caller's profile and public profiles."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.contrib.auth import logout, update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile
from ninja.pagination import paginate

from agora.accounts import selectors, services
from agora.accounts.models import ApiToken, User
from agora.accounts.schemas import (
    AuthOut,
    LoginIn,
    MeOut,
    NewTokenIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    ProfileIn,
    PublicUserOut,
    SignupIn,
    TokenCreatedOut,
    TokenOut,
)
from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, token_of, user_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, MessageOut, Slug, responses
from agora.core.http import client_ip

router = Router(tags=["accounts"])


# --- sign-up, sign-in, sign-out ------------------------------------------------------
@router.post("auth/signup", auth=None, response=responses({201: AuthOut}))
def signup(request: HttpRequest, payload: SignupIn) -> Status[dict[str, Any]]:
    """Create an account and return a first API token for it."""
    user = services.signup(**payload.model_dump(), client_ip=client_ip(request))
    _token, raw = services.issue_token(user=user, name="signup")
    return Status(201, {"token": raw, "user": user})


@router.post("auth/login", auth=None, response=responses({200: AuthOut}))
def login(request: HttpRequest, payload: LoginIn) -> dict[str, Any]:
    """Exchange a username (or e-mail address) and password for a new API token.

    Too many wrong passwords for one account or from one address are refused for a while (429).
    """
    user = services.authenticate(identifier=payload.username, password=payload.password, client_ip=client_ip(request))
    _token, raw = services.issue_token(user=user, name=payload.token_name)
    return {"token": raw, "user": user}


@router.post("auth/logout", response=responses({204: None}), summary="Logout")
def logout_view(request: HttpRequest) -> Status[None]:
    """Revoke the token this request was made with (or end the browser session)."""
    user = user_of(request)
    token = token_of(request)
    if token is not None:
        services.revoke_token(user=user, token_id=token.pk)
    else:
        logout(request)
    return Status(204, None)


# --- tokens --------------------------------------------------------------------------
@router.get("auth/tokens", response=responses({200: list[TokenOut]}))
@paginate(PagePagination)
def list_tokens(request: HttpRequest) -> Any:
    """The caller's tokens, newest first, revoked ones included. Secrets are never shown again."""
    return selectors.list_tokens(user=user_of(request))


@router.post("auth/tokens", response=responses({201: TokenCreatedOut}))
def create_token(request: HttpRequest, payload: NewTokenIn) -> Status[dict[str, Any]]:
    token, raw = services.issue_token(user=user_of(request), name=payload.name)
    return Status(201, {**_token_dict(token), "token": raw})


@router.delete("auth/tokens/{token_id}", response=responses({204: None}))
def revoke_token(request: HttpRequest, token_id: Id) -> Status[None]:
    """Revoke one of the caller's tokens. Another user's token is a 404, as if it did not exist."""
    services.revoke_token(user=user_of(request), token_id=token_id)
    return Status(204, None)


def _token_dict(token: ApiToken) -> dict[str, Any]:
    return {name: getattr(token, name) for name in TokenOut.model_fields}


# --- passwords -----------------------------------------------------------------------
@router.post("auth/password/reset", auth=None, response=responses({202: MessageOut}))
def password_reset(request: HttpRequest, payload: PasswordResetIn) -> Status[dict[str, str]]:
    """Mail a reset link if an account has this address. The answer is the same either way."""
    services.request_password_reset(email=payload.email, client_ip=client_ip(request))
    return Status(202, {"detail": _("If an account has this address, a reset link is on its way.")})


@router.post("auth/password/reset/confirm", auth=None, response=responses({200: MessageOut}))
def password_reset_confirm(request: HttpRequest, payload: PasswordResetConfirmIn) -> dict[str, str]:
    """Set a new password with the uid and token of the reset link. Every API token of the account is revoked."""
    services.reset_password(uidb64=payload.uid, token=payload.token, new_password=payload.new_password)
    return {"detail": _("Your password was changed. Sign in with the new one.")}


@router.post("auth/password/change", response=responses({200: MessageOut}))
def password_change(request: HttpRequest, payload: PasswordChangeIn) -> dict[str, str]:
    user = services.change_password(
        user=user_of(request), old_password=payload.old_password, new_password=payload.new_password
    )
    if token_of(request) is None:
        update_session_auth_hash(request, user)  # keeps this browser signed in
    return {"detail": _("Your password was changed.")}


# --- profiles ------------------------------------------------------------------------
@router.get("me", response=responses({200: MeOut}))
def me(request: HttpRequest) -> User:
    return user_of(request)


@router.patch("me", response=responses({200: MeOut}))
def update_me(request: HttpRequest, payload: ProfileIn) -> User:
    data = payload.model_dump(exclude_unset=True)
    private = data.pop("is_private", None)
    with transaction.atomic():
        user = services.update_profile(user=user_of(request), **data)
        if private is not None:
            # Through social: pending follow requests, notifications and its signal follow the change.
            from agora.social.services import set_private

            user = set_private(user=user, private=private)
    return user


@router.post("me/avatar", response=responses({200: MeOut}))
def upload_avatar(request: HttpRequest, avatar: File[UploadedFile]) -> User:
    """Upload a picture (JPEG, PNG, WebP or GIF) as multipart form data in the field `avatar`."""
    return services.set_avatar(user=user_of(request), upload=avatar)


@router.get(
    "users/{username}", auth=OPTIONAL_AUTH, openapi_extra=OPTIONAL_SECURITY, response=responses({200: PublicUserOut})
)
def public_profile(request: HttpRequest, username: Slug) -> User:
    """Anyone's public profile. Private fields (e-mail, language, currency) are only in `GET /me`."""
    return selectors.get_user_by_username(username)

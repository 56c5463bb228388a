"""Writes for people: sign-up, sign-in, API tokens, profile, password reset."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from agora.accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidResetLink,
    LoginRateLimited,
    SignupError,
    UsernameTaken,
)
from agora.accounts.models import ApiToken, User
from agora.core import ratelimit
from agora.core.errors import NotFound, RateLimited, ValidationFailed
from agora.core.images import clean_image, make_thumbnail
from agora.core.money import check_currency
from agora.core.text import clean_text

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
TOKEN_PREFIX = "agora_"  # noqa: S105 (a public prefix, not a secret)
RESERVED_USERNAMES = {"admin", "api", "static", "media", "me", "root", "support", "agora"}


def _password_errors(password: str, user: User | None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), code="weak_password", field="password") from None


def normalize_email(email: str) -> str:
    email = clean_text(email, field="email", max_length=254, required=True).lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise SignupError(_("'%(email)s' is not a valid e-mail address.") % {"email": email}, field="email") from None
    return email


def check_username(username: str) -> str:
    username = clean_text(username, field="username", max_length=30, required=True)
    if not USERNAME_RE.match(username):
        raise SignupError(_("A username has 3 to 30 letters, digits, dots, dashes or underscores."), field="username")
    if username.lower() in RESERVED_USERNAMES:
        raise UsernameTaken(
            _("The username '%(username)s' is reserved. Choose another.") % {"username": username}, field="username"
        )
    return username


def signup(*, username: str, email: str, password: str, display_name: str = "", client_ip: str = "") -> User:
    if client_ip:
        # Accounts made in bulk from one address are spam or abuse; a household or office stays under it.
        ratelimit.hit("signup", client_ip, limit=settings.AGORA_SIGNUP_RATE_LIMIT, window=3600)
    username = check_username(username)
    email = normalize_email(email)
    display_name = clean_text(display_name, field="display_name", max_length=80)
    if User.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(
            _("The username '%(username)s' is taken. Choose another.") % {"username": username}, field="username"
        )
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(_("An account with this e-mail address exists. Sign in or reset the password."), field="email")
    candidate = User(username=username, email=email, display_name=display_name)
    _password_errors(password, candidate)
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        # Two sign-ups raced for the same name or address: the loser is told, nothing half-made stays.
        raise UsernameTaken(_("That username or e-mail address was just taken. Choose another.")) from None
    return candidate


def authenticate(*, identifier: str, password: str, client_ip: str = "") -> User:
    """Check credentials; after too many failures for an identifier or an address, refuse for a while."""
    identifier = clean_text(identifier, field="username", max_length=254, required=True)
    limit, window = settings.AGORA_LOGIN_RATE_LIMIT, settings.AGORA_LOGIN_RATE_WINDOW
    for scope, key in (("login-id", identifier), ("login-ip", client_ip)):
        if key and ratelimit.attempts(scope, key) >= limit * (4 if scope == "login-ip" else 1):
            raise LoginRateLimited(
                ngettext(
                    "Too many failed sign-in attempts. Wait %(minutes)d minute and try again.",
                    "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.",
                    window // 60,
                )
                % {"minutes": window // 60},
                retry_after=window,
            )
    user = django_authenticate(None, username=identifier, password=password)
    if user is None:
        try:
            ratelimit.hit("login-id", identifier, limit=limit, window=window)
            if client_ip:
                ratelimit.hit("login-ip", client_ip, limit=limit * 4, window=window)
        except RateLimited:
            pass  # this attempt is refused anyway; the next one meets the check above
        raise InvalidCredentials(_("The username/e-mail or the password is wrong."))
    ratelimit.reset("login-id", identifier)
    assert isinstance(user, User)
    return user


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, user: User, name: str = "default", ttl: timedelta | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    name = clean_text(name, field="name", max_length=80) or "default"
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=_hash_key(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        expires_at=timezone.now() + ttl if ttl else None,
    )
    return token, raw


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_key(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        # Written at most every few minutes so that reads stay reads.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token.refresh_from_db()
    return token


def revoke_all_tokens(*, user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def update_profile(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    language: str | None = None,
    currency: str | None = None,
    is_private: bool | None = None,
) -> User:
    if display_name is not None:
        user.display_name = clean_text(display_name, field="display_name", max_length=80)
    if bio is not None:
        user.bio = clean_text(bio, field="bio", max_length=500)
    if language is not None:
        codes = [code for code, _name in settings.LANGUAGES]
        if language not in codes:
            raise ValidationFailed(
                _("Unknown language '%(language)s'. Choose one of: %(codes)s.")
                % {"language": language, "codes": ", ".join(codes)},
                code="unknown_language",
                field="language",
            )
        user.language = language
    if currency is not None:
        user.currency = check_currency(currency)
    if is_private is not None:
        user.is_private = bool(is_private)
    user.save(update_fields=["display_name", "bio", "language", "currency", "is_private"])
    return user


def set_avatar(*, user: User, upload: object) -> User:
    image = clean_image(upload, field="avatar", max_side=800)
    data = image.content.read()
    image.content.seek(0)
    old = [f.name for f in (user.avatar, user.avatar_thumbnail) if f]
    with transaction.atomic():
        user.avatar.save(image.content.name or "avatar.jpg", image.content, save=False)
        thumb = make_thumbnail(data, 160)
        user.avatar_thumbnail.save(thumb.name or "avatar_thumb.jpg", thumb, save=False)
        user.save(update_fields=["avatar", "avatar_thumbnail"])
    storage = user.avatar.storage
    transaction.on_commit(lambda: [storage.delete(name) for name in old])
    return user


def change_password(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise InvalidCredentials(_("The current password is wrong."), field="old_password")
    _password_errors(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


def request_password_reset(*, email: str, client_ip: str = "") -> None:
    """Mail a reset link if an account has this address. Says nothing either way, so addresses stay private."""
    from agora.accounts.tasks import send_password_reset_email

    address = (email or "").strip().lower()
    if not address or "\x00" in address:
        raise ValidationFailed(_("Enter the e-mail address of your account."), code="required", field="email")
    ratelimit.hit("reset", client_ip or address, limit=10, window=3600)
    user = User.objects.filter(email__iexact=address, is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    transaction.on_commit(lambda: send_password_reset_email.delay(user.pk, uid, token))


def user_for_reset_link(*, uidb64: str, token: str) -> User:
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        raise InvalidResetLink(_("This reset link is not valid. Ask for a new one.")) from None
    if not default_token_generator.check_token(user, token):
        raise InvalidResetLink(_("This reset link has expired or was already used. Ask for a new one."))
    return user


def reset_password(*, uidb64: str, token: str, new_password: str) -> User:
    user = user_for_reset_link(uidb64=uidb64, token=token)
    _password_errors(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # A reset means the old secret may be known: API tokens made with it stop working.
        revoke_all_tokens(user=user)
    return user

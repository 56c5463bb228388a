"""Writes for shops: opening one, editing it, and its staff."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_countries import countries

from agora.accounts.models import User
from agora.accounts.services import normalize_email
from agora.core.errors import NotAuthenticated
from agora.core.images import clean_image, make_thumbnail
from agora.core.money import check_currency
from agora.core.text import clean_text
from agora.shops.errors import InvitationInvalid, LastOwner, ShopInvalid, ShopNotFound, ShopPermissionDenied, SlugTaken
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.permissions import ShopAction, role_allows
from agora.shops.selectors import require

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
RESERVED_SLUGS = {"new", "admin", "api", "dashboard", "static", "media", "search"}
INVITATION_TTL = timedelta(days=7)


def check_slug(slug: str) -> str:
    slug = clean_text(slug, field="slug", max_length=60, required=True).lower()
    if not SLUG_RE.match(slug):
        raise ShopInvalid(
            _("A slug has 1 to 60 lowercase letters, digits or dashes, and does not start or end with a dash."),
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise SlugTaken(_("The slug '%(slug)s' is reserved. Choose another.") % {"slug": slug}, field="slug")
    return slug


def check_country(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in dict(countries):
        raise ShopInvalid(
            _("Unknown country '%(code)s'. Use an ISO 3166 two-letter code such as US, DE or PH.") % {"code": code},
            code="unknown_country",
            field="country",
        )
    return code


def _unique_slug(base: str) -> str:
    base = (slugify(base)[:50].strip("-") or "shop").lower()
    if base in RESERVED_SLUGS:
        base = f"{base}-shop"
    slug, n = base, 2
    while Shop.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_shop(
    *,
    owner: User,
    name: str,
    currency: str,
    country: str,
    slug: str = "",
    description: str = "",
) -> Shop:
    if not owner.is_authenticated:
        raise NotAuthenticated(_("Sign in to open a shop."))
    name = clean_text(name, field="name", max_length=120, required=True)
    description = clean_text(description, field="description", max_length=5000)
    currency = check_currency(currency)
    country = check_country(country)
    slug = check_slug(slug) if slug else _unique_slug(name)
    if Shop.objects.filter(slug=slug).exists():
        raise SlugTaken(_("The slug '%(slug)s' is taken. Choose another.") % {"slug": slug}, field="slug")
    try:
        with transaction.atomic():
            shop = Shop.objects.create(
                name=name, slug=slug, description=description, currency=currency, country=country
            )
            Membership.objects.create(shop=shop, user=owner, role=Role.OWNER)
    except IntegrityError:
        raise SlugTaken(
            _("The slug '%(slug)s' was just taken. Choose another.") % {"slug": slug}, field="slug"
        ) from None
    return shop


def update_shop(
    *,
    actor: User,
    shop: Shop,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    currency: str | None = None,
    country: str | None = None,
    is_active: bool | None = None,
) -> Shop:
    require(actor, shop, ShopAction.EDIT_SHOP)
    if name is not None:
        shop.name = clean_text(name, field="name", max_length=120, required=True)
    if description is not None:
        shop.description = clean_text(description, field="description", max_length=5000)
    if country is not None:
        shop.country = check_country(country)
    if currency is not None:
        currency = check_currency(currency)
        if currency != shop.currency and shop.products.exists():  # type: ignore[attr-defined]
            # Prices are entered in the shop's currency; converting them silently would change them.
            raise ShopInvalid(
                _("The currency cannot change once the shop has products: their prices are in %(currency)s.")
                % {"currency": shop.currency},
                code="currency_locked",
                field="currency",
            )
        shop.currency = currency
    if is_active is not None:
        require(actor, shop, ShopAction.MANAGE_STAFF)
        shop.is_active = is_active
    if slug is not None and slug != shop.slug:
        slug = check_slug(slug)
        if Shop.objects.filter(slug=slug).exclude(pk=shop.pk).exists():
            raise SlugTaken(_("The slug '%(slug)s' is taken. Choose another.") % {"slug": slug}, field="slug")
        shop.slug = slug
    try:
        with transaction.atomic():
            shop.save()
    except IntegrityError:
        raise SlugTaken(_("That slug was just taken. Choose another."), field="slug") from None
    return shop


def set_logo(*, actor: User, shop: Shop, upload: object) -> Shop:
    require(actor, shop, ShopAction.EDIT_SHOP)
    image = clean_image(upload, field="logo", max_side=800)
    data = image.content.read()
    image.content.seek(0)
    old = [f.name for f in (shop.logo, shop.logo_thumbnail) if f]
    with transaction.atomic():
        shop.logo.save(image.content.name or "logo.jpg", image.content, save=False)
        thumb = make_thumbnail(data, 160)
        shop.logo_thumbnail.save(thumb.name or "logo_thumb.jpg", thumb, save=False)
        shop.save(update_fields=["logo", "logo_thumbnail", "updated_at"])
    storage = shop.logo.storage
    transaction.on_commit(lambda: [storage.delete(name) for name in old])
    return shop


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise ShopInvalid(
            _("Unknown role '%(role)s'. Choose one of: %(roles)s.") % {"role": role, "roles": ", ".join(Role.values)},
            field="role",
        )
    return role


def invite_staff(*, actor: User, shop: Shop, email: str, role: str) -> Invitation:
    from agora.shops.tasks import send_staff_invitation

    require(actor, shop, ShopAction.MANAGE_STAFF)
    email = normalize_email(email)
    role = _check_role(role)
    if Membership.objects.filter(shop=shop, user__email__iexact=email).exists():
        raise InvitationInvalid(
            _("%(email)s is already on the staff of %(shop)s.") % {"email": email, "shop": shop.name}, field="email"
        )
    with transaction.atomic():
        # A new invitation replaces a pending one for the same address.
        Invitation.objects.filter(
            shop=shop, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            shop=shop,
            email=email,
            role=role,
            token=secrets.token_urlsafe(32),
            invited_by=actor,
            expires_at=timezone.now() + INVITATION_TTL,
        )
    transaction.on_commit(lambda: send_staff_invitation.delay(invitation.pk))
    return invitation


def revoke_invitation(*, actor: User, shop: Shop, invitation_id: int) -> Invitation:
    require(actor, shop, ShopAction.MANAGE_STAFF)
    invitation = Invitation.objects.filter(pk=invitation_id, shop=shop).first()
    if invitation is None:
        raise ShopNotFound(_("No such invitation in this shop."))
    if invitation.accepted_at is not None:
        raise InvitationInvalid(_("This invitation was already accepted; remove the staff member instead."))
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    invitation.refresh_from_db()
    return invitation


def accept_invitation(*, user: User, token: str) -> Membership:
    if not user.is_authenticated:
        raise NotAuthenticated(_("Sign in (or sign up with the invited address) to accept the invitation."))
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("shop").filter(token=token).first()
        if invitation is None:
            raise ShopNotFound(_("This invitation does not exist."))
        if not invitation.is_pending:
            raise InvitationInvalid(_("This invitation was used, revoked or has expired. Ask for a new one."))
        if invitation.email.lower() != user.email.lower():
            raise InvitationInvalid(
                _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email}
            )
        membership, created = Membership.objects.get_or_create(
            shop=invitation.shop, user=user, defaults={"role": invitation.role}
        )
        if not created and membership.role != invitation.role:
            membership.role = invitation.role
            membership.save(update_fields=["role"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _lock_staff(shop: Shop, *, actor: User | None = None) -> list[Membership]:
    """The shop's staff rows, locked; with ``actor``, also checks again, under the lock, that they may manage staff.

    The check before the lock can be stale: an owner demoted a moment ago must not complete one more change.
    """
    staff = list(Membership.objects.filter(shop=shop).select_for_update().order_by("pk"))
    if actor is not None and not actor.is_superuser:
        role = next((m.role for m in staff if m.user_id == actor.pk), None)
        if not role_allows(role, ShopAction.MANAGE_STAFF):
            raise ShopPermissionDenied(_("Your role in this shop no longer allows managing its staff."))
    return staff


def change_role(*, actor: User, shop: Shop, user_id: int, role: str) -> Membership:
    require(actor, shop, ShopAction.MANAGE_STAFF)
    role = _check_role(role)
    with transaction.atomic():
        staff = _lock_staff(shop, actor=actor)
        member = next((m for m in staff if m.user_id == user_id), None)
        if member is None:
            raise ShopNotFound(_("This person is not on the shop's staff."))
        owners = sum(1 for m in staff if m.role == Role.OWNER)
        if member.role == Role.OWNER and role != Role.OWNER and owners == 1:
            raise LastOwner(_("A shop needs at least one owner. Make someone else owner first."))
        member.role = role
        member.save(update_fields=["role"])
    return member


def remove_staff(*, actor: User, shop: Shop, user_id: int) -> None:
    """Owners remove anyone; any member may leave by removing themselves."""
    if actor.pk != user_id:
        require(actor, shop, ShopAction.MANAGE_STAFF)
    with transaction.atomic():
        staff = _lock_staff(shop, actor=actor if actor.pk != user_id else None)
        member = next((m for m in staff if m.user_id == user_id), None)
        if member is None:
            raise ShopNotFound(_("This person is not on the shop's staff."))
        if member.role == Role.OWNER and sum(1 for m in staff if m.role == Role.OWNER) == 1:
            raise LastOwner(_("A shop needs at least one owner. Make someone else owner first."))
        member.delete()

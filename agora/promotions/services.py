"""Flash deals: a shop sells a few units of a variant at a deal price for a short time.

Buying goes through ``orders.services.place_direct_checkout`` (captured at once). Its ``claim`` runs inside the
order's transaction with the variant row already locked; it locks the FlashDeal row (lock order: Variant →
FlashDeal, everywhere) and takes units with a conditional update, so K units sell exactly K. An order that closes
unpaid gives its units back (``receivers.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.core.errors import NotAuthenticated
from agora.core.money import format_money, to_amount
from agora.core.numbers import whole_number
from agora.orders import services as orders_services
from agora.orders.models import Checkout, Order
from agora.promotions import selectors
from agora.promotions.errors import FlashDealInvalid, FlashDealNotFound, FlashDealNotLive, FlashLimitReached
from agora.promotions.models import EarlyAccess, FlashClaim, FlashDeal
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction

MAX_QUANTITY = 1_000_000
MAX_PER_USER = 999
MAX_EARLY_MINUTES = 1440
MAX_DURATION = timedelta(days=31)
MAX_ID = 2**63 - 1

_UNSET: Any = object()


# --- validation ------------------------------------------------------------------------
def _whole(value: object, *, field: str, low: int, high: int, what: str) -> int:
    return whole_number(value, field=field, low=low, high=high, what=what, error=FlashDealInvalid)


def _moment(value: object, *, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise FlashDealInvalid(_("Give a date and time."), field=field)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _variant_of(shop: Shop, variant_id: object, *, lock: bool) -> Variant:
    if isinstance(variant_id, bool) or not isinstance(variant_id, int) or not 0 < variant_id <= MAX_ID:
        raise FlashDealInvalid(_("Choose one of the shop's variants."), field="variant_id")
    variants = Variant.objects.select_related("product")
    if lock:
        variants = variants.select_for_update(of=("self",))
    variant = variants.filter(pk=variant_id, shop=shop, is_active=True).first()
    if variant is None:
        raise FlashDealInvalid(
            _("%(shop)s has no variant %(id)s for sale.") % {"shop": shop.name, "id": variant_id}, field="variant_id"
        )
    return variant


def _clean(
    *,
    shop: Shop,
    variant: Variant,
    deal_price: object,
    quantity: object,
    starts_at: object,
    ends_at: object,
    per_user_limit: object,
    early_access: object,
    early_minutes: object,
    sold: int = 0,
) -> dict[str, Any]:
    price = to_amount(deal_price, shop.currency, field="deal_price")
    if price <= 0:
        raise FlashDealInvalid(_("The deal price must be more than zero."), field="deal_price")
    if price >= variant.price:
        raise FlashDealInvalid(
            _("The deal price must be lower than the usual price (%(price)s).")
            % {"price": format_money(variant.price, shop.currency)},
            field="deal_price",
        )
    count = _whole(quantity, field="quantity", low=max(1, sold), high=MAX_QUANTITY, what=_("The quantity"))
    start, end = _moment(starts_at, field="starts_at"), _moment(ends_at, field="ends_at")
    if end <= start:
        raise FlashDealInvalid(_("The deal must end after it starts."), field="ends_at")
    if end - start > MAX_DURATION:
        raise FlashDealInvalid(_("A flash deal lasts at most 31 days."), field="ends_at")
    if end <= timezone.now():
        raise FlashDealInvalid(_("The end time is already past."), field="ends_at")
    limit = _whole(per_user_limit, field="per_user_limit", low=1, high=MAX_PER_USER, what=_("The limit per buyer"))
    if early_access not in EarlyAccess.values:
        raise FlashDealInvalid(
            _("Early access is one of: %(choices)s.") % {"choices": ", ".join(EarlyAccess.values)},
            field="early_access",
        )
    minutes = _whole(
        early_minutes, field="early_minutes", low=0, high=MAX_EARLY_MINUTES, what=_("The early access minutes")
    )
    if early_access == EarlyAccess.NONE:
        minutes = 0
    elif minutes == 0:
        raise FlashDealInvalid(
            _("Say how many minutes early (1 to %(max)d) the early buyers get in.") % {"max": MAX_EARLY_MINUTES},
            field="early_minutes",
        )
    return {
        "deal_price": price,
        "quantity": count,
        "starts_at": start,
        "ends_at": end,
        "per_user_limit": limit,
        "early_access": str(early_access),
        "early_minutes": minutes,
    }


def _check_no_overlap(variant: Variant, fields: Mapping[str, Any], *, exclude: int | None = None) -> None:
    """One deal at a time per variant (the caller holds the variant's lock, so two creations cannot both pass)."""
    opens = fields["starts_at"] - timedelta(minutes=fields["early_minutes"])
    others = FlashDeal.objects.filter(variant=variant, is_active=True, ends_at__gt=timezone.now())
    if exclude is not None:
        others = others.exclude(pk=exclude)
    for other in others:
        if other.starts_at - timedelta(minutes=other.early_minutes) < fields["ends_at"] and opens < other.ends_at:
            raise FlashDealInvalid(
                _("This variant already has a flash deal from %(start)s to %(end)s; choose another time.")
                % {
                    "start": timezone.localtime(other.starts_at).strftime("%Y-%m-%d %H:%M"),
                    "end": timezone.localtime(other.ends_at).strftime("%Y-%m-%d %H:%M"),
                },
                code="flash_deal_overlaps",
                field="starts_at",
                deal_id=other.pk,
            )


# --- the shop's side -------------------------------------------------------------------
def create_flash_deal(
    *,
    actor: User,
    shop: Shop,
    variant_id: int,
    deal_price: Decimal | str,
    quantity: int,
    starts_at: datetime,
    ends_at: datetime,
    per_user_limit: int = 1,
    early_access: str = EarlyAccess.NONE,
    early_minutes: int = 0,
) -> FlashDeal:
    """A new flash deal (MANAGE_DEALS): ``quantity`` units of the variant at ``deal_price`` (lower than its price)
    from ``starts_at`` to ``ends_at``; followers or best customers may get in ``early_minutes`` before."""
    shop_selectors.require(actor, shop, ShopAction.MANAGE_DEALS)
    with transaction.atomic():
        variant = _variant_of(shop, variant_id, lock=True)
        fields = _clean(
            shop=shop,
            variant=variant,
            deal_price=deal_price,
            quantity=quantity,
            starts_at=starts_at,
            ends_at=ends_at,
            per_user_limit=per_user_limit,
            early_access=early_access,
            early_minutes=early_minutes,
        )
        _check_no_overlap(variant, fields)
        return FlashDeal.objects.create(shop=shop, variant=variant, currency=shop.currency, created_by=actor, **fields)


def _manageable(actor: User, deal: FlashDeal) -> None:
    shop_selectors.require(actor, deal.shop, ShopAction.MANAGE_DEALS)


def update_flash_deal(
    *,
    actor: User,
    deal: FlashDeal,
    deal_price: Decimal | str = _UNSET,
    quantity: int = _UNSET,
    starts_at: datetime = _UNSET,
    ends_at: datetime = _UNSET,
    per_user_limit: int = _UNSET,
    early_access: str = _UNSET,
    early_minutes: int = _UNSET,
) -> FlashDeal:
    """Change a deal that is not over (MANAGE_DEALS). The quantity cannot go below the units already sold."""
    _manageable(actor, deal)
    given = {
        "deal_price": deal_price,
        "quantity": quantity,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "per_user_limit": per_user_limit,
        "early_access": early_access,
        "early_minutes": early_minutes,
    }
    with transaction.atomic():
        variant = Variant.objects.select_for_update(of=("self",)).get(pk=deal.variant_id)
        locked = FlashDeal.objects.select_for_update().get(pk=deal.pk)
        if not locked.is_active or locked.ends_at <= timezone.now():
            raise FlashDealNotLive(_("This flash deal is over; create a new one instead."), code="flash_deal_over")
        current = {name: getattr(locked, name) for name in given}
        merged = {name: current[name] if value is _UNSET else value for name, value in given.items()}
        if given["early_access"] == EarlyAccess.NONE and early_minutes is _UNSET:
            merged["early_minutes"] = 0
        fields = _clean(shop=deal.shop, variant=variant, sold=locked.sold, **merged)
        _check_no_overlap(variant, fields, exclude=locked.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])
    return locked


def end_flash_deal(*, actor: User, deal: FlashDeal) -> FlashDeal:
    """The shop ends the deal now (MANAGE_DEALS); orders already placed keep their price. Ending twice is fine."""
    _manageable(actor, deal)
    FlashDeal.objects.filter(pk=deal.pk, is_active=True).update(is_active=False, updated_at=timezone.now())
    deal.refresh_from_db()
    return deal


# --- the buyer's side ------------------------------------------------------------------
def _check_live(deal: FlashDeal, user: User, now: datetime) -> None:
    state = selectors.deal_state(deal, user, now=now)
    if not state.can_buy:
        raise FlashDealNotLive(state.why_not, code=state.code, status_now=state.status, left=state.left)


def _held_by(deal: FlashDeal, user: User) -> int:
    held = FlashClaim.objects.filter(deal=deal, user=user, released=False).aggregate(n=Sum("quantity"))["n"]
    return int(held or 0)


def buy_flash_deal(
    *,
    actor: User,
    deal: FlashDeal,
    quantity: int,
    address: Mapping[str, Any],
    payment_method: str,
    delivery_method_id: int | None = None,
) -> Checkout:
    """Buy ``quantity`` units at the deal price through the normal checkout, paid at once.

    FlashDealNotLive (409) when the deal has not opened for this buyer, is over or sold out; FlashLimitReached
    (409, with ``may_still_buy``) above the limit per buyer; then every error of ``place_direct_checkout``
    (PaymentDeclined 402: the order is cancelled and the units go back to the deal).
    """
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in to buy at the deal price."))
    count = _whole(quantity, field="quantity", low=1, high=MAX_PER_USER, what=_("The quantity"))
    fresh = FlashDeal.objects.select_related("shop", "variant").filter(pk=deal.pk).first()
    if fresh is None:
        raise FlashDealNotFound(_("No flash deal %(id)s.") % {"id": deal.pk})
    # Refuse early without touching the variant's lock: after a sell-out most buyers stop here.
    _check_live(fresh, actor, timezone.now())
    if count > fresh.per_user_limit:
        raise FlashLimitReached(
            _("At most %(limit)d per buyer in this deal.") % {"limit": fresh.per_user_limit},
            field="quantity",
            may_still_buy=max(fresh.per_user_limit - _held_by(fresh, actor), 0),
        )
    # Never more than the usual price, should the shop have lowered it under the deal's since.
    price = min(fresh.deal_price, fresh.variant.price)

    def claim(checkout: Checkout, order: Order) -> None:
        # The variant row is locked by place_direct_checkout; then the deal's (lock order Variant → FlashDeal).
        locked = FlashDeal.objects.select_for_update().select_related("shop").get(pk=fresh.pk)
        _check_live(locked, actor, timezone.now())
        if locked.deal_price != fresh.deal_price:
            raise FlashDealNotLive(
                _("The deal's price just changed; look at the deal again."), code="flash_deal_changed"
            )
        held = _held_by(locked, actor)
        if held + count > locked.per_user_limit:
            left = max(locked.per_user_limit - held, 0)
            raise FlashLimitReached(
                _("You already have %(held)d of this deal; you may buy %(left)d more (at most %(limit)d each).")
                % {"held": held, "left": left, "limit": locked.per_user_limit},
                field="quantity",
                may_still_buy=left,
            )
        taken = FlashDeal.objects.filter(pk=locked.pk, is_active=True, sold__lte=F("quantity") - count).update(
            sold=F("sold") + count
        )
        if not taken:
            left = max(locked.quantity - locked.sold, 0)
            raise FlashDealNotLive(
                _("The flash deal is sold out.")
                if left == 0
                else _("Only %(left)d left at the deal price; you asked for %(count)d.")
                % {"left": left, "count": count},
                code="sold_out",
                field="quantity",
                left=left,
            )
        FlashClaim.objects.create(deal=locked, user=actor, order=order, quantity=count)

    return orders_services.place_direct_checkout(
        actor=actor,
        variant_id=fresh.variant_id,
        quantity=count,
        unit_price=price,
        address=address,
        payment_method=payment_method,
        delivery_method_id=delivery_method_id,
        capture=True,
        price_note=_("Flash deal"),
        purpose="flash",
        claim=claim,
    )


def release_claims(*, orders: Sequence[Order]) -> int:
    """Orders closed unpaid: their units go back to their deals, once (called inside the orders' transaction).
    Returns how many claims were released."""
    claims = list(
        FlashClaim.objects.filter(order_id__in=[o.pk for o in orders], released=False)
        .order_by("pk")
        .values("pk", "deal_id", "quantity")
    )
    released = 0
    for claim in claims:
        if not FlashClaim.objects.filter(pk=claim["pk"], released=False).update(released=True):
            continue
        FlashDeal.objects.filter(pk=claim["deal_id"], sold__gte=claim["quantity"]).update(
            sold=F("sold") - claim["quantity"], updated_at=timezone.now()
        )
        released += 1
    return released

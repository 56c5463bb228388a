"""Reading flash deals: what is live or coming, and what one buyer may do with a deal right now."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from agora.catalog.models import Product, ProductImage, ProductStatus
from agora.orders.models import Order, OrderStatus
from agora.orders.states import BOUGHT
from agora.promotions.errors import FlashDealNotFound
from agora.promotions.models import EarlyAccess, FlashDeal
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, can
from agora.social import selectors as social_selectors

UPCOMING = "upcoming"
EARLY = "early"
LIVE = "live"
SOLD_OUT = "sold_out"
OVER = "over"


@dataclass(frozen=True)
class DealState:
    """A deal as one viewer sees it at one moment."""

    status: str  # upcoming / early (early access open, not for everyone yet) / live / sold_out / over
    opens_at: datetime  # when this viewer may buy (starts_at, or earlier with early access)
    starts_at: datetime
    ends_at: datetime
    starts_in: timedelta | None  # until opens_at, while it is in the future
    left: int
    can_buy: bool
    early_for_viewer: bool  # this viewer is among the early buyers
    why_not: str  # "" when can_buy
    code: str  # the error code a purchase now would get ("" when can_buy)

    @property
    def countdown_to(self) -> datetime:
        """What a countdown counts down to: the opening for this viewer, else the end."""
        return self.opens_at if self.starts_in is not None else self.ends_at


def _user_id(viewer: Viewer) -> int | None:
    if viewer is None or not getattr(viewer, "is_authenticated", False) or viewer.pk is None:
        return None
    return int(viewer.pk)


def _best_customer_shops(user_id: int, shop_ids: Iterable[int]) -> set[int]:
    rows = (
        Order.objects.filter(
            buyer_id=user_id,
            shop_id__in=set(shop_ids),
            status__in=[*BOUGHT, OrderStatus.REFUNDED, OrderStatus.RETURNED],
        )
        .values("shop_id")
        .annotate(n=Count("id"))
    )
    return {row["shop_id"] for row in rows if row["n"] >= settings.AGORA_BEST_CUSTOMER_MIN_ORDERS}


def early_deal_ids(deals: Sequence[FlashDeal], viewer: Viewer) -> set[int]:
    """The deals among ``deals`` whose early access ``viewer`` has (at most two queries, whatever the count)."""
    user_id = _user_id(viewer)
    if user_id is None:
        return set()
    by_kind: dict[str, set[int]] = {EarlyAccess.FOLLOWERS: set(), EarlyAccess.BEST_CUSTOMERS: set()}
    for deal in deals:
        if deal.early_access in by_kind:
            by_kind[deal.early_access].add(deal.shop_id)
    followed: set[int] = set()
    if by_kind[EarlyAccess.FOLLOWERS]:
        followed = social_selectors.following_ids(viewer)[1] & by_kind[EarlyAccess.FOLLOWERS]  # type: ignore[arg-type]
    best = (
        _best_customer_shops(user_id, by_kind[EarlyAccess.BEST_CUSTOMERS])
        if by_kind[EarlyAccess.BEST_CUSTOMERS]
        else set()
    )
    early: dict[str, set[int]] = {EarlyAccess.FOLLOWERS: followed, EarlyAccess.BEST_CUSTOMERS: best}
    return {d.pk for d in deals if d.shop_id in early.get(d.early_access, set())}


def is_early_buyer(deal: FlashDeal, viewer: Viewer) -> bool:
    return deal.pk in early_deal_ids([deal], viewer)


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def early_label(deal: FlashDeal) -> str:
    """ "Followers get in 15 min early", or "" without early access."""
    if deal.early_access == EarlyAccess.FOLLOWERS:
        return _("Followers get in %(minutes)d min early") % {"minutes": deal.early_minutes}
    if deal.early_access == EarlyAccess.BEST_CUSTOMERS:
        return _("Best customers get in %(minutes)d min early") % {"minutes": deal.early_minutes}
    return ""


def deal_state(
    deal: FlashDeal, viewer: Viewer = None, *, now: datetime | None = None, early: bool | None = None
) -> DealState:
    """Where ``deal`` stands for ``viewer``: its status, when it opens for them, units left, and whether they can
    buy now (else why not). ``early`` (whether the viewer has early access) is computed when not given."""
    now = now or timezone.now()
    if early is None:
        early = deal.early_access != EarlyAccess.NONE and is_early_buyer(deal, viewer)
    window = timedelta(minutes=deal.early_minutes if deal.early_access != EarlyAccess.NONE else 0)
    opens_at = deal.starts_at - window if early else deal.starts_at
    left = deal.left
    why, code = "", ""
    if not deal.is_active:
        status, why, code = OVER, _("The shop has ended this flash deal."), "flash_deal_over"
    elif now >= deal.ends_at:
        status, why, code = OVER, _("This flash deal is over."), "flash_deal_over"
    elif left <= 0:
        status, why, code = SOLD_OUT, _("The flash deal is sold out."), "sold_out"
    elif now >= deal.starts_at:
        status = LIVE
    elif window and now >= deal.starts_at - window:
        status = EARLY
        if not early:
            why, code = (
                _("Early access only for now; everyone can buy from %(start)s.") % {"start": _when(deal.starts_at)},
                "flash_deal_early_access",
            )
    else:
        status = UPCOMING
        why, code = _("The deal starts at %(start)s.") % {"start": _when(opens_at)}, "flash_deal_not_started"
    return DealState(
        status=status,
        opens_at=opens_at,
        starts_at=deal.starts_at,
        ends_at=deal.ends_at,
        starts_in=opens_at - now if opens_at > now and status in (UPCOMING, EARLY) else None,
        left=left,
        can_buy=not why,
        early_for_viewer=early,
        why_not=why,
        code=code,
    )


def with_states(deals: Iterable[FlashDeal], viewer: Viewer, *, now: datetime | None = None) -> list[FlashDeal]:
    """``deals`` as a list, each with ``.state`` for ``viewer`` (early access looked up in two queries at most)."""
    items = list(deals)
    now = now or timezone.now()
    early = early_deal_ids(items, viewer)
    for deal in items:
        deal.state = deal_state(deal, viewer, now=now, early=deal.pk in early)  # type: ignore[attr-defined]
    return items


def _loaded(deals: QuerySet[FlashDeal]) -> QuerySet[FlashDeal]:
    return deals.select_related("shop", "variant", "variant__product", "variant__product__shop").prefetch_related(
        Prefetch(
            "variant__product__images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="photo_list"
        )
    )


def public_deals(*, include_ended: bool = False) -> QuerySet[FlashDeal]:
    """Deals anyone may see: active (or ended too), on a published product of an open shop."""
    deals = FlashDeal.objects.all() if include_ended else FlashDeal.objects.filter(is_active=True)
    return deals.filter(
        shop__is_active=True,
        variant__is_active=True,
        variant__product__status=ProductStatus.PUBLISHED,
    )


def live_flash_deals(*, limit: int = 24, now: datetime | None = None) -> list[FlashDeal]:
    """Deals on now (sold out ones too, until they end), ending soonest first."""
    now = now or timezone.now()
    deals = public_deals().filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at", "id")
    return list(_loaded(deals)[:limit])


def upcoming_flash_deals(*, limit: int = 24, now: datetime | None = None) -> list[FlashDeal]:
    """Deals still to start (early access may be open already), starting soonest first."""
    now = now or timezone.now()
    deals = public_deals().filter(starts_at__gt=now).order_by("starts_at", "id")
    return list(_loaded(deals)[:limit])


def get_flash_deal(*, deal_id: int, viewer: Viewer = None, include_ended: bool = False) -> FlashDeal:
    """A deal anyone may see, or any deal of a shop the viewer is staff of. ``include_ended``: also a deal the
    shop ended (a buyer who had it open then learns that it ended, not that it never existed)."""
    deal = _loaded(FlashDeal.objects.filter(pk=deal_id)).first()
    if deal is None or not (
        public_deals(include_ended=include_ended).filter(pk=deal.pk).exists()
        or can(viewer, deal.shop, ShopAction.VIEW_DRAFTS)
    ):
        raise FlashDealNotFound(_("No flash deal %(id)s.") % {"id": deal_id})
    return deal


def flash_deals_for_product(product: Product, *, now: datetime | None = None) -> dict[int, FlashDeal]:
    """Per variant of ``product``: its live deal, else its next one (one query)."""
    now = now or timezone.now()
    found: dict[int, FlashDeal] = {}
    deals = (
        public_deals()
        .filter(variant__product=product, ends_at__gt=now)
        .select_related("shop", "variant")
        .order_by("starts_at", "id")
    )
    for deal in deals:
        found.setdefault(deal.variant_id, deal)
    return found


def flash_deal_for_variant(variant_id: int, *, now: datetime | None = None) -> FlashDeal | None:
    """The variant's live deal, else its next one."""
    now = now or timezone.now()
    return (
        public_deals()
        .filter(variant_id=variant_id, ends_at__gt=now)
        .select_related("shop", "variant", "variant__product")
        .order_by("starts_at", "id")
        .first()
    )


def shop_flash_deals(shop: Shop, viewer: Viewer) -> QuerySet[FlashDeal]:
    """A shop's deals: all of them (newest first) for its staff, the live and coming ones for everyone else."""
    deals = _loaded(FlashDeal.objects.filter(shop=shop))
    if can(viewer, shop, ShopAction.VIEW_DRAFTS):
        return deals.order_by("-starts_at", "-id")
    ids = public_deals().filter(shop=shop, ends_at__gt=timezone.now()).values("pk")
    return deals.filter(pk__in=ids).order_by("starts_at", "id")

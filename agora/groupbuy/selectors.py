"""Reading team purchases: live deals, a deal's open teams, one team as a viewer sees it, and a shop's figures."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.models import Product, ProductImage, ProductStatus, Variant
from agora.core.errors import NotAuthenticated
from agora.groupbuy.errors import DealForbidden, DealNotFound, TeamNotFound
from agora.groupbuy.models import HOLDING, Audience, DealTier, GroupDeal, MemberStatus, Team, TeamMember, TeamStatus
from agora.orders import selectors as order_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, can

# Members whose payment went through: they count towards the minimum and the tiers.
COUNTED = (MemberStatus.AUTHORISED, MemberStatus.CAPTURING, MemberStatus.CAPTURED)
# Teams anyone may look at (a PENDING team is still waiting for its leader's payment; a CANCELLED one never began).
VISIBLE_TEAM = (TeamStatus.OPEN, TeamStatus.SUCCEEDED, TeamStatus.FAILED)
CODE = re.compile(r"[0-9A-Za-z]{4,12}")


# --- prices and liveness ------------------------------------------------------------------------
def _tiers(deal: GroupDeal) -> list[DealTier]:
    # Uses the prefetched tiers when there are; sorted here because a prefetch may come in any order.
    return sorted(deal.tiers.all(), key=lambda t: t.members)


def price_for(deal: GroupDeal, members: int) -> Decimal:
    """The unit price of a team of ``members`` counted members: the group price, or the best tier reached."""
    price = deal.group_price
    for tier in _tiers(deal):
        if members >= tier.members:
            price = tier.price
    return price


def next_tier(deal: GroupDeal, members: int) -> DealTier | None:
    """The first tier a team of ``members`` has not reached yet."""
    return next((t for t in _tiers(deal) if t.members > members), None)


def deal_is_live(deal: GroupDeal, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(deal.is_active and deal.starts_at <= now < deal.ends_at and deal.units_taken < deal.stock_allotted)


def units_left(deal: GroupDeal) -> int:
    return max(deal.stock_allotted - deal.units_taken, 0)


def _public(deals: QuerySet[GroupDeal]) -> QuerySet[GroupDeal]:
    """Deals on a published product of an open shop."""
    return deals.filter(shop__is_active=True, product__status=ProductStatus.PUBLISHED)


def _live(deals: QuerySet[GroupDeal], now: datetime) -> QuerySet[GroupDeal]:
    return deals.filter(is_active=True, starts_at__lte=now, ends_at__gt=now, units_taken__lt=F("stock_allotted"))


def _loaded(deals: QuerySet[GroupDeal]) -> QuerySet[GroupDeal]:
    return deals.select_related("shop", "product", "product__shop").prefetch_related(
        Prefetch("tiers", queryset=DealTier.objects.order_by("members")),
        Prefetch("variants", queryset=Variant.objects.filter(is_active=True).order_by("position", "id")),
        Prefetch(
            "product__variants",
            queryset=Variant.objects.filter(is_active=True).order_by("position", "id"),
            to_attr="active_variants",
        ),
        Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="photo_list"),
    )


def deal_variants(deal: GroupDeal) -> list[Variant]:
    """The active variants the deal sells (all the product's when it names none). Uses prefetched rows when there."""
    chosen = list(deal.variants.all())
    if chosen:
        return [v for v in chosen if v.is_active]
    cached = getattr(deal.product, "active_variants", None)
    if cached is not None:
        return list(cached)
    return list(deal.product.variants.filter(is_active=True).order_by("position", "id"))


def single_price(deal: GroupDeal) -> Decimal | None:
    """What one unit costs bought alone: the lowest price among the deal's variants."""
    prices = [v.price for v in deal_variants(deal)]
    return min(prices) if prices else None


def deal_photo(deal: GroupDeal) -> ProductImage | None:
    photos = getattr(deal.product, "photo_list", None)
    if photos is None:
        photos = list(deal.product.images.order_by("position", "id")[:1])
    return photos[0] if photos else None


def live_deal_for_product(product: Product, *, now: datetime | None = None) -> GroupDeal | None:
    """The product's live deal (the one ending soonest when there are several), tiers and variants loaded."""
    now = now or timezone.now()
    deals = _live(GroupDeal.objects.filter(product=product), now).order_by("ends_at", "id")
    return (
        deals.select_related("shop", "product")
        .prefetch_related(
            Prefetch("tiers", queryset=DealTier.objects.order_by("members")),
            Prefetch("variants", queryset=Variant.objects.filter(is_active=True).order_by("position", "id")),
        )
        .first()
    )


def live_deals(*, limit: int = 24, now: datetime | None = None) -> list[GroupDeal]:
    """Live deals anyone may see, ending soonest first (product, shop, tiers, variants and photo loaded)."""
    now = now or timezone.now()
    return list(_loaded(_live(_public(GroupDeal.objects.all()), now)).order_by("ends_at", "id")[:limit])


def is_deal_staff(viewer: Viewer, shop: Shop) -> bool:
    return can(viewer, shop, ShopAction.MANAGE_DEALS) or can(viewer, shop, ShopAction.VIEW_ORDERS)


def deal_for(*, deal_id: int, viewer: Viewer = None) -> GroupDeal:
    """A deal that has started on a public product (live or over), or any deal of a shop the viewer is staff of."""
    deal = _loaded(GroupDeal.objects.filter(pk=deal_id)).first()
    if deal is None:
        raise DealNotFound(_("No team deal %(id)s.") % {"id": deal_id})
    public = deal.shop.is_active and deal.product.status == ProductStatus.PUBLISHED and deal.starts_at <= timezone.now()
    if not public and not is_deal_staff(viewer, deal.shop):
        raise DealNotFound(_("No team deal %(id)s.") % {"id": deal_id})
    return deal


def _require_staff(shop: Shop, viewer: Viewer, *actions: ShopAction) -> None:
    if viewer is None or not viewer.is_authenticated:
        raise NotAuthenticated(_("Sign in first."))
    if not any(can(viewer, shop, action) for action in actions):
        raise DealForbidden(_("Your role in %(shop)s does not allow seeing its team deals.") % {"shop": shop.name})


def shop_deals(*, shop: Shop, viewer: Viewer) -> QuerySet[GroupDeal]:
    """All the shop's deals, newest first, with their team counts (staff who manage deals or see orders)."""
    _require_staff(shop, viewer, ShopAction.MANAGE_DEALS, ShopAction.VIEW_ORDERS)
    return (
        _loaded(GroupDeal.objects.filter(shop=shop))
        .annotate(
            teams_started=Count("teams", filter=Q(teams__started_at__isnull=False)),
            teams_open=Count("teams", filter=Q(teams__status=TeamStatus.OPEN)),
            teams_succeeded=Count("teams", filter=Q(teams__status=TeamStatus.SUCCEEDED)),
        )
        .order_by("-created_at", "-id")
    )


# --- teams -----------------------------------------------------------------------------------------
def _members_prefetch() -> Any:
    return Prefetch(
        "members",
        queryset=TeamMember.objects.filter(status__in=HOLDING).select_related("user").order_by("joined_at", "id"),
        to_attr="holding",
    )


def team_for_code(code: str) -> Team:
    """The team with this share code (any case), deal, product and holding members loaded."""
    cleaned = (code or "").strip().upper()
    team = None
    if CODE.fullmatch(cleaned):
        team = (
            Team.objects.filter(code=cleaned, status__in=VISIBLE_TEAM)
            .select_related("deal", "deal__shop", "deal__product", "deal__product__shop", "leader")
            .prefetch_related(
                Prefetch("deal__tiers", queryset=DealTier.objects.order_by("members")),
                Prefetch(
                    "deal__product__images",
                    queryset=ProductImage.objects.order_by("position", "id"),
                    to_attr="photo_list",
                ),
                _members_prefetch(),
            )
            .first()
        )
    if team is None:
        raise TeamNotFound(_("No team with the code %(code)s. Check the link you were sent.") % {"code": code[:20]})
    return team


def _joinable(teams: QuerySet[Team], now: datetime) -> QuerySet[Team]:
    return teams.filter(
        status__in=(TeamStatus.OPEN, TeamStatus.SUCCEEDED),
        expires_at__gt=now,
        seats_taken__lt=F("max_members"),
    )


def open_teams(
    deal: GroupDeal, *, limit: int = 10, exclude_user: Viewer = None, now: datetime | None = None
) -> list[Team]:
    """Teams of the deal a stranger can join now, the fewest places left first, then the ones ending soonest.

    Teams ``exclude_user`` is already in are left out. Members (with their users) are loaded: two queries.
    """
    now = now or timezone.now()
    teams = _joinable(Team.objects.filter(deal=deal), now)
    if exclude_user is not None and exclude_user.is_authenticated:
        mine = TeamMember.objects.filter(user_id=exclude_user.pk, status__in=HOLDING).values("team_id")
        teams = teams.exclude(pk__in=mine)
    teams = teams.annotate(free=F("max_members") - F("seats_taken")).order_by("free", "expires_at", "id")
    found: list[Team] = list(teams.prefetch_related(_members_prefetch())[:limit])
    for team in found:
        team.deal = deal  # already loaded (with its tiers, variants and photo): no query per team
    return found


@dataclass(frozen=True)
class MemberView:
    user: User
    avatar_url: str
    is_leader: bool
    counted: bool  # payment authorised (False while it is still being paid)


@dataclass(frozen=True)
class TeamView:
    """One team as one viewer sees it now."""

    team: Team
    code: str
    status: str
    product: Product
    deal: GroupDeal
    unit_price: Decimal
    currency: str
    next_tier: DealTier | None
    places_left: int
    members: list[MemberView]
    expires_at: datetime | None
    seconds_left: int
    viewer_member: TeamMember | None
    can_join: bool
    why_not: str
    photo: ProductImage | None = None
    single_price: Decimal | None = None

    @property
    def members_short(self) -> int:
        """How many more counted members the team needs to succeed (0 once it has)."""
        return max(self.team.min_members - self.team.members_count, 0)


def _holding(team: Team) -> list[TeamMember]:
    cached = getattr(team, "holding", None)
    if cached is not None:
        return list(cached)
    return list(team.members.filter(status__in=HOLDING).select_related("user").order_by("joined_at", "id"))


def avatar_url(user: User) -> str:
    return user.avatar_thumbnail.url if user.avatar_thumbnail else ""


def _units_held(user: User, deal: GroupDeal) -> int:
    # Kept on the user for the request: a list of one deal's teams asks once, not once per team.
    cache: dict[int, int] = user.__dict__.setdefault("_team_units_held", {})
    if deal.pk not in cache:
        total = TeamMember.objects.filter(user=user, team__deal=deal, status__in=HOLDING).aggregate(n=Sum("quantity"))
        cache[deal.pk] = int(total["n"] or 0)
    return cache[deal.pk]


def _is_returning(user: User) -> bool:
    """Whether the user has bought before (not a "new customer"); asked once per request."""
    if "_team_returning" not in user.__dict__:
        user.__dict__["_team_returning"] = order_selectors.bought_order_count(user) > 0
    return bool(user.__dict__["_team_returning"])


def why_not_join(team: Team, viewer: Viewer, *, holding: list[TeamMember], now: datetime) -> str:
    """Why ``viewer`` cannot join ``team`` now ("" when they can, or when they have to sign in first)."""
    user = viewer if isinstance(viewer, User) and viewer.is_authenticated else None
    if user is not None and any(m.user_id == user.pk for m in holding):
        return _("You are in this team.")
    if team.status == TeamStatus.FAILED:
        return _("This team did not fill up in time.")
    if team.status not in (TeamStatus.OPEN, TeamStatus.SUCCEEDED):
        return _("This team is not open.")
    if team.expires_at is None or team.expires_at <= now:
        return _("Time is up for this team.")
    if team.places_left <= 0:
        return _("This team is full.")
    deal = team.deal
    # A running team may still be joined after the shop ended the deal: only the deal's units must be left.
    if units_left(deal) <= 0:
        return _("This deal has no units left.")
    if user is None:
        return ""
    if _units_held(user, deal) >= deal.per_user_limit:
        return _("You already hold the most units of this deal one person may buy (%(limit)d).") % {
            "limit": deal.per_user_limit
        }
    if (
        deal.audience == Audience.NEW_CUSTOMERS
        and team.places_left == 1
        and not any(m.is_new_customer for m in holding)
        and _is_returning(user)
    ):
        return _("The last place in this team is kept for someone placing their first order.")
    return ""


def team_view(team: Team, *, viewer: Viewer, now: datetime | None = None) -> TeamView:
    now = now or timezone.now()
    holding = _holding(team)
    viewer_member = None
    if isinstance(viewer, User) and viewer.is_authenticated:
        viewer_member = next((m for m in holding if m.user_id == viewer.pk), None)
    why = why_not_join(team, viewer, holding=holding, now=now)
    deal = team.deal
    seconds = int((team.expires_at - now).total_seconds()) if team.expires_at else 0
    return TeamView(
        team=team,
        code=team.code,
        status=team.status,
        product=deal.product,
        deal=deal,
        unit_price=team.unit_price,
        currency=team.currency,
        next_tier=next_tier(deal, team.members_count),
        places_left=team.places_left,
        members=[
            MemberView(user=m.user, avatar_url=avatar_url(m.user), is_leader=m.is_leader, counted=m.status in COUNTED)
            for m in holding
        ],
        expires_at=team.expires_at,
        seconds_left=max(seconds, 0),
        viewer_member=viewer_member,
        can_join=viewer_member is None and not why,
        why_not=why,
        photo=deal_photo(deal),
        single_price=single_price(deal),
    )


def memberships_of(user: User) -> QuerySet[TeamMember]:
    """The user's team memberships, newest first (those that left too), with team, product and order."""
    return (
        TeamMember.objects.filter(user=user)
        .select_related("team", "team__deal", "team__deal__product", "team__deal__shop", "order", "variant")
        .order_by("-joined_at", "-id")
    )


# --- a shop's figures --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DealStats:
    days: int
    since: datetime
    teams_started: int
    teams_open: int
    teams_succeeded: int
    teams_failed: int
    success_rate: Decimal | None  # succeeded / (succeeded + failed), None before any team was decided
    avg_fill_seconds: int | None
    revenue: dict[str, Decimal]  # currency -> captured member orders' totals minus their refunds
    daily: list[tuple[date, int, int]]  # (day, teams started, teams succeeded), oldest first

    @property
    def success_percent(self) -> int | None:
        return None if self.success_rate is None else int((self.success_rate * 100).to_integral_value())


def _per_day(rows: Iterable[dict[str, object]]) -> dict[date, int]:
    return {row["day"]: int(row["n"]) for row in rows if isinstance(row["day"], date)}  # type: ignore[call-overload]


def deal_stats(*, shop: Shop, viewer: Viewer, days: int = 30, now: datetime | None = None) -> DealStats:
    """How the shop's team deals did over the last ``days`` days (teams counted by when their clock started)."""
    _require_staff(shop, viewer, ShopAction.MANAGE_DEALS, ShopAction.VIEW_FINANCES)
    days = min(max(int(days), 1), 366)
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    teams = Team.objects.filter(deal__shop=shop, started_at__gte=since)
    counts = teams.aggregate(
        started=Count("id"),
        open=Count("id", filter=Q(status=TeamStatus.OPEN)),
        succeeded=Count("id", filter=Q(status=TeamStatus.SUCCEEDED)),
        failed=Count("id", filter=Q(status=TeamStatus.FAILED)),
        fill=Avg(
            ExpressionWrapper(F("succeeded_at") - F("started_at"), output_field=DurationField()),
            filter=Q(status=TeamStatus.SUCCEEDED, succeeded_at__isnull=False),
        ),
    )
    decided = counts["succeeded"] + counts["failed"]
    rate = (Decimal(counts["succeeded"]) / Decimal(decided)).quantize(Decimal("0.0001")) if decided else None
    fill = counts["fill"]
    revenue_rows = (
        TeamMember.objects.filter(
            team__deal__shop=shop, status=MemberStatus.CAPTURED, captured_at__gte=since, order__isnull=False
        )
        .values("team__currency")
        .annotate(total=Sum(F("order__total") - F("order__refunded_amount")))
        .order_by("team__currency")
    )
    started_by_day = _per_day(
        teams.annotate(day=TruncDate("started_at")).values("day").annotate(n=Count("id")).order_by("day")
    )
    succeeded_by_day = _per_day(
        Team.objects.filter(deal__shop=shop, succeeded_at__gte=since)
        .annotate(day=TruncDate("succeeded_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    daily = [
        (day, started_by_day.get(day, 0), succeeded_by_day.get(day, 0))
        for day in (first_day + timedelta(days=i) for i in range(days))
    ]
    return DealStats(
        days=days,
        since=since,
        teams_started=counts["started"],
        teams_open=counts["open"],
        teams_succeeded=counts["succeeded"],
        teams_failed=counts["failed"],
        success_rate=rate,
        avg_fill_seconds=int(fill.total_seconds()) if isinstance(fill, timedelta) else None,
        revenue={row["team__currency"]: row["total"] or Decimal(0) for row in revenue_rows},
        daily=daily,
    )


__all__ = [
    "DealStats",
    "MemberView",
    "TeamView",
    "deal_for",
    "deal_is_live",
    "deal_stats",
    "live_deal_for_product",
    "live_deals",
    "memberships_of",
    "open_teams",
    "price_for",
    "shop_deals",
    "team_for_code",
    "team_view",
]

"""Team purchases under /api/v1/: live group deals and their open teams (public), a team's share view, starting and
joining a team (signed in), your teams, and a shop's group deals and figures for its staff.

`POST /group-deals/{id}/teams` and `POST /teams/{code}/join` take an `Idempotency-Key` header like `POST /checkout`:
a retry gets the first answer and never places or authorises twice.
"""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.pagination import paginate

from agora.accounts.models import User
from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import ErrorOut, Id, Slug, Text, responses
from agora.groupbuy import selectors, services
from agora.groupbuy.models import GroupDeal, Team, TeamMember
from agora.groupbuy.schemas import (
    DealStatsOut,
    GroupDealIn,
    GroupDealOut,
    GroupDealPatchIn,
    StaffGroupDealOut,
    StatsFilters,
    TeamJoinIn,
    TeamMembershipOut,
    TeamOut,
    TeamPlacedOut,
)
from agora.idempotency.api import idempotent_api_call
from agora.shops import selectors as shop_selectors
from agora.shops.permissions import ShopAction

router = Router(tags=["team purchase"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}
LIST_LIMIT = 50
OPEN_TEAMS_LIMIT = 50


def _deal_for_staff(request: HttpRequest, deal_id: int) -> tuple[User, GroupDeal]:
    """The deal and the caller, who must be allowed to manage the deal's shop's deals."""
    user = user_of(request)
    deal = selectors.deal_for(deal_id=deal_id, viewer=user)
    shop_selectors.require(user, deal.shop, ShopAction.MANAGE_DEALS)
    return user, deal


def _team_out(request: HttpRequest, team: Team) -> selectors.TeamView:
    return selectors.team_view(team, viewer=viewer_of(request))


def _placed(request: HttpRequest, member: TeamMember) -> dict[str, Any]:
    """The 201 body of a start or a join (a plain dict: the idempotency store keeps it for replays)."""
    member = selectors.memberships_of(member.user).select_related("order__checkout__payment").get(pk=member.pk)
    team = member.team
    order = member.order
    checkout = order.checkout if order is not None else None
    payment = checkout.payment if checkout is not None else None
    context = {"request": request}
    return {
        "team": TeamOut.from_orm(selectors.team_view(team, viewer=member.user), context=context).model_dump(
            mode="json"
        ),
        "membership": TeamMembershipOut.from_orm(member, context=context).model_dump(mode="json"),
        "order_number": order.number if order is not None else None,
        "checkout_id": checkout.public_id if checkout is not None else None,
        "payment_status": payment.status if payment is not None else None,
    }


def _join_args(payload: TeamJoinIn) -> dict[str, Any]:
    return {
        "variant_id": payload.variant_id,
        "quantity": payload.quantity,
        "address": payload.address.model_dump(),
        "payment_method": payload.payment_method,
        "delivery_method_id": payload.delivery_method_id,
    }


# --- deals (public) ----------------------------------------------------------------------------------
@router.get("group-deals", **PUBLIC, response=responses({200: list[GroupDealOut]}))
def list_group_deals(request: HttpRequest) -> list[GroupDeal]:
    """Team deals on now, ending soonest first (at most 50)."""
    return selectors.live_deals(limit=LIST_LIMIT)


@router.get("group-deals/{deal_id}", **PUBLIC, response=responses({200: GroupDealOut}))
def get_group_deal(request: HttpRequest, deal_id: Id) -> GroupDeal:
    """A deal: product, prices, tiers, team sizes, its window and the units left."""
    return selectors.deal_for(deal_id=deal_id, viewer=viewer_of(request))


@router.get("group-deals/{deal_id}/teams", **PUBLIC, response=responses({200: list[TeamOut]}))
def list_open_teams(request: HttpRequest, deal_id: Id) -> list[selectors.TeamView]:
    """Teams of the deal you can join now, the fewest places left first (at most 50; yours are left out)."""
    viewer = viewer_of(request)
    deal = selectors.deal_for(deal_id=deal_id, viewer=viewer)
    teams = selectors.open_teams(deal, limit=OPEN_TEAMS_LIMIT, exclude_user=viewer)
    return [selectors.team_view(t, viewer=viewer) for t in teams]


# --- teams ---------------------------------------------------------------------------------------------
@router.post("group-deals/{deal_id}/teams", response=responses({201: TeamPlacedOut, 402: ErrorOut}))
def start_team(request: HttpRequest, deal_id: Id, payload: TeamJoinIn) -> HttpResponse:
    """Start a team: a one-item checkout at the team price whose payment is only authorised. The team's clock
    starts when the authorisation succeeds; share its `url` or `code`. Send an `Idempotency-Key` header.

    409 `deal_not_live` / `limit_reached` / `sold_out`; 402 `payment_declined` (nothing held, no team).
    """
    user = user_of(request)
    deal = selectors.deal_for(deal_id=deal_id, viewer=user)

    def work() -> tuple[int, Any]:
        member = services.start_team(actor=user, deal=deal, **_join_args(payload))
        return 201, _placed(request, member)

    return idempotent_api_call(request, payload=payload, work=work)


@router.get("teams/{code}", **PUBLIC, response=responses({200: TeamOut}))
def get_team(request: HttpRequest, code: Text) -> selectors.TeamView:
    """A team by its share code: product, price, members, places left, time left and status."""
    return _team_out(request, selectors.team_for_code(code[:20]))


@router.post("teams/{code}/join", response=responses({201: TeamPlacedOut, 402: ErrorOut}))
def join_team(request: HttpRequest, code: Text, payload: TeamJoinIn) -> HttpResponse:
    """Join a team at its current price (payment authorised, charged when the team completes; at once when it
    already has). Send an `Idempotency-Key` header.

    409 `team_closed` (full, expired, failed) / `already_in_team` / `limit_reached` / `new_customers_only` /
    `deal_not_live`; 402 `payment_declined`.
    """
    user = user_of(request)
    team = selectors.team_for_code(code[:20])

    def work() -> tuple[int, Any]:
        member = services.join_team(actor=user, team=team, **_join_args(payload))
        return 201, _placed(request, member)

    return idempotent_api_call(request, payload=payload, work=work)


@router.get("me/teams", response=responses({200: list[TeamMembershipOut]}))
@paginate(PagePagination)
def my_teams(request: HttpRequest) -> Any:
    """Your team memberships, newest first (those you left too, with why)."""
    return selectors.memberships_of(user_of(request))


# --- a shop's deals (staff) ----------------------------------------------------------------------
@router.get("shops/{slug}/group-deals", response=responses({200: list[StaffGroupDealOut]}))
@paginate(PagePagination)
def list_shop_group_deals(request: HttpRequest, slug: Slug) -> Any:
    """All the shop's team deals, newest first, with their team counts (owner, manager, support)."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    return selectors.shop_deals(shop=shop, viewer=user)


@router.post("shops/{slug}/group-deals", response=responses({201: GroupDealOut}))
def create_group_deal(request: HttpRequest, slug: Slug, payload: GroupDealIn) -> Status[GroupDeal]:
    """A new team deal on one of the shop's products (owner or manager)."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    data = payload.model_dump()
    data["tiers"] = data["tiers"] or None
    data["variant_ids"] = data["variant_ids"] or None
    deal = services.create_deal(actor=user, shop=shop, **data)
    return Status(201, selectors.deal_for(deal_id=deal.pk, viewer=user))


@router.get("shops/{slug}/group-deals/stats", response=responses({200: DealStatsOut}))
def group_deal_stats(request: HttpRequest, slug: Slug, filters: Query[StatsFilters]) -> selectors.DealStats:
    """Teams started, succeeded and failed over the last `days` days, the success rate, the average time to fill
    and the revenue (owner, manager)."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    return selectors.deal_stats(shop=shop, viewer=user, days=filters.days)


@router.patch("group-deals/{deal_id}", response=responses({200: GroupDealOut}))
def update_group_deal(request: HttpRequest, deal_id: Id, payload: GroupDealPatchIn) -> GroupDeal:
    """Change a deal (owner or manager). Team sizes, prices and tiers apply to teams started afterwards."""
    user, deal = _deal_for_staff(request, deal_id)
    changes = payload.model_dump(exclude_unset=True)
    services.update_deal(actor=user, deal=deal, **changes)
    return selectors.deal_for(deal_id=deal_id, viewer=user)


@router.post("group-deals/{deal_id}/end", response=responses({200: GroupDealOut}))
def end_group_deal(request: HttpRequest, deal_id: Id) -> GroupDeal:
    """End the deal now (owner or manager): no new teams; teams already running keep going until they expire."""
    user, deal = _deal_for_staff(request, deal_id)
    services.end_deal(actor=user, deal=deal)
    return selectors.deal_for(deal_id=deal_id, viewer=user)

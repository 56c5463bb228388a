"""API shapes of team purchases. Amounts are decimal strings in the deal's currency, never JSON floats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.urls import reverse
from ninja import Field, Schema
from pydantic import Strict

from agora.api.schemas import Id
from agora.catalog.schemas import Price, money_str
from agora.groupbuy import selectors
from agora.groupbuy.models import Audience
from agora.orders.schemas import AddressIn, Body
from agora.shops.schemas import ShopRefOut

WholeNumber = Annotated[int, Strict()]
AudienceChoice = Annotated[str, Field(max_length=16, description=f"One of: {', '.join(Audience.values)}.")]


def absolute_url(url: str, request: Any) -> str:
    return request.build_absolute_uri(url) if request is not None else settings.SITE_URL + url


# --- in ------------------------------------------------------------------------------------------
class TierIn(Body):
    members: WholeNumber = Field(..., description="From this many members on (more than the team minimum).")
    price: Price = Field(..., description="The unit price for everyone in the team from then on.")


class GroupDealIn(Body):
    product_id: Id
    group_price: Price = Field(..., description="Unit price once a team has its minimum, more than zero.")
    ends_at: datetime = Field(..., description="ISO 8601; without an offset, the server's time zone.")
    stock_allotted: WholeNumber = Field(..., description="Units the deal may sell in all.")
    min_members: WholeNumber = Field(2, description="People a team needs to succeed (2 or more).")
    max_members: WholeNumber | None = Field(None, description="Most people in a team (default: the minimum).")
    fill_hours: WholeNumber = Field(24, description="Hours a team has to reach its minimum.")
    tiers: list[TierIn] = Field(default_factory=list, max_length=10, description="Lower prices for bigger teams.")
    starts_at: datetime | None = Field(None, description="Default: now.")
    per_user_limit: WholeNumber = Field(1, description="Units one person may hold across the deal's teams.")
    audience: AudienceChoice = Field(Audience.EVERYONE.value)
    variant_ids: list[Id] = Field(default_factory=list, max_length=200, description="Empty: every variant.")


class GroupDealPatchIn(Body):
    group_price: Price | None = None
    ends_at: datetime | None = None
    stock_allotted: WholeNumber | None = None
    min_members: WholeNumber | None = None
    max_members: WholeNumber | None = None
    fill_hours: WholeNumber | None = None
    tiers: list[TierIn] | None = Field(None, max_length=10, description="Replaces all the tiers ([] removes them).")
    starts_at: datetime | None = None
    per_user_limit: WholeNumber | None = None
    audience: AudienceChoice | None = None
    variant_ids: list[Id] | None = Field(None, max_length=200)


class TeamJoinIn(Body):
    variant_id: Id | None = Field(None, description="Which variant; may be left out when the deal has only one.")
    quantity: WholeNumber = Field(1, description="Up to the deal's limit per person.")
    address: AddressIn
    payment_method: str = Field(..., max_length=40, description="A `code` from GET /payments/methods.")
    delivery_method_id: Id | None = Field(
        None, description="One of the shop's methods for the country; default the cheapest."
    )


class StatsFilters(Schema):
    days: int = Field(30, ge=1, le=366, description="How many days back, today included.")


# --- out -----------------------------------------------------------------------------------------
class TierOut(Schema):
    members: int
    price: str


def _tiers(deal: Any) -> list[dict[str, Any]]:
    return [{"members": t.members, "price": money_str(t.price, deal.currency)} for t in deal.tiers.all()]


class GroupDealOut(Schema):
    id: int
    shop: ShopRefOut
    product_id: int
    product_title: str
    product_slug: str
    currency: str
    group_price: str
    single_price: str | None = Field(None, description="The lowest price of the deal's variants bought alone.")
    tiers: list[TierOut]
    variant_ids: list[int] = Field(..., description="The variants sold; all the product's when it names none.")
    min_members: int
    max_members: int
    fill_hours: int
    starts_at: datetime
    ends_at: datetime
    stock_allotted: int
    units_taken: int
    units_left: int
    per_user_limit: int
    audience: str
    is_active: bool = Field(..., description="False once the shop ended the deal.")
    is_live: bool = Field(..., description="Teams can be started now.")

    @staticmethod
    def resolve_product_title(obj: Any) -> str:
        return str(obj.product.title)

    @staticmethod
    def resolve_product_slug(obj: Any) -> str:
        return str(obj.product.slug)

    @staticmethod
    def resolve_group_price(obj: Any) -> str | None:
        return money_str(obj.group_price, obj.currency)

    @staticmethod
    def resolve_single_price(obj: Any) -> str | None:
        return money_str(selectors.single_price(obj), obj.currency)

    @staticmethod
    def resolve_tiers(obj: Any) -> list[dict[str, Any]]:
        return _tiers(obj)

    @staticmethod
    def resolve_variant_ids(obj: Any) -> list[int]:
        return [v.pk for v in selectors.deal_variants(obj)]

    @staticmethod
    def resolve_units_left(obj: Any) -> int:
        return selectors.units_left(obj)

    @staticmethod
    def resolve_is_live(obj: Any) -> bool:
        return selectors.deal_is_live(obj)


class StaffGroupDealOut(GroupDealOut):
    teams_started: int = 0
    teams_open: int = 0
    teams_succeeded: int = 0


class TeamMemberOut(Schema):
    username: str
    name: str
    avatar: str | None
    is_leader: bool
    counted: bool = Field(..., description="Payment authorised (false while it is still being paid).")

    @staticmethod
    def resolve_username(obj: Any) -> str:
        return str(obj.user.username)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.user.public_name)

    @staticmethod
    def resolve_avatar(obj: Any, context: Any) -> str | None:
        return absolute_url(obj.avatar_url, (context or {}).get("request")) if obj.avatar_url else None


class NextTierOut(Schema):
    members: int
    price: str


class TeamProductOut(Schema):
    id: int
    title: str
    slug: str
    shop_slug: str
    image: str | None


class TeamOut(Schema):
    code: str
    url: str = Field(..., description="The share page.")
    status: str = Field(..., description='"open", "succeeded" or "failed".')
    deal_id: int
    product: TeamProductOut
    currency: str
    unit_price: str = Field(..., description="What each member pays per unit now (the tier reached).")
    single_price: str | None
    next_tier: NextTierOut | None = Field(None, description="The next lower price and the members it needs.")
    min_members: int
    max_members: int
    members_count: int = Field(..., description="Members whose payment is authorised.")
    places_left: int
    members: list[TeamMemberOut]
    expires_at: datetime | None
    seconds_left: int
    you_are_member: bool
    can_join: bool = Field(..., description="Whether you could join now (sign in first when anonymous).")
    why_not: str = Field("", description="Why you cannot join (empty when you can).")

    @staticmethod
    def resolve_url(obj: selectors.TeamView, context: Any) -> str:
        return absolute_url(reverse("web:team", args=[obj.code]), (context or {}).get("request"))

    @staticmethod
    def resolve_deal_id(obj: selectors.TeamView) -> int:
        return int(obj.deal.pk)

    @staticmethod
    def resolve_product(obj: selectors.TeamView, context: Any) -> dict[str, Any]:
        photo = obj.photo
        request = (context or {}).get("request")
        return {
            "id": obj.product.pk,
            "title": obj.product.title,
            "slug": obj.product.slug,
            "shop_slug": obj.deal.shop.slug,
            "image": absolute_url(photo.thumbnail_medium.url, request) if photo else None,
        }

    @staticmethod
    def resolve_unit_price(obj: selectors.TeamView) -> str | None:
        return money_str(obj.unit_price, obj.currency)

    @staticmethod
    def resolve_single_price(obj: selectors.TeamView) -> str | None:
        return money_str(obj.single_price, obj.currency)

    @staticmethod
    def resolve_next_tier(obj: selectors.TeamView) -> dict[str, Any] | None:
        tier = obj.next_tier
        return None if tier is None else {"members": tier.members, "price": money_str(tier.price, obj.currency)}

    @staticmethod
    def resolve_min_members(obj: selectors.TeamView) -> int:
        return int(obj.team.min_members)

    @staticmethod
    def resolve_max_members(obj: selectors.TeamView) -> int:
        return int(obj.team.max_members)

    @staticmethod
    def resolve_members_count(obj: selectors.TeamView) -> int:
        return int(obj.team.members_count)

    @staticmethod
    def resolve_you_are_member(obj: selectors.TeamView) -> bool:
        return obj.viewer_member is not None


class TeamMembershipOut(Schema):
    team_code: str
    team_status: str
    team_url: str
    expires_at: datetime | None
    product_title: str
    status: str = Field(..., description='"paying", "authorised", "capturing", "captured" or "released".')
    is_leader: bool
    variant_id: int | None
    quantity: int
    currency: str
    authorised_price: str = Field(..., description="The unit price authorised when joining.")
    charged_price: str | None = Field(None, description="The unit price charged (lower when a tier was reached).")
    order_number: str | None
    joined_at: datetime
    release_reason: str

    @staticmethod
    def resolve_team_code(obj: Any) -> str:
        return str(obj.team.code)

    @staticmethod
    def resolve_team_status(obj: Any) -> str:
        return str(obj.team.status)

    @staticmethod
    def resolve_team_url(obj: Any, context: Any) -> str:
        return absolute_url(reverse("web:team", args=[obj.team.code]), (context or {}).get("request"))

    @staticmethod
    def resolve_expires_at(obj: Any) -> datetime | None:
        return obj.team.expires_at  # type: ignore[no-any-return]

    @staticmethod
    def resolve_product_title(obj: Any) -> str:
        return str(obj.team.deal.product.title)

    @staticmethod
    def resolve_currency(obj: Any) -> str:
        return str(obj.team.currency)

    @staticmethod
    def resolve_authorised_price(obj: Any) -> str | None:
        return money_str(obj.authorised_price, obj.team.currency)

    @staticmethod
    def resolve_charged_price(obj: Any) -> str | None:
        return money_str(obj.charged_price, obj.team.currency)

    @staticmethod
    def resolve_order_number(obj: Any) -> str | None:
        return str(obj.order.number) if obj.order is not None else None


class TeamPlacedOut(Schema):
    """What starting or joining a team answers: the team, your place in it, and your order."""

    team: TeamOut
    membership: TeamMembershipOut
    order_number: str | None
    checkout_id: str | None
    payment_status: str | None = Field(
        None,
        description='The payment\'s status: "authorized" (you are in; charged when the team completes), '
        '"pending" (not settled yet), ...',
    )


class RevenueOut(Schema):
    currency: str
    amount: str


class DayOut(Schema):
    date: str
    started: int
    succeeded: int


class DealStatsOut(Schema):
    days: int
    teams_started: int
    teams_open: int
    teams_succeeded: int
    teams_failed: int
    success_rate: str | None = Field(None, description='Succeeded / (succeeded + failed), e.g. "0.7500".')
    avg_fill_seconds: int | None = Field(None, description="From a team's start to its success, on average.")
    revenue: list[RevenueOut] = Field(..., description="Charged team orders minus refunds, per currency.")
    daily: list[DayOut]

    @staticmethod
    def resolve_success_rate(obj: selectors.DealStats) -> str | None:
        return None if obj.success_rate is None else str(obj.success_rate)

    @staticmethod
    def resolve_revenue(obj: selectors.DealStats) -> list[dict[str, str | None]]:
        return [{"currency": c, "amount": money_str(a, c)} for c, a in sorted(obj.revenue.items())]

    @staticmethod
    def resolve_daily(obj: selectors.DealStats) -> list[dict[str, Any]]:
        return [{"date": d.isoformat(), "started": s, "succeeded": w} for d, s, w in obj.daily]

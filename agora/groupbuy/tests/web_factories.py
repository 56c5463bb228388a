"""Test helpers for the team purchase pages and API: a shop with a live group deal, teams started and joined."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.groupbuy import services
from agora.groupbuy.models import GroupDeal, Team, TeamMember
from agora.orders.tests.factories import ADDRESS, CARD, selling_shop, variant_for_sale
from agora.shops.models import Shop

__all__ = ["ADDRESS", "CARD", "group_deal", "join", "start", "team_of"]


def group_deal(
    *,
    shop: Shop | None = None,
    owner: User | None = None,
    variant: Variant | None = None,
    price: str = "20.00",
    group_price: str = "15.00",
    stock: int = 50,
    stock_allotted: int = 20,
    min_members: int = 2,
    max_members: int | None = None,
    starts_in: timedelta = timedelta(minutes=-5),
    lasts: timedelta = timedelta(days=2),
    **kwargs: Any,
) -> GroupDeal:
    """A group deal through the service (live since 5 minutes by default) on a new product unless given."""
    if shop is None or owner is None:
        shop, owner = selling_shop()
    if variant is None:
        variant = variant_for_sale(shop, price=price, stock=stock, title="Team tea set")
    start = timezone.now() + starts_in
    return services.create_deal(
        actor=owner,
        shop=shop,
        product_id=variant.product_id,
        group_price=group_price,
        starts_at=start,
        ends_at=start + lasts,
        stock_allotted=stock_allotted,
        min_members=min_members,
        max_members=max_members,
        **kwargs,
    )


def start(deal: GroupDeal, user: User | None = None, *, quantity: int = 1, method: str = CARD) -> TeamMember:
    """``user`` (a new one by default) starts a team on ``deal``: the leader's membership."""
    return services.start_team(
        actor=user or UserFactory(),
        deal=deal,
        variant_id=None,
        quantity=quantity,
        address=ADDRESS,
        payment_method=method,
    )


def join(team: Team, user: User | None = None, *, quantity: int = 1, method: str = CARD) -> TeamMember:
    return services.join_team(
        actor=user or UserFactory(),
        team=team,
        variant_id=None,
        quantity=quantity,
        address=ADDRESS,
        payment_method=method,
    )


def team_of(member: TeamMember) -> Team:
    return Team.objects.get(pk=member.team_id)

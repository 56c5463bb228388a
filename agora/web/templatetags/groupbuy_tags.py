"""``{% load groupbuy_tags %}``: the team purchase box of a product page and helpers for team deal cards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import pgettext

from agora.catalog.models import Product
from agora.catalog.schemas import money_str
from agora.groupbuy import selectors
from agora.groupbuy.models import GroupDeal, MemberStatus, Team, TeamStatus

register = template.Library()

OPEN_TEAMS_SHOWN = 5


@register.simple_tag(takes_context=True)
def product_team(context: template.Context, product: Product) -> dict[str, Any] | None:
    """``{% product_team product as team_box %}``: the product's live team deal with its tiers and the teams a
    stranger can join, or None. A fixed number of queries (the deal with tiers and variants: 3; open teams: 2)."""
    deal = selectors.live_deal_for_product(product)
    if deal is None:
        return None
    request = context.get("request")
    viewer = getattr(request, "user", None)
    # The product page has the active variants already: reuse them for the single-buy price.
    page_variants = context.get("variants")
    chosen = {v.pk for v in deal.variants.all()}
    if page_variants is not None:
        variants = [v for v in page_variants if not chosen or v.pk in chosen]
    else:
        variants = selectors.deal_variants(deal)
    single = min((v.price for v in variants), default=None)
    teams = selectors.open_teams(deal, limit=OPEN_TEAMS_SHOWN, exclude_user=viewer)
    return {
        "deal": deal,
        "tiers": list(deal.tiers.all()),
        "single_price": single,
        "saving": (single - deal.group_price) if single is not None and single > deal.group_price else None,
        "variants": variants,
        "open_teams": [{"team": t, "members": list(getattr(t, "holding", [])), "short": _short(t)} for t in teams],
        "start_url": reverse("web:team_start", args=[deal.pk]),
        "units_left": selectors.units_left(deal),
    }


def _short(team: Team) -> int:
    """How many more people the team needs: to its minimum while open, else the places left."""
    if team.status == TeamStatus.OPEN:
        return max(team.min_members - team.seats_taken, 1)
    return team.places_left


@register.filter
def team_single_price(deal: GroupDeal) -> Decimal | None:
    """``{{ deal|team_single_price }}``: the lowest single-buy price of the deal's variants (uses the prefetch)."""
    return selectors.single_price(deal)


@register.filter
def team_deal_photo(deal: GroupDeal) -> Any:
    return selectors.deal_photo(deal)


@register.filter
def team_status_label(value: str) -> str:
    """A team status in a word or two: "open" -> "Open"."""
    labels: dict[str, str] = {
        TeamStatus.OPEN: pgettext("team status", "Open"),
        TeamStatus.SUCCEEDED: pgettext("team status", "Succeeded"),
        TeamStatus.FAILED: pgettext("team status", "Failed"),
        TeamStatus.PENDING: pgettext("team status", "Starting"),
        TeamStatus.CANCELLED: pgettext("team status", "Cancelled"),
    }
    return str(labels.get(value, value))


@register.filter
def member_status_label(value: str) -> str:
    try:
        return str(MemberStatus(value).label)
    except ValueError:
        return str(value)


@register.filter
def team_amount(amount: Decimal | None, currency: str) -> str:
    """``{{ amount|team_amount:currency }}``: a plain decimal string ("19.90") for meta tags."""
    return money_str(amount, currency) or ""

"""Flash deals for shoppers: the /deals/ page and buying at the deal price (the normal one-item checkout)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from agora.accounts.models import User
from agora.orders.models import Checkout
from agora.promotions import selectors, services
from agora.promotions.models import FlashDeal
from agora.web.views.orders import render_direct_checkout

DEALS_PER_SECTION = 24
QUANTITY = re.compile(r"[0-9]{1,4}")


def _team_deals() -> list[Any]:
    # The team purchases' own selector (agora.groupbuy); imported here so that the flash pages never depend on
    # the order the apps load in.
    from agora.groupbuy import selectors as groupbuy_selectors

    return list(groupbuy_selectors.live_deals(limit=12))


@require_GET
def deals(request: HttpRequest) -> HttpResponse:
    """Flash deals on now and coming (countdowns, units left), and the team deals."""
    live = selectors.with_states(selectors.live_flash_deals(limit=DEALS_PER_SECTION), request.user)
    upcoming = selectors.with_states(selectors.upcoming_flash_deals(limit=DEALS_PER_SECTION), request.user)
    return render(request, "web/deals.html", {"live": live, "upcoming": upcoming, "team_deals": _team_deals()})


def _product_url(deal: FlashDeal) -> str:
    product = deal.variant.product
    return reverse("web:product", args=[deal.shop.slug, product.slug]) + f"?variant={deal.variant_id}"


def _quantity(request: HttpRequest, deal: FlashDeal) -> int:
    raw = str(request.POST.get("quantity") or request.GET.get("quantity") or "1").strip()
    count = int(raw) if QUANTITY.fullmatch(raw) else 1
    return min(max(count, 1), deal.per_user_limit)


@require_http_methods(["GET", "POST"])
def flash_buy(request: HttpRequest, deal_id: int) -> HttpResponse:
    """The checkout at the deal price; a deal that cannot be bought now sends back to the product with why."""
    deal = selectors.get_flash_deal(deal_id=deal_id, viewer=request.user, include_ended=True)
    quantity = _quantity(request, deal)
    user = request.user
    if request.method == "GET" and isinstance(user, User) and user.is_authenticated:
        state = selectors.deal_state(deal, user)
        if not state.can_buy:
            messages.error(request, state.why_not)
            return redirect(_product_url(deal))

    def place(address: dict[str, str], method: str, delivery_id: int | None) -> Checkout:
        assert isinstance(user, User)  # render_direct_checkout lets only signed-in buyers place
        return services.buy_flash_deal(
            actor=user,
            deal=deal,
            quantity=quantity,
            address=address,
            payment_method=method,
            delivery_method_id=delivery_id,
        )

    variant = deal.variant
    note = _("Flash deal: %(left)d left at this price. Limit %(limit)d per buyer.") % {
        "left": deal.left,
        "limit": deal.per_user_limit,
    }
    return render_direct_checkout(
        request,
        variant=variant,
        quantity=quantity,
        unit_price=min(deal.deal_price, variant.price),
        heading=_("Flash deal: %(title)s") % {"title": variant.product.title},
        note=note,
        place=place,
        extra_fields={"quantity": str(quantity)},
    )

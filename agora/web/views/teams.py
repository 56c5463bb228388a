"""Team purchases for shoppers: a team's share page, starting and joining a team (the one-item checkout at the
team price, payment authorised only), and "My teams"."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from agora.accounts.models import User
from agora.catalog.models import Variant
from agora.groupbuy import selectors, services
from agora.groupbuy.models import GroupDeal, Team, TeamMember, TeamStatus
from agora.orders.models import Checkout
from agora.web.views.common import paginate
from agora.web.views.orders import render_direct_checkout

WHOLE = re.compile(r"[0-9]{1,9}")


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _product_url(deal: GroupDeal) -> str:
    return reverse("web:product", args=[deal.shop.slug, deal.product.slug])


def _number(request: HttpRequest, name: str) -> int | None:
    raw = str(request.POST.get(name) or request.GET.get(name) or "").strip()
    return int(raw) if WHOLE.fullmatch(raw) else None


def _choice(request: HttpRequest, deal: GroupDeal) -> tuple[list[Variant], Variant | None, int]:
    """The deal's variants, the one chosen (None while the shopper must pick) and the quantity (1..limit)."""
    variants = selectors.deal_variants(deal)
    wanted = _number(request, "variant")
    chosen = next((v for v in variants if v.pk == wanted), None)
    if chosen is None and len(variants) == 1:
        chosen = variants[0]
    quantity = min(max(_number(request, "quantity") or 1, 1), max(deal.per_user_limit, 1))
    return variants, chosen, quantity


def _team_url_of(checkout: Checkout) -> str:
    """Where a placed start or join goes: the team page, or the checkout's page while the team is not open yet."""
    member = TeamMember.objects.filter(order__checkout=checkout).select_related("team").first()
    if member is None or member.team.status in (TeamStatus.PENDING, TeamStatus.CANCELLED):
        return reverse("web:checkout_done", args=[checkout.public_id])
    return reverse("web:team", args=[member.team.code])


def _choose_page(
    request: HttpRequest, *, deal: GroupDeal, variants: list[Variant], heading: str, team: Team | None = None
) -> HttpResponse:
    context = {
        "deal": deal,
        "team": team,
        "variants": variants,
        "heading": heading,
        "quantities": range(1, max(deal.per_user_limit, 1) + 1),
        "price": team.unit_price if team is not None else deal.group_price,
    }
    return render(request, "web/groupbuy/choose.html", context)


def _checkout_note() -> str:
    return _(
        "Team price. Your payment is only authorised now: you are charged when the team is complete, and the "
        "authorisation is cancelled if it does not fill up in time."
    )


@require_http_methods(["GET", "POST"])
def team_start(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Start a team: pick the variant (and quantity), then the checkout at the team price."""
    user = _signed_in(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    deal = selectors.deal_for(deal_id=deal_id, viewer=user)
    if not selectors.deal_is_live(deal):
        messages.error(request, _("This team deal is not on any more."))
        return redirect(_product_url(deal))
    variants, variant, quantity = _choice(request, deal)
    heading = _("Start a team: %(title)s") % {"title": deal.product.title}
    if variant is None:
        return _choose_page(request, deal=deal, variants=variants, heading=heading)
    chosen = variant

    def place(address: dict[str, str], method: str, delivery_id: int | None) -> Checkout:
        assert user is not None
        member = services.start_team(
            actor=user,
            deal=deal,
            variant_id=chosen.pk,
            quantity=quantity,
            address=address,
            payment_method=method,
            delivery_method_id=delivery_id,
        )
        assert member.order is not None
        return member.order.checkout

    return render_direct_checkout(
        request,
        variant=variant,
        quantity=quantity,
        unit_price=deal.group_price,
        heading=heading,
        note=_checkout_note(),
        place=place,
        done_url=_team_url_of,
        extra_fields={"variant": str(variant.pk), "quantity": str(quantity)},
    )


@require_http_methods(["GET", "POST"])
def team_join(request: HttpRequest, code: str) -> HttpResponse:
    """Join a team through its link: pick the variant (and quantity), then the checkout at the team's price."""
    user = _signed_in(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    team = selectors.team_for_code(code)
    if request.method == "GET":
        view = selectors.team_view(team, viewer=user)
        if not view.can_join:
            messages.info(request, view.why_not)
            return redirect("web:team", code=team.code)
    deal = team.deal
    variants, variant, quantity = _choice(request, deal)
    heading = _("Join team %(code)s: %(title)s") % {"code": team.code, "title": deal.product.title}
    if variant is None:
        return _choose_page(request, deal=deal, variants=variants, heading=heading, team=team)
    chosen = variant

    def place(address: dict[str, str], method: str, delivery_id: int | None) -> Checkout:
        assert user is not None
        member = services.join_team(
            actor=user,
            team=team,
            variant_id=chosen.pk,
            quantity=quantity,
            address=address,
            payment_method=method,
            delivery_method_id=delivery_id,
        )
        assert member.order is not None
        return member.order.checkout

    return render_direct_checkout(
        request,
        variant=variant,
        quantity=quantity,
        unit_price=team.unit_price,
        heading=heading,
        note=_checkout_note(),
        place=place,
        done_url=_team_url_of,
        extra_fields={"variant": str(variant.pk), "quantity": str(quantity)},
    )


@require_GET
def team(request: HttpRequest, code: str) -> HttpResponse:
    """A team's share page: product, price, members, places left, live countdown, status; join or share."""
    found = selectors.team_for_code(code)
    if found.code != code:
        return redirect("web:team", code=found.code, permanent=True)
    view = selectors.team_view(found, viewer=request.user)
    path = reverse("web:team", args=[found.code])
    context = {
        "view": view,
        "team": found,
        "deal": found.deal,
        "product": found.deal.product,
        "shop": found.deal.shop,
        "share_url": settings.SITE_URL + path,
        "canonical_url": settings.SITE_URL + path,
        "poll_url": f"/api/v1/teams/{found.code}",
        "state_key": f"{view.status}:{len(view.members)}:{found.members_count}",
    }
    return render(request, "web/groupbuy/team.html", context)


@login_required
@require_GET
def my_teams(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    assert user is not None
    page = paginate(request, selectors.memberships_of(user))
    return render(request, "web/groupbuy/my_teams.html", {"page_obj": page, "memberships": list(page.object_list)})

"""The seller dashboard's team deals: the shop's group deals with their teams, a form to add one, an end button,
and the figures (teams started, succeeded, failed, success rate, time to fill, revenue) with a chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agora.catalog.models import Product, Variant
from agora.core.errors import DomainError
from agora.groupbuy import selectors, services
from agora.groupbuy.errors import DealNotFound
from agora.groupbuy.models import Audience
from agora.shops import selectors as shop_selectors
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.web.dashboard.views import INVALID, _context, _form_error, _shop, _user

MAX_LISTED = 200
STATS_DAYS = 30
TIER_LINE = re.compile(r"^\s*(\d{1,6})\s*[:=]\s*(\S+)\s*$")


class GroupDealForm(forms.Form):
    product = forms.TypedChoiceField(label=gettext_lazy("Product"), coerce=int)
    variants = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Variants"),
        coerce=int,
        required=False,
        help_text=gettext_lazy("Leave empty for every variant of the product."),
    )
    group_price = forms.CharField(label=gettext_lazy("Team price"), max_length=32)
    min_members = forms.IntegerField(label=gettext_lazy("Team size (minimum)"), min_value=2, initial=2)
    max_members = forms.IntegerField(
        label=gettext_lazy("Team size (maximum)"),
        min_value=2,
        required=False,
        help_text=gettext_lazy("Empty: the minimum."),
    )
    fill_hours = forms.IntegerField(label=gettext_lazy("Hours to fill a team"), min_value=1, initial=24)
    tiers = forms.CharField(
        label=gettext_lazy("Price tiers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "5:15.00"}),
        help_text=gettext_lazy('One per line, "members:price", e.g. "5:15.00": from 5 members on everyone pays 15.00.'),
    )
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("Empty: now."),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    stock_allotted = forms.IntegerField(label=gettext_lazy("Units for the deal"), min_value=1, initial=20)
    per_user_limit = forms.IntegerField(label=gettext_lazy("Limit per shopper"), min_value=1, initial=1)
    audience = forms.ChoiceField(
        label=gettext_lazy("Who can fill a team"), choices=Audience.choices, initial="everyone"
    )

    def __init__(self, *args: Any, shop: Shop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = Product.objects.filter(shop=shop).order_by("title", "id")[:500]
        self.fields["product"].choices = [(p.pk, p.title) for p in products]  # type: ignore[attr-defined]
        variants = (
            Variant.objects.filter(shop=shop, is_active=True)
            .select_related("product")
            .order_by("product__title", "position", "id")[:1000]
        )
        self.fields["variants"].choices = [  # type: ignore[attr-defined]
            (v.pk, f"{v.product.title} · {v.name or v.sku} ({v.price.normalize()} {shop.currency})") for v in variants
        ]

    def clean_tiers(self) -> list[dict[str, Any]]:
        tiers = []
        for number, line in enumerate(str(self.cleaned_data.get("tiers") or "").splitlines(), start=1):
            if not line.strip():
                continue
            match = TIER_LINE.match(line)
            if match is None:
                raise forms.ValidationError(_('Line %(n)d: write "members:price", e.g. "5:15.00".') % {"n": number})
            tiers.append({"members": int(match.group(1)), "price": match.group(2)})
        return tiers

    def deal_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "product_id": data["product"],
            "variant_ids": data.get("variants") or None,
            "group_price": data["group_price"],
            "min_members": data["min_members"],
            "max_members": data.get("max_members"),
            "fill_hours": data["fill_hours"],
            "tiers": data.get("tiers") or None,
            "starts_at": data.get("starts_at"),
            "ends_at": data["ends_at"],
            "stock_allotted": data["stock_allotted"],
            "per_user_limit": data["per_user_limit"],
            "audience": data["audience"],
        }

    def add_error(self, field: str | None, error: Any) -> None:
        # The services name fields after the API ("product_id", "variant_ids"); the form has shorter names.
        names = {"product_id": "product", "variant_ids": "variants", "variant_id": "variants"}
        field = names.get(field or "", field)
        super().add_error(field if field is None or field in self.fields else None, error)


@dataclass
class StatsChart:
    """Teams started (bar) and succeeded (inner bar) per day, drawn as an inline SVG."""

    days: list[tuple[date, int, int]]
    width: int = 640
    height: int = 160
    pad: int = 24

    @property
    def top(self) -> int:
        return max([1, *(s for _d, s, _w in self.days), *(w for _d, _s, w in self.days)])

    def _h(self, value: int) -> float:
        return round((self.height - 2 * self.pad) * value / self.top, 1)

    @property
    def baseline(self) -> int:
        return self.height - self.pad

    @property
    def bars(self) -> list[dict[str, Any]]:
        step = (self.width - 2 * self.pad) / max(len(self.days), 1)
        result = []
        for i, (day, started, succeeded) in enumerate(self.days):
            x = round(self.pad + step * i + step * 0.15, 1)
            result.append(
                {
                    "x": x,
                    "w": round(step * 0.7, 1),
                    "started_h": self._h(started),
                    "started_y": round(self.baseline - self._h(started), 1),
                    "succeeded_h": self._h(succeeded),
                    "succeeded_y": round(self.baseline - self._h(succeeded), 1),
                    "label": _("%(day)s: %(started)d started, %(succeeded)d succeeded")
                    % {"day": day.isoformat(), "started": started, "succeeded": succeeded},
                    "has": bool(started or succeeded),
                }
            )
        return result


def _fill_time(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours >= 48:
        return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": max(minutes, 1) if seconds else 0}


def _page(request: HttpRequest, shop: Shop, form: GroupDealForm | None, status: int = 200) -> HttpResponse:
    deals = list(selectors.shop_deals(shop=shop, viewer=request.user)[:MAX_LISTED])
    now = timezone.now()
    for deal in deals:
        deal.live = selectors.deal_is_live(deal, now=now)  # type: ignore[attr-defined]
        deal.left = selectors.units_left(deal)  # type: ignore[attr-defined]
        deal.tier_list = list(deal.tiers.all())  # type: ignore[attr-defined]
    stats = None
    if shop_selectors.can(request.user, shop, ShopAction.MANAGE_DEALS) or shop_selectors.can(
        request.user, shop, ShopAction.VIEW_FINANCES
    ):
        stats = selectors.deal_stats(shop=shop, viewer=request.user, days=STATS_DAYS)
    context = _context(
        request,
        shop,
        "group_deals",
        deals=deals,
        form=form,
        stats=stats,
        chart=StatsChart(days=stats.daily) if stats is not None else None,
        fill_time=_fill_time(stats.avg_fill_seconds) if stats is not None else "",
        revenue=sorted(stats.revenue.items()) if stats is not None else [],
        can_manage=form is not None,
        zero=Decimal(0),
        now=now,
    )
    return render(request, "web/groupbuy/dashboard.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def group_deals(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's team deals and figures (staff who manage deals or see orders); a POST adds a deal."""
    shop = shop_selectors.get_shop(slug, viewer=request.user)
    manage = shop_selectors.can(request.user, shop, ShopAction.MANAGE_DEALS)
    if request.method != "POST":
        return _page(request, shop, GroupDealForm(shop=shop) if manage else None)
    shop = _shop(request, slug, ShopAction.MANAGE_DEALS)
    form = GroupDealForm(request.POST, shop=shop)
    status = INVALID
    if form.is_valid():
        try:
            services.create_deal(actor=_user(request), shop=shop, **form.deal_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("Team deal created."))
            return redirect("web:group_deals_dashboard", slug=shop.slug)
    return _page(request, shop, form, status)


@login_required
@require_POST
def group_deal_end(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DEALS)
    deal = selectors.deal_for(deal_id=deal_id, viewer=request.user)
    if deal.shop_id != shop.pk:
        raise DealNotFound(_("This shop has no team deal %(id)s.") % {"id": deal_id})
    services.end_deal(actor=_user(request), deal=deal)
    messages.success(request, _("The team deal has ended. Teams already running keep going until they close."))
    return redirect("web:group_deals_dashboard", slug=shop.slug)

"""The seller dashboard's flash deals: the shop's deals with units sold and left, a form to add one, an end button."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agora.catalog.models import Variant
from agora.core.errors import DomainError
from agora.core.money import format_money
from agora.promotions import selectors, services
from agora.promotions.errors import FlashDealNotFound
from agora.promotions.models import EarlyAccess
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.web.dashboard.views import INVALID, _context, _form_error, _shop, _user

MAX_LISTED = 200


class FlashDealForm(forms.Form):
    variant = forms.TypedChoiceField(label=gettext_lazy("Variant"), coerce=int)
    deal_price = forms.CharField(label=gettext_lazy("Deal price"), max_length=32)
    quantity = forms.IntegerField(label=gettext_lazy("Units at the deal price"), min_value=1, initial=10)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    per_user_limit = forms.IntegerField(label=gettext_lazy("Limit per buyer"), min_value=1, initial=1)
    early_access = forms.ChoiceField(label=gettext_lazy("Early access"), choices=EarlyAccess.choices, initial="none")
    early_minutes = forms.IntegerField(
        label=gettext_lazy("Minutes early"),
        min_value=0,
        initial=0,
        required=False,
        help_text=gettext_lazy("How long before the start the early buyers may buy (up to 1440)."),
    )

    def __init__(self, *args: Any, shop: Shop, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        variants = (
            Variant.objects.filter(shop=shop, is_active=True)
            .select_related("product")
            .order_by("product__title", "position", "id")[:500]
        )
        self.fields["variant"].choices = [  # type: ignore[attr-defined]
            (v.pk, f"{v.product.title} · {v.name or v.sku} ({format_money(v.price, shop.currency)})") for v in variants
        ]

    def deal_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "variant_id": data["variant"],
            "deal_price": data["deal_price"],
            "quantity": data["quantity"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "per_user_limit": data["per_user_limit"],
            "early_access": data["early_access"],
            "early_minutes": data.get("early_minutes") or 0,
        }

    def add_error(self, field: str | None, error: Any) -> None:
        # The services name the variant "variant_id"; the form calls it "variant".
        super().add_error("variant" if field == "variant_id" else field, error)


def _page(request: HttpRequest, shop: Shop, form: FlashDealForm, status: int = 200) -> HttpResponse:
    deals = selectors.with_states(selectors.shop_flash_deals(shop, request.user)[:MAX_LISTED], request.user)
    context = _context(request, shop, "flash", deals=deals, form=form)
    return render(request, "web/promotions/dashboard.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def flash_deals(request: HttpRequest, slug: str) -> HttpResponse:
    """The shop's flash deals; a POST adds one."""
    shop = _shop(request, slug, ShopAction.MANAGE_DEALS)
    if request.method != "POST":
        return _page(request, shop, FlashDealForm(shop=shop))
    form = FlashDealForm(request.POST, shop=shop)
    status = INVALID
    if form.is_valid():
        try:
            services.create_flash_deal(actor=_user(request), shop=shop, **form.deal_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("Flash deal created."))
            return redirect("web:flash_dashboard", slug=shop.slug)
    return _page(request, shop, form, status)


@login_required
@require_POST
def flash_deal_end(request: HttpRequest, slug: str, deal_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_DEALS)
    deal = selectors.get_flash_deal(deal_id=deal_id, viewer=request.user)
    if deal.shop_id != shop.pk:
        raise FlashDealNotFound(_("This shop has no flash deal %(id)s.") % {"id": deal_id})
    services.end_flash_deal(actor=_user(request), deal=deal)
    messages.success(request, _("The flash deal has ended."))
    return redirect("web:flash_dashboard", slug=shop.slug)

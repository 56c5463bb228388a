"""``{% load promotions_tags %}``: the flash deal box of a product page."""

from __future__ import annotations

from typing import Any

from django import template

from agora.catalog.models import Product, Variant
from agora.promotions import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def product_flash(context: template.Context, product: Product, variant: Variant | None = None) -> dict[str, Any] | None:
    """``{% product_flash product selected_variant as flash %}``: the deal of the selected variant (else of another
    variant of the product) with its state for the viewer, or None. One query, plus early access when it has any."""
    deals = selectors.flash_deals_for_product(product)
    if not deals:
        return None
    deal = deals.get(variant.pk) if variant is not None else None
    if deal is None:
        deal = min(deals.values(), key=lambda d: (d.starts_at, d.pk))
    request = context.get("request")
    viewer = getattr(request, "user", None)
    state = selectors.deal_state(deal, viewer)
    return {
        "deal": deal,
        "state": state,
        "price": min(deal.deal_price, deal.variant.price),
        "other_variant": variant is not None and deal.variant_id != variant.pk,
        # Worth saying only until everyone is in.
        "early_label": selectors.early_label(deal) if state.status in (selectors.UPCOMING, selectors.EARLY) else "",
        "quantities": range(1, min(deal.per_user_limit, max(state.left, 1)) + 1),
    }


@register.filter
def flash_early_label(deal: Any) -> str:
    """``{{ deal|flash_early_label }}``: "Followers get in 15 min early", or ""."""
    return selectors.early_label(deal)

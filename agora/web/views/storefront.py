"""The public storefront: home, search, categories, shops, products, profiles."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from agora.accounts import selectors as account_selectors
from agora.catalog import selectors as catalog_selectors
from agora.catalog import services as catalog_services
from agora.catalog.models import Category, Product, Variant
from agora.core.money import CURRENCIES
from agora.shops import selectors as shop_selectors
from agora.shops.models import Role
from agora.shops.permissions import ShopAction
from agora.web.views import social_people
from agora.web.views.common import page_canonical, paginate, sort_param

SORT_CHOICES = [
    ("newest", _("Newest")),
    ("price_asc", _("Price: low to high")),
    ("price_desc", _("Price: high to low")),
    ("popular", _("Most popular")),
]
HOME_LIST_SIZE = 8
FEATURED_SHOPS = 6
LOW_STOCK = 5
MAX_QUERY_LENGTH = 200


def _listing_context(request: HttpRequest, products: Any) -> dict[str, Any]:
    page = paginate(request, products)
    return {
        "page_obj": page,
        "products": page.object_list,
        "sort": sort_param(request),
        "sort_choices": SORT_CHOICES,
        "canonical_url": page_canonical(request, page),
    }


def _render_listing(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The whole page, or only the results when HTMX swaps them in after a sort or page change."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        response = render(request, "web/_results.html", context)
    else:
        response = render(request, template, context)
    # The same URL gives a fragment or a page depending on this header: caches must keep both apart.
    response.headers["Vary"] = "HX-Request"
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    newest = list(catalog_selectors.search_products(sort="newest")[:HOME_LIST_SIZE])
    popular = list(catalog_selectors.search_products(sort="popular")[:HOME_LIST_SIZE])
    shops = list(shop_selectors.list_shops().order_by("-published_products", "name")[:FEATURED_SHOPS])
    return render(
        request,
        "web/home.html",
        {
            "newest": newest,
            "popular": popular,
            "featured_shops": shops,
            "categories": catalog_selectors.category_tree(),
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    tag = request.GET.get("tag", "").strip()[:40]
    category: Category | None = None
    if slug := request.GET.get("category", "").strip():
        category = catalog_selectors.get_category(slug)
    products = catalog_selectors.search_products(
        q=q, category=category, tag=tag, sort=sort_param(request), viewer=request.user
    )
    context = _listing_context(request, products)
    context.update(
        {
            "search_query": q,
            "tag": tag,
            "category": category,
            "categories": catalog_selectors.category_tree(),
            "results_url": reverse("web:search"),
        }
    )
    return _render_listing(request, "web/search.html", context)


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    node = catalog_selectors.get_category(slug)
    products = catalog_selectors.search_products(category=node, sort=sort_param(request), viewer=request.user)
    context = _listing_context(request, products)
    path = catalog_selectors.category_path(node)
    context.update(
        {
            "category": node,
            "category_path": path,
            "subcategories": list(node.children.order_by("position", "name")),
            "current_category_slug": path[0].slug if path else node.slug,
            "results_url": reverse("web:category", args=[node.slug]),
        }
    )
    return _render_listing(request, "web/category.html", context)


@require_GET
def shops(request: HttpRequest) -> HttpResponse:
    page = paginate(request, shop_selectors.list_shops())
    return render(
        request,
        "web/shops.html",
        {"page_obj": page, "shops": page.object_list, "canonical_url": page_canonical(request, page)},
    )


@require_GET
def shop(request: HttpRequest, shop_slug: str) -> HttpResponse:
    the_shop = shop_selectors.get_shop(shop_slug, viewer=request.user)
    products = catalog_selectors.search_products(shop=the_shop, sort=sort_param(request), viewer=request.user)
    context = _listing_context(request, products)
    context.update(
        {
            "shop": the_shop,
            "is_staff": shop_selectors.can(request.user, the_shop, ShopAction.VIEW_DRAFTS),
            "manage_url": _manage_url(the_shop.slug),
            "results_url": reverse("web:shop", args=[the_shop.slug]),
        }
    )
    context.update(social_people.shop_context(request, the_shop))
    return _render_listing(request, "web/shop.html", context)


def _manage_url(shop_slug: str) -> str:
    try:
        return reverse("web:shop_dashboard", args=[shop_slug])
    except NoReverseMatch:  # the dashboard is optional for the storefront
        return f"/dashboard/s/{shop_slug}/"


def _stock_label(variant: Variant) -> str:
    return "sold_out" if variant.stock_quantity <= 0 else "low" if variant.stock_quantity <= LOW_STOCK else "in_stock"


def _price_str(amount: Decimal, currency: str) -> str:
    exponent = CURRENCIES.get(currency, (2, ""))[0]
    return str(amount.quantize(Decimal(1).scaleb(-exponent)))


# The characters that could end a <script> element or open a comment, as JSON escapes.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def product_json_ld(product: Product, variants: list[Variant], photos: list[Any], url: str) -> SafeString:
    """schema.org ``Product`` for search engines, safe to put inside a <script> element."""
    currency = product.shop.currency
    shop_url = settings.SITE_URL + reverse("web:shop", args=[product.shop.slug])

    def offer(variant: Variant) -> dict[str, Any]:
        return {
            "@type": "Offer",
            "sku": variant.sku,
            "name": variant.name or product.title,
            "price": _price_str(variant.price, currency),
            "priceCurrency": currency,
            "availability": "https://schema.org/InStock"
            if variant.stock_quantity > 0
            else "https://schema.org/OutOfStock",
            "url": url + f"?variant={variant.pk}",
            "seller": {"@type": "Organization", "name": product.shop.name, "url": shop_url},
        }

    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "description": product.description[:5000],
        "url": url,
        "brand": {"@type": "Brand", "name": product.shop.name},
    }
    if photos:
        data["image"] = [settings.SITE_URL + photo.image.url for photo in photos]
    if product.category is not None:
        data["category"] = product.category.name
    if len(variants) == 1:
        data["sku"] = variants[0].sku
        data["offers"] = offer(variants[0])
        data["offers"]["url"] = url
    elif variants:
        prices = [v.price for v in variants]
        data["offers"] = {
            "@type": "AggregateOffer",
            "lowPrice": _price_str(min(prices), currency),
            "highPrice": _price_str(max(prices), currency),
            "priceCurrency": currency,
            "offerCount": len(variants),
            "availability": "https://schema.org/InStock"
            if any(v.stock_quantity > 0 for v in variants)
            else "https://schema.org/OutOfStock",
            "offers": [offer(v) for v in variants],
        }
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES))


@require_GET
def product(request: HttpRequest, shop_slug: str, product_slug: str) -> HttpResponse:
    item = catalog_selectors.get_product_by_slug(shop_slug=shop_slug, product_slug=product_slug, viewer=request.user)
    if item.is_published:
        catalog_services.record_view(product=item)
    variants = [v for v in item.variants.all() if v.is_active]  # prefetched, ordered by position
    photos = list(item.images.all())
    selected = next((v for v in variants if str(v.pk) == request.GET.get("variant")), None)
    if selected is None:
        selected = next((v for v in variants if v.stock_quantity > 0), variants[0] if variants else None)
    canonical = settings.SITE_URL + request.path
    return render(
        request,
        "web/product.html",
        {
            "product": item,
            "shop": item.shop,
            "variants": variants,
            "selected_variant": selected,
            "selected_stock": _stock_label(selected) if selected else "sold_out",
            "selected_price": _price_str(selected.price, item.shop.currency) if selected else "",
            "photos": photos,
            "main_photo": photos[0] if photos else None,
            "tags": list(item.tags.all()),
            "category_path": catalog_selectors.category_path(item.category) if item.category else [],
            "related": list(catalog_selectors.related_products(item)),
            "is_staff": not item.is_published
            or shop_selectors.can(request.user, item.shop, ShopAction.MANAGE_PRODUCTS),
            "manage_url": _manage_url(item.shop.slug),
            "json_ld": product_json_ld(item, variants, photos, canonical),
            "canonical_url": canonical,
        },
    )


@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    person = account_selectors.get_user_by_username(username)
    owned_ids = [m.shop_id for m in shop_selectors.shops_of(person) if m.role == Role.OWNER]
    owned = list(shop_selectors.list_shops().filter(pk__in=owned_ids))  # active ones, with product counts
    context = {"person": person, "owned_shops": owned, **social_people.profile_context(request, person)}
    return render(request, "web/profile.html", context)


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /accounts/",
        "Disallow: /dashboard/",
        "Disallow: /admin/",
        "Disallow: /api/",
        # Buying pages are per shopper (and a prefill link fills a cart): nothing there to index.
        "Disallow: /cart/",
        "Disallow: /checkout/",
        "Disallow: /orders/",
        "Disallow: /payments/",
        "Allow: /",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")

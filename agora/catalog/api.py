"""The catalog over the API: categories, product search, products with their photos, variants and stock."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import Id, Slug, responses
from agora.catalog import selectors, services
from agora.catalog.models import Category, Product, ProductImage, Variant
from agora.catalog.schemas import (
    CategoryIn,
    CategoryNodeOut,
    CategoryOut,
    PhotoOut,
    ProductCardOut,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPatchIn,
    ShopProductFilters,
    StockFilters,
    StockRowOut,
    VariantIn,
    VariantOut,
    VariantPatchIn,
)
from agora.shops import selectors as shop_selectors
from agora.shops.permissions import ShopAction

router = Router(tags=["catalog"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}


# --- categories ----------------------------------------------------------------------
@router.get("categories", **PUBLIC, response=responses({200: list[CategoryNodeOut]}))
def category_tree(request: HttpRequest) -> list[Category]:
    """The whole category tree: top-level categories with their `children`, nested. Not paginated: it is one tree."""
    return selectors.category_tree()


@router.post("categories", response=responses({201: CategoryOut}))
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[Category]:
    """Add a category (the operator's staff only)."""
    return Status(201, services.create_category(actor=user_of(request), **payload.model_dump()))


# --- products ------------------------------------------------------------------------
@router.get("products", **PUBLIC, response=responses({200: list[ProductCardOut]}))
@paginate(PagePagination)
def search_products(request: HttpRequest, filters: Query[ProductFilters]) -> Any:
    """Published products of active shops, filtered and sorted.

    A shop's staff filtering by their own shop also see its drafts.
    """
    viewer = viewer_of(request)
    return selectors.search_products(
        q=filters.q,
        category=selectors.get_category(filters.category) if filters.category else None,
        shop=shop_selectors.get_shop(filters.shop, viewer=viewer) if filters.shop else None,
        tag=filters.tag,
        sort=filters.sort,
        viewer=viewer,
    )


@router.get("products/{product_id}", **PUBLIC, response=responses({200: ProductOut}))
def get_product(request: HttpRequest, product_id: Id) -> Product:
    """A product with its variants, photos and tags. A draft is a 404 except for its shop's staff."""
    return selectors.get_product(product_id=product_id, viewer=viewer_of(request))


@router.get("shops/{slug}/products", **PUBLIC, response=responses({200: list[ProductCardOut]}))
@paginate(PagePagination)
def shop_products(request: HttpRequest, slug: Slug, filters: Query[ShopProductFilters]) -> Any:
    """A shop's products: published ones for everyone, drafts too for its staff (`status` narrows it)."""
    viewer = viewer_of(request)
    shop = shop_selectors.get_shop(slug, viewer=viewer)
    return selectors.search_products(q=filters.q, shop=shop, sort=filters.sort, viewer=viewer, status=filters.status)


@router.post("shops/{slug}/products", response=responses({201: ProductOut}))
def create_product(request: HttpRequest, slug: Slug, payload: ProductIn) -> Status[Product]:
    """A new draft product, with its variants, written all at once or not at all."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    data = payload.model_dump()
    data["variants"] = [variant.model_dump() for variant in payload.variants]
    product = services.create_product(actor=user, shop=shop, **data)
    return Status(201, selectors.get_product(product_id=product.pk, viewer=user))


@router.patch("products/{product_id}", response=responses({200: ProductOut}))
def update_product(request: HttpRequest, product_id: Id, payload: ProductPatchIn) -> Product:
    user = user_of(request)
    product = selectors.get_product(product_id=product_id, viewer=user)
    services.update_product(actor=user, product=product, **payload.model_dump(exclude_unset=True))
    return selectors.get_product(product_id=product_id, viewer=user)


@router.delete("products/{product_id}", response=responses({204: None}))
def delete_product(request: HttpRequest, product_id: Id) -> Status[None]:
    user = user_of(request)
    services.delete_product(actor=user, product=selectors.get_product(product_id=product_id, viewer=user))
    return Status(204, None)


@router.post("products/{product_id}/publish", response=responses({200: ProductOut}))
def publish_product(request: HttpRequest, product_id: Id) -> Product:
    """Show the product in the shop and in search. It needs at least one active variant."""
    user = user_of(request)
    services.publish_product(actor=user, product=selectors.get_product(product_id=product_id, viewer=user))
    return selectors.get_product(product_id=product_id, viewer=user)


@router.post("products/{product_id}/unpublish", response=responses({200: ProductOut}))
def unpublish_product(request: HttpRequest, product_id: Id) -> Product:
    user = user_of(request)
    services.unpublish_product(actor=user, product=selectors.get_product(product_id=product_id, viewer=user))
    return selectors.get_product(product_id=product_id, viewer=user)


# --- photos --------------------------------------------------------------------------
@router.post("products/{product_id}/images", response=responses({201: PhotoOut}))
def add_image(
    request: HttpRequest, product_id: Id, image: File[UploadedFile], alt: Form[str] = ""
) -> Status[ProductImage]:
    """Upload a photo (JPEG, PNG, WebP or GIF) as multipart form data: `image`, and optionally `alt`."""
    user = user_of(request)
    product = selectors.get_product(product_id=product_id, viewer=user)
    return Status(201, services.add_image(actor=user, product=product, upload=image, alt=alt))


@router.delete("products/{product_id}/images/{image_id}", response=responses({204: None}))
def remove_image(request: HttpRequest, product_id: Id, image_id: Id) -> Status[None]:
    user = user_of(request)
    product = selectors.get_product(product_id=product_id, viewer=user)
    services.remove_image(actor=user, product=product, image_id=image_id)
    return Status(204, None)


# --- variants ------------------------------------------------------------------------
@router.post("products/{product_id}/variants", response=responses({201: VariantOut}))
def add_variant(request: HttpRequest, product_id: Id, payload: VariantIn) -> Status[Variant]:
    user = user_of(request)
    product = selectors.get_product(product_id=product_id, viewer=user)
    return Status(201, services.add_variant(actor=user, product=product, **payload.model_dump()))


@router.patch("variants/{variant_id}", response=responses({200: VariantOut}))
def update_variant(request: HttpRequest, variant_id: Id, payload: VariantPatchIn) -> Variant:
    """Change a variant; `stock_quantity` sets the counted stock."""
    user = user_of(request)
    variant = selectors.get_variant(variant_id=variant_id, viewer=user)
    return services.update_variant(actor=user, variant=variant, **payload.model_dump(exclude_unset=True))


@router.delete("variants/{variant_id}", response=responses({204: None}))
def delete_variant(request: HttpRequest, variant_id: Id) -> Status[None]:
    user = user_of(request)
    services.delete_variant(actor=user, variant=selectors.get_variant(variant_id=variant_id, viewer=user))
    return Status(204, None)


# --- stock ---------------------------------------------------------------------------
@router.get("shops/{slug}/stock", response=responses({200: list[StockRowOut]}))
@paginate(PagePagination)
def stock_report(request: HttpRequest, slug: Slug, filters: Query[StockFilters]) -> Any:
    """Every variant of the shop by ascending stock, for its staff; `low` flags the ones to reorder."""
    user = user_of(request)
    shop = shop_selectors.shop_for_staff(slug, viewer=user, action=ShopAction.VIEW_DRAFTS)
    return selectors.stock_report(shop=shop, viewer=user, low=filters.low)

"""Reads for the catalog, with what the viewer may see: the public sees published products of
active shops; a shop's staff also see its drafts."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils.translation import gettext as _

from agora.catalog.errors import CategoryNotFound, ProductNotFound, VariantNotFound
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Variant
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import Viewer, can, require

SORTS: dict[str, tuple[str, ...]] = {
    "newest": ("-published_at", "-id"),
    "price_asc": ("price_from", "-id"),
    "price_desc": ("-price_from", "-id"),
    "popular": ("-popularity", "-id"),
}
MAX_QUERY_WORDS = 8


def _lowest_active_price() -> Subquery:
    # A correlated subquery rather than MIN() over a join: no GROUP BY over the whole catalogue, so
    # "newest first" computes the price only for the page it returns, and COUNT(*) can drop it.
    cheapest = Variant.objects.filter(product=OuterRef("pk"), is_active=True).order_by("price").values("price")[:1]
    return Subquery(cheapest)


def _with_listing_data(products: QuerySet[Product]) -> QuerySet[Product]:
    """What a product card shows, in a fixed number of queries whatever the page size."""
    return (
        products.select_related("shop", "category")
        .annotate(price_from=_lowest_active_price())
        .prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="photo_list")
        )
    )


def public_products() -> QuerySet[Product]:
    return Product.objects.filter(status=ProductStatus.PUBLISHED, shop__is_active=True)


CATEGORY_TREE_CACHE_KEY = "catalog:category-tree"


def forget_category_tree() -> None:
    """Called after any change of the tree, so menus and forms show it now rather than in a minute."""
    cache.delete(CATEGORY_TREE_CACHE_KEY)


def category_tree() -> list[Category]:
    """Top-level categories with ``children_list`` filled, from one query (cached briefly)."""
    rows: list[Category] | None = cache.get(CATEGORY_TREE_CACHE_KEY)
    if rows is None:
        rows = list(Category.objects.order_by("position", "name"))
        cache.set(CATEGORY_TREE_CACHE_KEY, rows, 60)
    by_parent: dict[int | None, list[Category]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    for row in rows:
        row.children_list = by_parent.get(row.pk, [])  # type: ignore[attr-defined]
    return by_parent.get(None, [])


def descendant_ids(category: Category) -> list[int]:
    rows = list(Category.objects.values_list("id", "parent_id"))
    children: dict[int | None, list[int]] = {}
    for pk, parent in rows:
        children.setdefault(parent, []).append(pk)
    found, stack = [], [category.pk]
    while stack:
        pk = stack.pop()
        found.append(pk)
        stack.extend(children.get(pk, []))
    return found


def get_category(slug: str) -> Category:
    category = Category.objects.select_related("parent").filter(slug=slug).first()
    if category is None:
        raise CategoryNotFound(_("No category '%(slug)s'.") % {"slug": slug})
    return category


def category_path(category: Category) -> list[Category]:
    by_id = {c.pk: c for c in Category.objects.all()}
    path: list[Category] = []
    node = by_id.get(category.pk)
    while node is not None and len(path) < 20:
        path.append(node)
        node = by_id.get(node.parent_id) if node.parent_id else None
    return list(reversed(path))


def search_products(
    *,
    q: str = "",
    category: Category | None = None,
    shop: Shop | None = None,
    tag: str = "",
    sort: str = "newest",
    viewer: Viewer = None,
    status: str = "",
) -> QuerySet[Product]:
    """Products matching every word of ``q`` in the title, description, tags or shop name.

    Plain case-insensitive matching, the same on SQLite and PostgreSQL; ranking comes later.
    A shop's staff searching their own shop also see its drafts.
    """
    if shop is not None and can(viewer, shop, ShopAction.VIEW_DRAFTS):
        products = Product.objects.filter(shop=shop)
    else:
        products = public_products()
        if shop is not None:
            products = products.filter(shop=shop)
    if status:
        products = products.filter(status=status)
    if category is not None:
        products = products.filter(category_id__in=descendant_ids(category))
    if tag:
        products = products.filter(tags__name=tag.lower().lstrip("#"))
    for word in q.replace("\x00", "").split()[:MAX_QUERY_WORDS]:
        tagged = Product.tags.through.objects.filter(tag__name__icontains=word).values("product_id")
        products = products.filter(
            reduce(
                or_,
                [
                    Q(title__icontains=word),
                    Q(description__icontains=word),
                    Q(shop__name__icontains=word),
                    Q(id__in=tagged),
                ],
            )
        )
    return _with_listing_data(products).order_by(*SORTS.get(sort, SORTS["newest"]))


def _variants_in_order() -> QuerySet[Variant]:
    # With their shop: a variant's price is shown in the shop's currency, without a query per variant.
    return Variant.objects.select_related("shop").order_by("position", "id")


def get_product(*, product_id: int, viewer: Viewer = None) -> Product:
    product = (
        Product.objects.select_related("shop", "category")
        .prefetch_related("tags", "images", Prefetch("variants", queryset=_variants_in_order()))
        .filter(pk=product_id)
        .first()
    )
    if product is None or not _visible(product, viewer):
        raise ProductNotFound(_("No product %(id)s.") % {"id": product_id})
    return product


def get_product_by_slug(*, shop_slug: str, product_slug: str, viewer: Viewer = None) -> Product:
    product = (
        Product.objects.select_related("shop", "category")
        .prefetch_related("tags", "images", Prefetch("variants", queryset=_variants_in_order()))
        .filter(shop__slug=shop_slug, slug=product_slug)
        .first()
    )
    if product is None or not _visible(product, viewer):
        raise ProductNotFound(_("This product does not exist or is not published."))
    return product


def _visible(product: Product, viewer: Viewer) -> bool:
    if product.status == ProductStatus.PUBLISHED and product.shop.is_active:
        return True
    return can(viewer, product.shop, ShopAction.VIEW_DRAFTS)


def get_variant(*, variant_id: int, viewer: Viewer = None) -> Variant:
    variant = Variant.objects.select_related("shop", "product", "product__shop").filter(pk=variant_id).first()
    if variant is None or not _visible(variant.product, viewer):
        raise VariantNotFound(_("No variant %(id)s.") % {"id": variant_id})
    return variant


def related_products(product: Product, *, limit: int = 8) -> QuerySet[Product]:
    others = public_products().exclude(pk=product.pk)
    conditions = [Q(shop_id=product.shop_id)]
    if product.category_id:
        conditions.append(Q(category_id=product.category_id))
    return _with_listing_data(others.filter(reduce(or_, conditions))).order_by("-popularity", "-id")[:limit]


def stock_report(*, shop: Shop, viewer: Viewer, low: int = 5) -> QuerySet[Variant]:
    """Variants of a shop by ascending stock, for staff."""
    if not can(viewer, shop, ShopAction.VIEW_DRAFTS):
        return Variant.objects.none()
    return (
        Variant.objects.filter(shop=shop)
        .select_related("product")
        .annotate(is_low=ExpressionWrapper(Q(stock_quantity__lte=low), output_field=BooleanField()))
        .order_by("stock_quantity", "sku")
    )


def staff_products(*, shop: Shop, viewer: Viewer, status: str = "", q: str = "") -> QuerySet[Product]:
    """A shop's products, drafts included, for its staff: price range, total stock and photos in fixed queries.

    ``q`` matches words in the title only (the seller looks for a product they know).
    """
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    products = Product.objects.filter(shop=shop)
    if status in ProductStatus.values:
        products = products.filter(status=status)
    for word in q.replace("\x00", "").split()[:MAX_QUERY_WORDS]:
        products = products.filter(title__icontains=word)
    return (
        products.annotate(
            price_min=Min("variants__price"),
            price_max=Max("variants__price"),
            stock_total=Sum("variants__stock_quantity"),
            variant_count=Count("variants"),
        )
        .prefetch_related(
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"), to_attr="photo_list")
        )
        .order_by("-created_at", "-id")
    )


def shop_catalog_summary(*, shop: Shop, viewer: Viewer, low: int = 5) -> dict[str, int]:
    """Counts for a shop's dashboard: products by status, active variants out of stock or running low."""
    require(viewer, shop, ShopAction.VIEW_DRAFTS)
    counts = Product.objects.filter(shop=shop).aggregate(
        published=Count("id", filter=Q(status=ProductStatus.PUBLISHED)),
        draft=Count("id", filter=Q(status=ProductStatus.DRAFT)),
    )
    counts.update(
        Variant.objects.filter(shop=shop, is_active=True).aggregate(
            out_of_stock=Count("id", filter=Q(stock_quantity=0)),
            low_stock=Count("id", filter=Q(stock_quantity__gt=0, stock_quantity__lte=low)),
        )
    )
    return counts


__all__ = [
    "SORTS",
    "category_path",
    "category_tree",
    "descendant_ids",
    "get_category",
    "get_product",
    "get_product_by_slug",
    "get_variant",
    "public_products",
    "related_products",
    "search_products",
    "shop_catalog_summary",
    "staff_products",
    "stock_report",
]

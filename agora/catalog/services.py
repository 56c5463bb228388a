"""Writes for the catalog: products, their photos and variants, stock, categories."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import slugify
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.catalog.errors import (
    CannotPublish,
    CategoryNotFound,
    ProductInUse,
    ProductInvalid,
    ProductNotFound,
    ProductSlugTaken,
    SkuTaken,
)
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Tag, Variant
from agora.catalog.selectors import forget_category_tree
from agora.core.errors import PermissionDenied, ValidationFailed
from agora.core.images import clean_image, make_thumbnail
from agora.core.money import to_amount
from agora.core.text import clean_text, field_label
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import require

MAX_IMAGES = 10
MAX_VARIANTS = 100
MAX_TAGS = 20
MAX_STOCK = 1_000_000
MAX_WEIGHT_GRAMS = 1_000_000
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")

_UNSET: Any = object()


# --- checks ---------------------------------------------------------------------------
def _category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise CategoryNotFound(_("No category with id %(id)s.") % {"id": category_id}, field="category_id")
    return category


def _tags(names: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in names:
        name = clean_text(str(raw), field="tags", max_length=40).lstrip("#").lower()
        if name and name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ProductInvalid(_("A product has at most %(max)d tags.") % {"max": MAX_TAGS}, field="tags")
    return cleaned


def _whole(value: object, *, field: str, maximum: int) -> int:
    label = field_label(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed(_("%(field)s must be a whole number.") % {"field": label}, field=field)
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed(_("%(field)s must be a whole number.") % {"field": label}, field=field) from None
    if number < 0:
        raise ValidationFailed(_("%(field)s cannot be negative.") % {"field": label}, field=field)
    if number > maximum:
        raise ValidationFailed(
            _("%(field)s cannot exceed %(max)s.")
            % {"field": label, "max": number_format(maximum, force_grouping=True)},
            field=field,
        )
    return number


def _options(options: Mapping[str, Any] | None) -> dict[str, str]:
    if options is None:
        return {}
    if not isinstance(options, Mapping) or len(options) > 10:
        raise ProductInvalid(_("Options are up to 10 name/value pairs, such as size: M."), field="options")
    result: dict[str, str] = {}
    for key, value in options.items():
        k = clean_text(str(key), field="options", max_length=40, required=True).lower()
        result[k] = clean_text(str(value), field="options", max_length=80, required=True)
    return result


def _check_sku(sku: str) -> str:
    sku = clean_text(sku, field="sku", max_length=64, required=True)
    if not SKU_RE.match(sku):
        raise ProductInvalid(
            _("A SKU has up to 64 letters, digits, dots, dashes, slashes or underscores."), field="sku"
        )
    return sku


def _unique_product_slug(shop: Shop, title: str, exclude: int | None = None) -> str:
    base = slugify(title)[:70].strip("-") or "product"
    slug, n = base, 2
    existing = Product.objects.filter(shop=shop)
    if exclude:
        existing = existing.exclude(pk=exclude)
    while existing.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _set_tags(product: Product, names: list[str]) -> None:
    tags = []
    # Always in one order: two sellers adding the same new tags in different orders would otherwise deadlock.
    for name in sorted(names):
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    product.tags.set(tags)


# --- products -------------------------------------------------------------------------
def create_product(
    *,
    actor: User,
    shop: Shop,
    title: str,
    description: str = "",
    category_id: int | None = None,
    tags: Iterable[str] = (),
    slug: str = "",
    variants: Iterable[Mapping[str, Any]] = (),
) -> Product:
    """A new draft product, optionally with its variants, written all at once or not at all."""
    require(actor, shop, ShopAction.MANAGE_PRODUCTS)
    title = clean_text(title, field="title", max_length=200, required=True)
    description = clean_text(description, field="description", max_length=20000)
    category = _category(category_id)
    tag_names = _tags(tags)
    variant_specs = list(variants)
    if len(variant_specs) > MAX_VARIANTS:
        raise ProductInvalid(_("A product has at most %(max)d variants.") % {"max": MAX_VARIANTS}, field="variants")
    if slug:
        slug = clean_text(slug, field="slug", max_length=80).lower()
        if not SLUG_RE.match(slug):
            raise ProductInvalid(_("A slug has lowercase letters, digits and dashes."), field="slug")
        if Product.objects.filter(shop=shop, slug=slug).exists():
            raise ProductSlugTaken(_("The shop has a product with the slug '%(slug)s'.") % {"slug": slug}, field="slug")
    else:
        slug = _unique_product_slug(shop, title)
    try:
        with transaction.atomic():
            product = Product.objects.create(
                shop=shop, title=title, slug=slug, description=description, category=category
            )
            _set_tags(product, tag_names)
            for position, spec in enumerate(variant_specs):
                _create_variant(product, position=position, **spec)
    except IntegrityError:
        raise ProductSlugTaken(_("That slug was just taken. Choose another."), field="slug") from None
    return product


def update_product(
    *,
    actor: User,
    product: Product,
    title: str | None = None,
    description: str | None = None,
    category_id: int | None = _UNSET,
    tags: Iterable[str] | None = None,
    slug: str | None = None,
) -> Product:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    if title is not None:
        product.title = clean_text(title, field="title", max_length=200, required=True)
    if description is not None:
        product.description = clean_text(description, field="description", max_length=20000)
    if category_id is not _UNSET:
        product.category = _category(category_id)
    tag_names = _tags(tags) if tags is not None else None
    if slug is not None and slug != product.slug:
        slug = clean_text(slug, field="slug", max_length=80).lower()
        if not SLUG_RE.match(slug):
            raise ProductInvalid(_("A slug has lowercase letters, digits and dashes."), field="slug")
        if Product.objects.filter(shop=product.shop, slug=slug).exclude(pk=product.pk).exists():
            raise ProductSlugTaken(_("The shop has a product with the slug '%(slug)s'.") % {"slug": slug}, field="slug")
        product.slug = slug
    try:
        with transaction.atomic():
            product.save()
            if tag_names is not None:
                _set_tags(product, tag_names)
    except IntegrityError:
        raise ProductSlugTaken(_("That slug was just taken. Choose another."), field="slug") from None
    return product


def delete_product(*, actor: User, product: Product) -> None:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    images = list(product.images.all())  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise ProductInUse(
            _("%(title)s has team purchases on record, so it cannot be deleted. Unpublish it instead.")
            % {"title": product.title}
        ) from None

    def _cleanup() -> None:
        for image in images:
            _delete_files(image)

    transaction.on_commit(_cleanup)


def publish_product(*, actor: User, product: Product) -> Product:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    if not product.variants.filter(is_active=True).exists():  # type: ignore[attr-defined]
        raise CannotPublish(_("Add at least one variant with a price before publishing."))
    if not product.shop.is_active:
        raise CannotPublish(_("The shop is closed; reopen it before publishing products."))
    Product.objects.filter(pk=product.pk).update(
        status=ProductStatus.PUBLISHED, published_at=product.published_at or timezone.now(), updated_at=timezone.now()
    )
    product.refresh_from_db()
    return product


def unpublish_product(*, actor: User, product: Product) -> Product:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    Product.objects.filter(pk=product.pk).update(status=ProductStatus.DRAFT, updated_at=timezone.now())
    product.refresh_from_db()
    return product


def record_view(*, product: Product) -> None:
    Product.objects.filter(pk=product.pk).update(popularity=F("popularity") + 1)


# --- photos ---------------------------------------------------------------------------
def add_image(*, actor: User, product: Product, upload: object, alt: str = "") -> ProductImage:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    alt = clean_text(alt, field="alt", max_length=200)
    if product.images.count() >= MAX_IMAGES:  # type: ignore[attr-defined]
        raise ProductInvalid(
            _("A product has at most %(max)d photos. Remove one first.") % {"max": MAX_IMAGES}, field="image"
        )
    image = clean_image(upload, field="image")
    data = image.content.read()
    image.content.seek(0)
    # Files are written before the short transaction (slow work holds no lock); if the insert fails they go.
    photo = ProductImage(product=product, width=image.width, height=image.height, alt=alt)
    photo.image.save(image.content.name or "photo.jpg", image.content, save=False)
    small, medium = make_thumbnail(data, 240), make_thumbnail(data, 640)
    photo.thumbnail_small.save(small.name or "small.jpg", small, save=False)
    photo.thumbnail_medium.save(medium.name or "medium.jpg", medium, save=False)
    try:
        with transaction.atomic():
            # The product row lock makes the photo limit hold when two uploads race.
            Product.objects.select_for_update().filter(pk=product.pk).first()
            if product.images.count() >= MAX_IMAGES:  # type: ignore[attr-defined]
                raise ProductInvalid(
                    _("A product has at most %(max)d photos. Remove one first.") % {"max": MAX_IMAGES}, field="image"
                )
            photo.position = (product.images.aggregate(m=Max("position"))["m"] or 0) + 1  # type: ignore[attr-defined]
            photo.save()
    except Exception:
        _delete_files(photo)
        raise
    return photo


def _delete_files(photo: ProductImage) -> None:
    for f in (photo.image, photo.thumbnail_small, photo.thumbnail_medium):
        if f:
            f.storage.delete(f.name)


def remove_image(*, actor: User, product: Product, image_id: int) -> None:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    photo = product.images.filter(pk=image_id).first()  # type: ignore[attr-defined]
    if photo is None:
        raise ProductNotFound(_("This product has no such photo."))
    with transaction.atomic():
        photo.delete()
    transaction.on_commit(lambda: _delete_files(photo))


# --- variants -------------------------------------------------------------------------
def _create_variant(
    product: Product,
    *,
    sku: str,
    price: object,
    name: str = "",
    options: Mapping[str, Any] | None = None,
    stock_quantity: object = 0,
    weight_grams: object = 0,
    position: int | None = None,
) -> Variant:
    sku = _check_sku(sku)
    amount = to_amount(price, product.shop.currency)
    if Variant.objects.filter(shop=product.shop, sku__iexact=sku).exists():
        raise SkuTaken(_("The shop already has a variant with the SKU '%(sku)s'.") % {"sku": sku}, field="sku")
    if position is None:
        position = (product.variants.aggregate(m=Max("position"))["m"] or 0) + 1  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            return Variant.objects.create(
                product=product,
                shop=product.shop,
                sku=sku,
                name=clean_text(name, field="name", max_length=120),
                options=_options(options),
                price=amount,
                stock_quantity=_whole(stock_quantity, field="stock_quantity", maximum=MAX_STOCK),
                weight_grams=_whole(weight_grams, field="weight_grams", maximum=MAX_WEIGHT_GRAMS),
                position=position,
            )
    except IntegrityError:
        raise SkuTaken(_("The SKU '%(sku)s' was just taken. Choose another.") % {"sku": sku}, field="sku") from None


def add_variant(
    *,
    actor: User,
    product: Product,
    sku: str,
    price: object,
    name: str = "",
    options: Mapping[str, Any] | None = None,
    stock_quantity: object = 0,
    weight_grams: object = 0,
) -> Variant:
    require(actor, product.shop, ShopAction.MANAGE_PRODUCTS)
    if product.variants.count() >= MAX_VARIANTS:  # type: ignore[attr-defined]
        raise ProductInvalid(_("A product has at most %(max)d variants.") % {"max": MAX_VARIANTS}, field="variants")
    return _create_variant(
        product,
        sku=sku,
        price=price,
        name=name,
        options=options,
        stock_quantity=stock_quantity,
        weight_grams=weight_grams,
    )


def update_variant(
    *,
    actor: User,
    variant: Variant,
    sku: str | None = None,
    price: object = None,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
    stock_quantity: object = None,
    weight_grams: object = None,
    is_active: bool | None = None,
) -> Variant:
    require(actor, variant.shop, ShopAction.MANAGE_PRODUCTS)
    if sku is not None and sku != variant.sku:
        sku = _check_sku(sku)
        if Variant.objects.filter(shop=variant.shop, sku__iexact=sku).exclude(pk=variant.pk).exists():
            raise SkuTaken(_("The shop already has a variant with the SKU '%(sku)s'.") % {"sku": sku}, field="sku")
        variant.sku = sku
    if price is not None:
        variant.price = to_amount(price, variant.shop.currency)
    if name is not None:
        variant.name = clean_text(name, field="name", max_length=120)
    if options is not None:
        variant.options = _options(options)
    if weight_grams is not None:
        variant.weight_grams = _whole(weight_grams, field="weight_grams", maximum=MAX_WEIGHT_GRAMS)
    if is_active is not None:
        if not is_active and variant.is_active and variant.product.status == ProductStatus.PUBLISHED:
            # Switching off the last active variant would leave a published product nobody can buy.
            others = Variant.objects.filter(product_id=variant.product_id, is_active=True).exclude(pk=variant.pk)
            if not others.exists():
                raise CannotPublish(_("A published product keeps at least one variant. Unpublish it first."))
        variant.is_active = is_active
    count = _whole(stock_quantity, field="stock_quantity", maximum=MAX_STOCK) if stock_quantity is not None else None
    # Stock is not among the saved fields: a save must not overwrite a count that moved meanwhile.
    fields = ["sku", "price", "name", "options", "weight_grams", "is_active", "updated_at"]
    try:
        with transaction.atomic():
            variant.save(update_fields=fields)
            if count is not None:
                set_stock(actor=actor, variant=variant, quantity=count)
    except IntegrityError:
        raise SkuTaken(_("That SKU was just taken. Choose another."), field="sku") from None
    return variant


def delete_variant(*, actor: User, variant: Variant) -> None:
    require(actor, variant.shop, ShopAction.MANAGE_PRODUCTS)
    product = variant.product
    with transaction.atomic():
        others = Variant.objects.filter(product=product, is_active=True).exclude(pk=variant.pk)
        if product.status == ProductStatus.PUBLISHED and not others.exists():
            raise CannotPublish(_("A published product keeps at least one variant. Unpublish it first."))
        variant.delete()


# --- stock ----------------------------------------------------------------------------
def set_stock(*, actor: User, variant: Variant, quantity: object) -> Variant:
    """Set the counted stock of a variant (a stock-take). Sales move stock with ``adjust_stock``."""
    require(actor, variant.shop, ShopAction.MANAGE_PRODUCTS)
    count = _whole(quantity, field="stock_quantity", maximum=MAX_STOCK)
    Variant.objects.filter(pk=variant.pk).update(stock_quantity=count, updated_at=timezone.now())
    variant.stock_quantity = count
    return variant


def adjust_stock(*, variant_id: int, delta: int) -> bool:
    """Add or take ``delta`` units in one conditional update; False (and nothing changed) if too few remain."""
    rows = Variant.objects.filter(pk=variant_id)
    if delta < 0:
        rows = rows.filter(stock_quantity__gte=-delta)
    return rows.update(stock_quantity=F("stock_quantity") + delta) == 1


# --- categories -----------------------------------------------------------------------
def create_category(*, actor: User, name: str, slug: str = "", parent_id: int | None = None) -> Category:
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied(_("Only the operator's staff edit the category tree."))
    name = clean_text(name, field="name", max_length=80, required=True)
    slug = slugify(slug or name)[:80] or "category"
    if Category.objects.filter(slug=slug).exists():
        raise ProductSlugTaken(_("A category with the slug '%(slug)s' exists.") % {"slug": slug}, field="slug")
    parent = _category(parent_id)
    category = Category.objects.create(name=name, slug=slug, parent=parent)
    transaction.on_commit(forget_category_tree)
    return category

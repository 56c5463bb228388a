"""The operator's back office for the catalog: the category tree, tags, products and stock.

Changelists load their related rows with the page (``list_select_related``) and compute price and stock
in the same query (annotations), so a page costs the same number of queries whatever it shows. Publishing,
stock counts and deletions go through the catalog services as the signed-in operator, so the back office
keeps the rules the shops keep (a published product keeps a variant, prices have the currency's decimals).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agora.catalog import services
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Tag, Variant
from agora.catalog.selectors import forget_category_tree
from agora.core.errors import DomainError
from agora.core.money import format_money, to_amount
from agora.shops.models import Shop

LOW_STOCK = 5


# --- shared checks --------------------------------------------------------------------
def _clean_sku(sku: str, *, shop: Shop | None, exclude_pk: int | None) -> str:
    sku = (sku or "").strip()
    if not services.SKU_RE.match(sku):
        raise forms.ValidationError(_("A SKU has up to 64 letters, digits, dots, dashes, slashes or underscores."))
    if shop is not None:
        # Unique per shop in any letter case, like the services check (the database index is exact).
        taken = Variant.objects.filter(shop=shop, sku__iexact=sku)
        if exclude_pk:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            raise forms.ValidationError(_("The shop already has a variant with the SKU '%(sku)s'.") % {"sku": sku})
    return sku


def _clean_price(price: Any, *, shop: Shop | None) -> Any:
    if shop is None or price is None:
        return price
    try:
        return to_amount(price, shop.currency)
    except DomainError as exc:
        raise forms.ValidationError(exc.message) from None


# --- categories and tags ---------------------------------------------------------------
class CategoryAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Category
        fields = ("name", "slug", "parent", "description", "position")

    def clean_parent(self) -> Category | None:
        parent: Category | None = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk:
            parents = dict(Category.objects.values_list("id", "parent_id"))
            node: int | None = parent.pk
            for _step in range(len(parents) + 1):
                if node is None:
                    break
                if node == self.instance.pk:
                    raise forms.ValidationError(_("A category cannot be placed inside itself or its subcategories."))
                node = parents.get(node)
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CategoryAdminForm
    list_display = ("name", "slug", "parent", "position", "product_count")
    list_filter = (("parent", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("parent",)
    search_fields = ("name", "slug", "parent__name")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    ordering = ("parent__position", "parent__name", "position", "name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(product_count=Count("products", distinct=True))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj: Category) -> int:
        return obj.product_count  # type: ignore[attr-defined,no-any-return]

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        forget_category_tree()

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        super().delete_model(request, obj)
        forget_category_tree()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        super().delete_queryset(request, queryset)
        forget_category_tree()


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "product_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(product_count=Count("products", distinct=True))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj: Tag) -> int:
        return obj.product_count  # type: ignore[attr-defined,no-any-return]


# --- products -------------------------------------------------------------------------
class VariantInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Checks SKUs and prices against the product's shop, and gives new variants that shop."""

    def clean(self) -> None:
        super().clean()
        product: Product = self.instance
        shop = product.shop if product.shop_id else None
        seen: set[str] = set()
        kept = 0
        for form in self.forms:
            if not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            if form.cleaned_data.get("is_active", True):
                kept += 1
            try:
                sku = _clean_sku(form.cleaned_data.get("sku", ""), shop=shop, exclude_pk=form.instance.pk)
                if sku.lower() in seen:
                    raise forms.ValidationError(_("This SKU appears twice."))
                seen.add(sku.lower())
                form.cleaned_data["sku"] = sku
            except forms.ValidationError as exc:
                form.add_error("sku", exc)
            try:
                form.cleaned_data["price"] = _clean_price(form.cleaned_data.get("price"), shop=shop)
            except forms.ValidationError as exc:
                form.add_error("price", exc)
            if shop is not None:
                form.instance.shop = shop
        if product.pk and product.status == ProductStatus.PUBLISHED and kept == 0:
            raise forms.ValidationError(_("A published product keeps at least one active variant. Unpublish it first."))


class VariantInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Variant
    formset = VariantInlineFormSet
    fields = ("sku", "name", "options", "price", "stock_quantity", "weight_grams", "is_active", "position")
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return super().get_queryset(request).select_related("product")  # each row's title names its product


class ProductImageInline(admin.TabularInline):  # type: ignore[type-arg]
    """Photos with a preview. New photos come through the site or the API, which make the thumbnails."""

    model = ProductImage
    fields = ("preview", "alt", "position", "width", "height")
    readonly_fields = ("preview", "width", "height")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProductImage]:
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("photo"))
    def preview(self, obj: ProductImage) -> str:
        if not obj.thumbnail_small:
            return "—"
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" width="96" style="height:auto"></a>',
            obj.image.url,
            obj.thumbnail_small.url,
            obj.alt,
        )


class ProductAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Product
        fields = ("shop", "title", "slug", "description", "category", "tags")

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if not services.SLUG_RE.match(slug):
            raise forms.ValidationError(_("A slug has lowercase letters, digits and dashes."))
        return slug

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        shop = data.get("shop") or (self.instance.shop if self.instance.shop_id else None)
        slug = data.get("slug")
        # shop is read-only when editing, so Django's own check of (shop, slug) would skip it.
        taken = Product.objects.filter(shop=shop, slug=slug).exclude(pk=self.instance.pk)
        if shop is not None and slug and taken.exists():
            self.add_error("slug", _("The shop has a product with this slug."))
        return data


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ProductAdminForm
    list_display = ("title", "shop", "status", "category", "price_from", "total_stock", "popularity", "published_at")
    list_filter = ("status", "shop", "category")
    list_select_related = ("shop", "category")
    date_hierarchy = "published_at"
    search_fields = ("title", "description", "shop__name", "variants__sku")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("shop", "category", "tags")
    readonly_fields = ("status", "published_at", "popularity", "created_at", "updated_at")
    inlines = (VariantInline, ProductImageInline)
    actions = ("publish", "unpublish")
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        fields: tuple[str, ...] = tuple(self.readonly_fields)
        # The variants' SKUs are unique per shop: moving a product between shops is not an edit.
        return (*fields, "shop") if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        active = Q(variants__is_active=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                price_min=Min("variants__price", filter=active),
                stock_total=Sum("variants__stock_quantity", filter=active),
            )
        )

    @admin.display(description=_("price from"), ordering="price_min")
    def price_from(self, obj: Product) -> str:
        return format_money(obj.price_min, obj.shop.currency) or "—"  # type: ignore[attr-defined]

    @admin.display(description=_("stock"), ordering="stock_total")
    def total_stock(self, obj: Product) -> int:
        return obj.stock_total or 0  # type: ignore[attr-defined]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        product: Product = form.instance
        for obj in formset.deleted_objects:
            # Through the services: a photo's files go with it, a published product keeps a variant.
            try:
                if isinstance(obj, ProductImage):
                    services.remove_image(actor=request.user, product=product, image_id=obj.pk)  # type: ignore[arg-type]
                elif isinstance(obj, Variant):
                    services.delete_variant(actor=request.user, variant=obj)  # type: ignore[arg-type]
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        for obj in instances:
            obj.save()
        formset.save_m2m()

    def _each(self, request: HttpRequest, queryset: QuerySet[Product], publish: bool) -> None:
        done, failed = 0, []
        for product in queryset.select_related("shop"):
            try:
                if publish:
                    services.publish_product(actor=request.user, product=product)  # type: ignore[arg-type]
                else:
                    services.unpublish_product(actor=request.user, product=product)  # type: ignore[arg-type]
                done += 1
            except DomainError as exc:
                failed.append(f"{product.title}: {exc.message}")
        if done:
            message = (
                ngettext("%(count)d product published.", "%(count)d products published.", done)
                if publish
                else ngettext("%(count)d product unpublished.", "%(count)d products unpublished.", done)
            )
            self.message_user(request, message % {"count": done}, messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Publish the selected products"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._each(request, queryset, publish=True)

    @admin.action(description=_("Unpublish the selected products"), permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._each(request, queryset, publish=False)


# --- stock ----------------------------------------------------------------------------
class StockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("in", _("In stock")),
            ("low", _("Low stock (%(n)d or fewer)") % {"n": LOW_STOCK}),
            ("out", _("Sold out")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Variant]) -> QuerySet[Variant]:
        if self.value() == "in":
            return queryset.filter(stock_quantity__gt=0)
        if self.value() == "low":
            return queryset.filter(stock_quantity__gt=0, stock_quantity__lte=LOW_STOCK)
        if self.value() == "out":
            return queryset.filter(stock_quantity=0)
        return queryset


class VariantAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Variant
        fields = ("sku", "name", "options", "price", "stock_quantity", "weight_grams", "is_active")

    def clean_sku(self) -> str:
        shop = self.instance.shop if self.instance.shop_id else None
        return _clean_sku(self.cleaned_data["sku"], shop=shop, exclude_pk=self.instance.pk)

    def clean_price(self) -> Any:
        shop = self.instance.shop if self.instance.shop_id else None
        return _clean_price(self.cleaned_data["price"], shop=shop)

    def clean_options(self) -> Any:
        options = self.cleaned_data.get("options")
        if options in (None, ""):
            return {}
        if not isinstance(options, dict) or len(options) > 10:
            raise forms.ValidationError(_('Options are up to 10 name/value pairs, such as {"size": "M"}.'))
        return options


class StockCountForm(forms.ModelForm):  # type: ignore[type-arg]
    """The one column editable in the stock list."""

    stock_quantity = forms.IntegerField(min_value=0, max_value=services.MAX_STOCK, label=_("stock"))

    class Meta:
        model = Variant
        fields = ("stock_quantity",)


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The stock view: every variant with its stock, which can be counted and corrected in the list."""

    form = VariantAdminForm
    list_display = ("sku", "product", "shop", "price_display", "stock_quantity", "weight_grams", "is_active")
    list_display_links = ("sku",)
    list_editable = ("stock_quantity",)
    list_filter = ("shop", StockFilter, "is_active")
    list_select_related = ("product", "shop")
    search_fields = ("sku", "product__title")
    readonly_fields = ("product", "shop", "created_at", "updated_at")
    ordering = ("stock_quantity", "sku")
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # variants are added on their product's page

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:  # type: ignore[type-arg]
        return StockCountForm

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, obj: Variant) -> str:
        return format_money(obj.price, obj.shop.currency)

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        if not change:  # pragma: no cover - adding is disabled
            super().save_model(request, obj, form, change)
            return
        current = Variant.objects.select_related("shop", "product").get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_variant(actor=request.user, variant=current, **changes)  # type: ignore[arg-type]
        except DomainError as exc:
            self.message_user(request, f"{current.sku}: {exc.message}", messages.ERROR)

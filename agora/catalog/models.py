from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.shops.models import Shop


class Category(models.Model):
    """A node of the platform-wide category tree (the operator keeps it in the admin)."""

    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80)
    description = models.TextField(_("description"), max_length=20000, blank=True)
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="products")
    tags = models.ManyToManyField(Tag, blank=True, related_name="products")
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Page views for now; later issues add purchases and engagement to this score.
    popularity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["shop", "slug"], name="product_slug_unique_per_shop")]
        indexes = [
            models.Index(fields=["status", "-published_at"]),
            models.Index(fields=["status", "-popularity"]),
            models.Index(fields=["shop", "status"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == ProductStatus.PUBLISHED

    @property
    def currency(self) -> str:
        return self.shop.currency


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/")
    thumbnail_small = models.ImageField(upload_to="products/thumbs/%Y/%m/")
    thumbnail_medium = models.ImageField(upload_to="products/thumbs/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"


class Variant(models.Model):
    """A buyable version of a product (a size, a colour): its own SKU, price, stock and weight."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    # Copied from the product so that a SKU can be unique per shop in the database itself.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=120, blank=True)
    options = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=3)
    stock_quantity = models.PositiveIntegerField(_("stock"), default=0)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            # Case-insensitive, like the services' check: "ab-1" and "AB-1" are one SKU, even when added at once.
            models.UniqueConstraint(F("shop"), Lower("sku"), name="variant_sku_ci_unique_per_shop"),
            models.CheckConstraint(condition=Q(price__gte=Decimal("0")), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product} · {self.name or self.sku}"

    @property
    def currency(self) -> str:
        return self.shop.currency

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from agora.catalog.models import Category, Product, ProductStatus, Variant
from agora.shops.tests.factories import ShopFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine thing."
    status = ProductStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    shop = factory.LazyAttribute(lambda o: o.product.shop)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = "Default"
    price = Decimal("19.90")
    stock_quantity = 10
    weight_grams = 250


def published_product(**kwargs):  # type: ignore[no-untyped-def]
    """A published product with one variant in stock."""
    variant_kwargs = {k[len("variant__") :]: kwargs.pop(k) for k in list(kwargs) if k.startswith("variant__")}
    product = ProductFactory(**kwargs)
    VariantFactory(product=product, **variant_kwargs)
    return product

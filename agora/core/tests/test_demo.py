"""`manage.py demo`: realistic data through the services, deterministic, and safe to run on every start."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from agora.accounts.models import User
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Variant
from agora.catalog.selectors import search_products
from agora.core.demo.images import render
from agora.core.demo.plan import build_plan
from agora.core.money import CURRENCIES
from agora.shops.models import Membership, Role, Shop

pytestmark = pytest.mark.django_db


def _demo(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("demo", stdout=out, stderr=err, **{"products": 20, "users": 6, "seed": 1, **options})
    return out.getvalue(), err.getvalue()


def test_demo_loads_shops_products_photos_and_people():
    out, err = _demo()

    assert Shop.objects.count() >= 8
    assert len(set(Shop.objects.values_list("currency", flat=True))) >= 7
    assert len(set(Shop.objects.values_list("country", flat=True))) >= 8
    assert Product.objects.count() == 20
    assert User.objects.filter(is_superuser=False).count() == 6
    assert Category.objects.filter(parent=None).count() >= 8
    assert Category.objects.exclude(parent=None).count() >= 16
    # every shop has an owner, and staff joined with roles
    for shop in Shop.objects.all():
        assert Membership.objects.filter(shop=shop, role=Role.OWNER).exists(), shop
    assert "products 20/20" in err
    assert "Demo data loaded in" in out and "demo / agora-demo" in out and "admin / agora-admin" in out


def test_demo_products_have_variants_photos_on_disk_and_valid_prices():
    _demo()

    for product in Product.objects.select_related("shop").prefetch_related("variants", "images"):
        variants = list(product.variants.all())
        assert 1 <= len(variants) <= 6, product
        exponent = CURRENCIES[product.shop.currency][0]
        for variant in variants:
            assert variant.shop_id == product.shop_id
            assert variant.price > 0
            assert variant.price == variant.price.quantize(Decimal(1).scaleb(-exponent)), variant.price
            assert 0 <= variant.stock_quantity <= 50
            assert variant.weight_grams > 0
        photos = list(product.images.all())
        assert 1 <= len(photos) <= 3, product
        for photo in photos:
            for field in (photo.image, photo.thumbnail_small, photo.thumbnail_medium):
                assert field.storage.exists(field.name), field.name
        assert product.description and product.category_id and product.tags.exists()
    skus = list(Variant.objects.values_list("shop_id", "sku"))
    assert len(skus) == len(set(skus))
    for currency in ("JPY", "KRW"):  # whole yen and won
        prices = Variant.objects.filter(shop__currency=currency).values_list("price", flat=True)
        assert prices and all(price == price.to_integral_value() for price in prices)


def test_published_demo_products_are_searchable_and_drafts_are_not():
    _demo(products=40)
    published = Product.objects.filter(status=ProductStatus.PUBLISHED)
    drafts = Product.objects.filter(status=ProductStatus.DRAFT)

    assert published.count() > drafts.count() > 0
    for product in published[:10]:
        assert product in search_products(q=product.title)
    for product in drafts:
        assert product not in search_products(q=product.title)
    assert len(set(published.values_list("popularity", flat=True))) > 5


def test_demo_accounts_sign_in_with_the_printed_passwords():
    _demo(users=8)

    demo = User.objects.get(username="demo")
    admin = User.objects.get(username="admin")
    assert demo.check_password("agora-demo") and not demo.is_staff
    assert admin.check_password("agora-admin") and admin.is_superuser and admin.is_staff
    first_shop = Membership.objects.get(user=demo, role=Role.OWNER).shop
    assert first_shop.name == "Dzija Knitwear"
    others = User.objects.exclude(username__in=["demo", "admin"])
    assert all(u.check_password("agora-demo") for u in others)
    assert all(u.display_name for u in others)
    assert User.objects.exclude(avatar="").exists()


def test_a_second_run_with_if_empty_creates_nothing():
    _demo()
    counts = [m.objects.count() for m in (User, Shop, Product, Variant, ProductImage, Category)]

    out, _ = _demo(if_empty=True)

    assert out.strip() == "demo data already loaded"
    assert [m.objects.count() for m in (User, Shop, Product, Variant, ProductImage, Category)] == counts


def test_if_empty_also_skips_a_database_that_already_has_shops():
    from agora.shops.tests.factories import ShopFactory

    ShopFactory()

    out, _ = _demo(if_empty=True)

    assert "already loaded" in out
    assert Product.objects.count() == 0


def test_a_second_run_without_if_empty_is_refused():
    _demo()

    with pytest.raises(CommandError, match="already loaded"):
        _demo()

    assert Product.objects.count() == 20


def test_the_same_seed_gives_the_same_data():
    _demo()
    first = list(Product.objects.order_by("title").values_list("title", "shop__slug", "description"))
    prices = sorted(map(str, Variant.objects.values_list("price", flat=True)))
    # Orders and the ledger protect the shops they record (money records never vanish with a shop): them first.
    from django.apps import apps

    for label in ("groupbuy.TeamMember", "groupbuy.Team", "orders.Order", "ledger.LedgerTransaction"):
        apps.get_model(label).objects.all().delete()
    Shop.objects.all().delete()
    User.objects.all().delete()

    _demo()

    assert list(Product.objects.order_by("title").values_list("title", "shop__slug", "description")) == first
    assert sorted(map(str, Variant.objects.values_list("price", flat=True))) == prices


def test_plans_are_deterministic_and_seeds_differ():
    one = build_plan(seed=7, products=60, users=12)
    again = build_plan(seed=7, products=60, users=12)
    other = build_plan(seed=8, products=60, users=12)

    assert [p.title for p in one.products] == [p.title for p in again.products]
    assert one.products == again.products and one.users == again.users
    assert [p.title for p in one.products] != [p.title for p in other.products]
    assert render(one.products[0].photos[0]) == render(again.products[0].photos[0])


def test_plan_titles_are_varied_and_not_lorem_ipsum():
    plan = build_plan(seed=42, products=300, users=50)
    titles = [p.title for p in plan.products]

    assert len(set(titles)) >= 290
    assert len({t.split()[-1] for t in titles}) > 30
    assert not any("lorem" in (p.title + p.description).lower() for p in plan.products)
    assert all(p.description.count(".") >= 2 for p in plan.products)
    assert len({p.shop for p in plan.products}) == len(plan.shops) >= 8


def test_demo_pictures_are_real_jpegs():
    spec = build_plan(seed=1, products=1, users=1).products[0].photos[0]

    with Image.open(io.BytesIO(render(spec))) as img:
        assert img.format == "JPEG" and img.size == spec.size


def test_bad_counts_are_refused():
    with pytest.raises(CommandError):
        _demo(users=0)
    with pytest.raises(CommandError):
        _demo(products=-1)
    assert not Shop.objects.exists()

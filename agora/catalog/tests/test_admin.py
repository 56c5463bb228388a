"""The back office for the catalog: pages load, search and filters work, actions go through the services,
and a changelist costs the same number of queries whatever it shows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from agora.catalog import services
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Variant
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.core.tests.adminform import form_data, listed, queries
from agora.shops.tests.factories import shop_with_owner

pytestmark = pytest.mark.django_db


def _catalog(count, image_bytes, *, currency="EUR"):
    """``count`` shops, each with a published product (two variants, a photo, a category, tags)."""
    parent = CategoryFactory()
    products = []
    for _ in range(count):
        shop, owner = shop_with_owner(currency=currency)
        product = services.create_product(
            actor=owner,
            shop=shop,
            title="Wool scarf",
            category_id=CategoryFactory(parent=parent).pk,
            tags=["wool", "winter"],
            variants=[
                {"sku": "SC-RED", "price": "25.50", "stock_quantity": 3},
                {"sku": "SC-BLUE", "price": "19.90", "stock_quantity": 0},
            ],
        )
        services.add_image(actor=owner, product=product, upload=ContentFile(image_bytes(), name="a.jpg"), alt="front")
        services.publish_product(actor=owner, product=product)
        products.append(product)
    return products


# --- pages load -----------------------------------------------------------------------
@pytest.mark.parametrize("model", ["category", "tag", "product", "variant"])
def test_changelist_and_change_page_load_with_data(admin_client, image_bytes, model):
    product = _catalog(2, image_bytes)[0]
    obj = {
        "category": product.category,
        "tag": product.tags.first(),
        "product": product,
        "variant": product.variants.first(),
    }[model]

    assert admin_client.get(reverse(f"admin:catalog_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:catalog_{model}_change", args=[obj.pk])).status_code == 200


def test_product_changelist_shows_price_from_and_total_stock_in_the_shop_currency(admin_client):
    product = published_product(shop__currency="JPY", variant__price=Decimal("1200"), variant__stock_quantity=4)
    VariantFactory(product=product, price=Decimal("990"), stock_quantity=6)
    VariantFactory(product=product, price=Decimal("10"), stock_quantity=100, is_active=False)

    html = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()

    assert "¥990" in html  # the cheapest active variant, whole yen
    assert '<td class="field-total_stock">10</td>' in html  # inactive variants do not count


def test_product_change_page_shows_variants_and_photo_thumbnails(admin_client, image_bytes):
    product = _catalog(1, image_bytes)[0]
    photo = product.images.get()

    html = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()

    assert "SC-RED" in html and "SC-BLUE" in html
    assert photo.thumbnail_small.url in html


# --- search and filters -----------------------------------------------------------------


def test_product_search_by_title_description_shop_name_and_variant_sku(admin_client):
    scarf = published_product(title="Wool scarf", shop__name="Riga Knits", variant__sku="RK-1")
    mug = published_product(title="Mug", description="Speckled stoneware", shop__name="Kyiv Clay", variant__sku="KC-9")
    url = reverse("admin:catalog_product_changelist")

    assert listed(admin_client, url + "?q=scarf") == {scarf.pk}
    assert listed(admin_client, url + "?q=stoneware") == {mug.pk}
    assert listed(admin_client, url + "?q=riga") == {scarf.pk}
    assert listed(admin_client, url + "?q=kc-9") == {mug.pk}


def test_product_filters_by_status_shop_and_category(admin_client):
    category = CategoryFactory()
    live = published_product(category=category)
    draft = ProductFactory(status=ProductStatus.DRAFT, published_at=None)
    url = reverse("admin:catalog_product_changelist")

    assert listed(admin_client, url + "?status__exact=draft") == {draft.pk}
    assert listed(admin_client, url + "?status__exact=published") == {live.pk}
    assert listed(admin_client, url + f"?shop__id__exact={draft.shop_id}") == {draft.pk}
    assert listed(admin_client, url + f"?category__id__exact={category.pk}") == {live.pk}
    year = live.published_at.year
    assert listed(admin_client, url + f"?published_at__year={year}") == {live.pk}


def test_stock_filter_separates_in_stock_low_stock_and_sold_out(admin_client):
    product = ProductFactory()
    plenty = VariantFactory(product=product, stock_quantity=50)
    low = VariantFactory(product=product, stock_quantity=5)
    last = VariantFactory(product=product, stock_quantity=1)
    sold_out = VariantFactory(product=product, stock_quantity=0)
    url = reverse("admin:catalog_variant_changelist")

    assert listed(admin_client, url + "?stock=in") == {plenty.pk, low.pk, last.pk}
    assert listed(admin_client, url + "?stock=low") == {low.pk, last.pk}
    assert listed(admin_client, url + "?stock=out") == {sold_out.pk}
    assert listed(admin_client, url) == {plenty.pk, low.pk, last.pk, sold_out.pk}


def test_variant_search_by_sku_and_product_title_and_filter_by_shop(admin_client):
    scarf = published_product(title="Wool scarf", variant__sku="SC-1")
    mug = published_product(title="Mug", variant__sku="MG-1")
    url = reverse("admin:catalog_variant_changelist")

    assert listed(admin_client, url + "?q=sc-1") == {scarf.variants.get().pk}
    assert listed(admin_client, url + "?q=mug") == {mug.variants.get().pk}
    assert listed(admin_client, url + f"?shop__id__exact={mug.shop_id}") == {mug.variants.get().pk}


def test_category_search_and_parent_shown(admin_client):
    top = CategoryFactory(name="Food & drink")
    coffee = CategoryFactory(name="Coffee", parent=top)
    url = reverse("admin:catalog_category_changelist")

    assert listed(admin_client, url + "?q=coffee") == {coffee.pk}
    html = admin_client.get(url + "?q=coffee").content.decode()
    assert "Food &amp; drink" in html


# --- no N+1 ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url_name", ["catalog_product_changelist", "catalog_variant_changelist", "catalog_category_changelist"]
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, image_bytes, url_name):
    url = reverse(f"admin:{url_name}")
    _catalog(2, image_bytes)
    few = queries(admin_client, url)

    _catalog(10, image_bytes)
    many = queries(admin_client, url)

    assert many == few


def test_product_change_page_queries_do_not_grow_with_variants_and_photos(admin_client, image_bytes):
    product = _catalog(1, image_bytes)[0]
    url = reverse("admin:catalog_product_change", args=[product.pk])
    few = queries(admin_client, url)
    owner = product.shop.memberships.get().user
    for i in range(6):
        services.add_variant(actor=owner, product=product, sku=f"EXTRA-{i}", price="5.00")
        services.add_image(actor=owner, product=product, upload=ContentFile(image_bytes(), name="b.jpg"))

    assert queries(admin_client, url) == few


# --- actions go through the services ---------------------------------------------------
def test_publish_action_publishes_drafts_with_a_variant_and_reports_the_others(admin_client):
    ready = ProductFactory(status=ProductStatus.DRAFT, published_at=None)
    VariantFactory(product=ready)
    empty = ProductFactory(status=ProductStatus.DRAFT, published_at=None)

    response = admin_client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "publish", "_selected_action": [ready.pk, empty.pk]},
        follow=True,
    )

    ready.refresh_from_db()
    empty.refresh_from_db()
    assert ready.status == ProductStatus.PUBLISHED and ready.published_at is not None
    assert empty.status == ProductStatus.DRAFT
    texts = [str(m) for m in response.context["messages"]]
    assert "1 product published." in texts
    assert any("at least one variant" in t for t in texts)


def test_unpublish_action(admin_client):
    product = published_product()

    admin_client.post(
        reverse("admin:catalog_product_changelist"), {"action": "unpublish", "_selected_action": [product.pk]}
    )

    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT


def test_publish_action_by_staff_without_shop_rights_changes_nothing(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "x-long-password", is_staff=True)
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product"]))
    client.force_login(clerk)
    draft = ProductFactory(status=ProductStatus.DRAFT, published_at=None)
    VariantFactory(product=draft)

    client.post(reverse("admin:catalog_product_changelist"), {"action": "publish", "_selected_action": [draft.pk]})

    draft.refresh_from_db()
    assert draft.status == ProductStatus.DRAFT  # the service's shop permission check said no


# --- editing keeps the catalog's rules ---------------------------------------------------
def test_stock_is_editable_in_the_variant_list(admin_client):
    variant = VariantFactory(stock_quantity=3)
    url = reverse("admin:catalog_variant_changelist")
    data = form_data(admin_client.get(url).content, "changelist-form")
    data["form-0-stock_quantity"] = "12"
    data["_save"] = "Save"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.stock_quantity == 12


def test_negative_stock_is_refused_in_the_variant_list(admin_client):
    variant = VariantFactory(stock_quantity=3)
    url = reverse("admin:catalog_variant_changelist")
    data = form_data(admin_client.get(url).content, "changelist-form")
    data["form-0-stock_quantity"] = "-1"
    data["_save"] = "Save"

    response = admin_client.post(url, data)

    assert response.status_code == 200  # the list comes back with the error
    variant.refresh_from_db()
    assert variant.stock_quantity == 3


def test_variant_price_needs_the_currency_decimals(admin_client):
    variant = published_product(shop__currency="JPY", variant__price=Decimal("1200")).variants.get()
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    data = form_data(admin_client.get(url).content, "variant_form")
    data["price"] = "1200.5"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "JPY amounts have at most 0 decimal places." in response.content.decode()
    variant.refresh_from_db()
    assert variant.price == Decimal("1200")


def test_variant_sku_stays_unique_per_shop_in_any_case(admin_client):
    product = published_product(variant__sku="SC-1")
    other = VariantFactory(product=product, sku="SC-2")
    url = reverse("admin:catalog_variant_change", args=[other.pk])
    data = form_data(admin_client.get(url).content, "variant_form")
    data["sku"] = "sc-1"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    other.refresh_from_db()
    assert other.sku == "SC-2"


def _product_form(client, product):
    url = reverse("admin:catalog_product_change", args=[product.pk])
    return url, form_data(client.get(url).content, "product_form")


def test_adding_a_variant_inline_gives_it_the_shop_and_checks_sku_and_price(admin_client):
    product = published_product(shop__currency="KWD", variant__sku="TEA-1", variant__price=Decimal("1.250"))
    url, data = _product_form(admin_client, product)
    data.update(
        {
            "variants-TOTAL_FORMS": "2",
            "variants-1-sku": "tea-1",
            "variants-1-price": "2.5005",
            "variants-1-stock_quantity": "1",
            "variants-1-weight_grams": "0",
            "variants-1-position": "1",
            "variants-1-is_active": "on",
            "variants-1-options": "{}",
        }
    )

    refused = admin_client.post(url, data)

    assert refused.status_code == 200
    assert product.variants.count() == 1
    data.update({"variants-1-sku": "TEA-2", "variants-1-price": "2.500"})
    assert admin_client.post(url, data).status_code == 302
    added = product.variants.get(sku="TEA-2")
    assert added.shop_id == product.shop_id and added.price == Decimal("2.500")


def test_deleting_the_last_variant_of_a_published_product_is_refused(admin_client):
    product = published_product()
    url, data = _product_form(admin_client, product)
    data["variants-0-DELETE"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert product.variants.count() == 1


def test_deleting_a_photo_inline_removes_its_files(admin_client, image_bytes, django_capture_on_commit_callbacks):
    product = _catalog(1, image_bytes)[0]
    photo = product.images.get()
    storage, names = photo.image.storage, [photo.image.name, photo.thumbnail_small.name, photo.thumbnail_medium.name]
    url, data = _product_form(admin_client, product)
    data["images-0-DELETE"] = "on"

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)

    assert response.status_code == 302
    assert not ProductImage.objects.filter(pk=photo.pk).exists()
    assert not any(storage.exists(name) for name in names)


def test_product_status_is_not_editable_in_the_form(admin_client):
    product = ProductFactory(status=ProductStatus.DRAFT, published_at=None)
    url, data = _product_form(admin_client, product)
    data["status"] = ProductStatus.PUBLISHED

    admin_client.post(url, data)

    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT  # publishing goes through the action and its checks


def test_a_category_cannot_move_inside_its_own_subtree(admin_client):
    top = CategoryFactory()
    child = CategoryFactory(parent=top)
    url = reverse("admin:catalog_category_change", args=[top.pk])
    data = form_data(admin_client.get(url).content, "category_form")
    data["parent"] = str(child.pk)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    top.refresh_from_db()
    assert top.parent_id is None


def test_saving_a_category_refreshes_the_cached_tree(admin_client):
    from agora.catalog.selectors import category_tree

    top = CategoryFactory(name="Food")
    assert [c.name for c in category_tree()] == ["Food"]
    url = reverse("admin:catalog_category_change", args=[top.pk])
    data = form_data(admin_client.get(url).content, "category_form")
    data["name"] = "Food & drink"

    admin_client.post(url, data)

    assert [c.name for c in category_tree()] == ["Food & drink"]
    assert Category.objects.get().name == "Food & drink"


def test_variant_admin_cannot_add_variants_without_a_product(admin_client):
    assert admin_client.get(reverse("admin:catalog_variant_add")).status_code == 403
    assert Variant.objects.count() == 0
    assert Product.objects.count() == 0

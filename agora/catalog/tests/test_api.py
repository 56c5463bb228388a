"""The catalog over the API: products, variants, photos, stock, categories, search."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Category, Product, ProductImage, ProductStatus, Tag, Variant
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner

pytestmark = pytest.mark.django_db

SCARF = {
    "title": "Wool scarf",
    "description": "Warm and soft.",
    "tags": ["winter", "#Wool"],
    "variants": [
        {"sku": "SC-RED", "price": "25.50", "options": {"colour": "red"}, "stock_quantity": 3, "weight_grams": 120},
        {"sku": "SC-BLUE", "price": 24, "options": {"colour": "blue"}},
    ],
}


def photo(image_bytes, name="p.jpg", **kwargs):
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")


# --- a seller's whole flow -----------------------------------------------------------
def test_create_upload_publish_and_find_a_product(api, api_as, image_bytes):
    shop, owner = shop_with_owner(name="Riga Knits", currency="EUR")
    category = CategoryFactory(name="Scarves")
    seller = api_as(owner)

    created = seller.call("POST", f"shops/{shop.slug}/products", {**SCARF, "category_id": category.pk})
    assert created.status_code == 201, created.json()
    product = created.json()
    assert product["status"] == "draft"
    assert product["tags"] == ["winter", "wool"]
    assert [(v["sku"], v["price"], v["currency"]) for v in product["variants"]] == [
        ("SC-RED", "25.50", "EUR"),
        ("SC-BLUE", "24.00", "EUR"),
    ]
    assert product["price_from"] == "24.00"
    assert product["category"]["slug"] == category.slug
    assert api.call("GET", f"products/{product['id']}").status_code == 404  # a draft
    assert api.call("GET", "products", {"q": "scarf"}).json()["count"] == 0

    uploaded = seller.call(
        "POST", f"products/{product['id']}/images", {"image": photo(image_bytes), "alt": "Red scarf"}, multipart=True
    )
    assert uploaded.status_code == 201, uploaded.json()
    assert uploaded.json()["alt"] == "Red scarf"
    published = seller.call("POST", f"products/{product['id']}/publish")
    assert published.json()["status"] == "published"

    public = api.call("GET", f"products/{product['id']}").json()
    assert public["photo"]["thumbnail_small"].startswith("http://testserver/media/products/thumbs/")
    assert [v["stock_quantity"] for v in public["variants"]] == [None, None]  # staff only
    assert [v["in_stock"] for v in public["variants"]] == [True, False]
    found = api.call("GET", "products", {"q": "riga WOOL", "category": category.slug}).json()
    assert [p["id"] for p in found["items"]] == [product["id"]]
    assert found["items"][0]["price_from"] == "24.00"
    assert found["items"][0]["photo"]["alt"] == "Red scarf"


def test_staff_see_stock_quantities_on_the_product(api_as):
    shop, owner = shop_with_owner()
    product = published_product(shop=shop, variant__stock_quantity=7)

    body = api_as(owner).call("GET", f"products/{product.pk}").json()

    assert [v["stock_quantity"] for v in body["variants"]] == [7]


def test_prices_keep_the_currency_decimals(api_as):
    shop, owner = shop_with_owner(currency="JPY")

    response = api_as(owner).call(
        "POST", f"shops/{shop.slug}/products", {"title": "Tea bowl", "variants": [{"sku": "B1", "price": "1500"}]}
    )

    assert response.status_code == 201
    assert response.json()["variants"][0]["price"] == "1500"
    assert Variant.objects.get().price == Decimal("1500")


# --- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("currency", "price", "status", "code"),
    [
        ("EUR", "-1.00", 422, "negative_amount"),
        ("EUR", "1.999", 422, "too_many_decimals"),
        ("JPY", "10.5", 422, "too_many_decimals"),
        ("EUR", "abc", 422, "invalid_amount"),
        ("EUR", "NaN", 422, "invalid_amount"),
        ("EUR", "99999999999", 422, "amount_too_large"),
        ("EUR", "1000000000", 422, "amount_too_large"),  # more than the price column holds
        ("EUR", 19.9, 422, "invalid"),
        ("EUR", True, 422, "invalid"),
        ("EUR", None, 422, "invalid"),
    ],
)
def test_bad_prices_are_refused_and_nothing_is_written(api_as, currency, price, status, code):
    shop, owner = shop_with_owner(currency=currency)
    payload = {
        "title": "Thing",
        "tags": ["x"],
        "variants": [{"sku": "A1", "price": "5"}, {"sku": "A2", "price": price}],
    }

    response = api_as(owner).call("POST", f"shops/{shop.slug}/products", payload)

    assert response.status_code == status, response.json()
    body = response.json()
    assert body["code"] == code
    assert "price" in body["field"]
    assert Product.objects.count() == Variant.objects.count() == Tag.objects.count() == 0


def test_a_float_price_is_refused_with_a_message_that_says_to_send_a_string(api_as):
    shop, owner = shop_with_owner()

    response = api_as(owner).call(
        "POST", f"shops/{shop.slug}/products", {"title": "T", "variants": [{"sku": "A", "price": 19.9}]}
    )

    assert response.status_code == 422
    assert response.json()["field"] == "variants.0.price"
    assert 'decimal strings such as "19.90"' in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"title": ""}, 422, "required", "title"),
        ({"title": "T\x00itle"}, 422, "invalid", "title"),
        ({"title": "T", "description": "a\x00"}, 422, "invalid", "description"),
        ({"title": "T", "tags": ["ok", "b\x00d"]}, 422, "invalid", "tags"),
        ({"title": "T", "category_id": 999999}, 404, "category_not_found", "category_id"),
        ({"title": "T", "slug": "Bad Slug"}, 422, "product_invalid", "slug"),
        ({"title": "T", "variants": [{"sku": "bad sku!", "price": "1"}]}, 422, "product_invalid", "sku"),
        (
            {"title": "T", "variants": [{"sku": "A", "price": "1", "stock_quantity": -1}]},
            422,
            "invalid",
            "variants.0.stock_quantity",
        ),
        (
            {"title": "T", "variants": [{"sku": "A", "price": "1", "stock_quantity": "5"}]},
            422,
            "invalid",
            "variants.0.stock_quantity",
        ),
        (
            {"title": "T", "variants": [{"sku": "A", "price": "1", "options": {"k\x00": "v"}}]},
            422,
            "invalid",
            "variants.0.options",
        ),
        ({"title": "T", "variants": [{"sku": "A", "price": "1"}, {"sku": "a", "price": "2"}]}, 409, "sku_taken", "sku"),
        ({"description": "no title"}, 422, "invalid", "title"),
    ],
)
def test_bad_product_input_is_refused_and_nothing_is_written(api_as, payload, status, code, field):
    shop, owner = shop_with_owner()

    response = api_as(owner).call("POST", f"shops/{shop.slug}/products", payload)

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert Product.objects.count() == Variant.objects.count() == 0


def test_duplicate_sku_in_the_shop_is_a_409(api_as):
    shop, owner = shop_with_owner()
    product = published_product(shop=shop, variant__sku="SC-1")

    response = api_as(owner).call("POST", f"products/{product.pk}/variants", {"sku": "sc-1", "price": "3.00"})

    assert response.status_code == 409
    assert response.json()["code"] == "sku_taken"
    assert Variant.objects.count() == 1


def test_the_same_sku_in_another_shop_is_fine(api_as):
    published_product(variant__sku="SC-1")
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop, status=ProductStatus.DRAFT)

    response = api_as(owner).call("POST", f"products/{product.pk}/variants", {"sku": "SC-1", "price": "3.00"})

    assert response.status_code == 201


def test_duplicate_product_slug_is_a_409(api_as):
    shop, owner = shop_with_owner()
    ProductFactory(shop=shop, slug="scarf")

    response = api_as(owner).call("POST", f"shops/{shop.slug}/products", {"title": "Scarf", "slug": "scarf"})

    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"
    assert Product.objects.count() == 1


def test_malformed_json_is_a_400_and_writes_nothing(api_as):
    shop, owner = shop_with_owner()

    response = api_as(owner).call(
        "POST", f"shops/{shop.slug}/products", '{"title": "Scarf", ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert Product.objects.count() == 0


# --- editing -------------------------------------------------------------------------
def test_patch_product_changes_only_what_is_sent(api_as):
    shop, owner = shop_with_owner()
    category = CategoryFactory()
    product = ProductFactory(shop=shop, title="Old", description="Keep me", category=category)

    changed = api_as(owner).call("PATCH", f"products/{product.pk}", {"title": "New", "tags": ["a", "b"]})
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["description"], changed.json()["tags"]) == (
        "New",
        "Keep me",
        ["a", "b"],
    )
    assert changed.json()["category"]["id"] == category.pk

    cleared = api_as(owner).call("PATCH", f"products/{product.pk}", {"category_id": None})
    assert cleared.json()["category"] is None


def test_patch_with_bad_input_changes_nothing(api_as):
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop, title="Old")

    response = api_as(owner).call("PATCH", f"products/{product.pk}", {"title": "New", "slug": "BAD SLUG"})

    assert response.status_code == 422
    product.refresh_from_db()
    assert product.title == "Old"


def test_update_variant_price_and_stock(api_as):
    shop, owner = shop_with_owner(currency="EUR")
    product = published_product(shop=shop)
    variant = product.variants.get()

    response = api_as(owner).call(
        "PATCH", f"variants/{variant.pk}", {"price": "12.5", "stock_quantity": 42, "name": "Large"}
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["price"], response.json()["stock_quantity"], response.json()["name"]) == (
        "12.50",
        42,
        "Large",
    )
    variant.refresh_from_db()
    assert (variant.price, variant.stock_quantity) == (Decimal("12.5"), 42)


def test_update_variant_with_a_bad_price_changes_nothing(api_as):
    shop, owner = shop_with_owner(currency="EUR")
    variant = published_product(shop=shop, variant__price=Decimal("19.90"), variant__stock_quantity=3).variants.get()

    response = api_as(owner).call("PATCH", f"variants/{variant.pk}", {"price": "-5", "stock_quantity": 9})

    assert response.status_code == 422
    variant.refresh_from_db()
    assert (variant.price, variant.stock_quantity) == (Decimal("19.90"), 3)


def test_the_last_variant_of_a_published_product_stays(api_as):
    shop, owner = shop_with_owner()
    variant = published_product(shop=shop).variants.get()

    response = api_as(owner).call("DELETE", f"variants/{variant.pk}")

    assert response.status_code == 422
    assert response.json()["code"] == "cannot_publish"
    assert Variant.objects.filter(pk=variant.pk).exists()


def test_publishing_without_variants_is_refused(api_as):
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None)

    response = api_as(owner).call("POST", f"products/{product.pk}/publish")

    assert response.status_code == 422
    assert response.json()["code"] == "cannot_publish"
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT


def test_unpublish_and_delete(api, api_as):
    shop, owner = shop_with_owner()
    product = published_product(shop=shop)
    client = api_as(owner)

    assert client.call("POST", f"products/{product.pk}/unpublish").json()["status"] == "draft"
    assert api.call("GET", f"products/{product.pk}").status_code == 404
    assert client.call("DELETE", f"products/{product.pk}").status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()
    assert client.call("GET", f"products/{product.pk}").status_code == 404


# --- photos --------------------------------------------------------------------------
def test_photo_refusals_write_nothing(api_as, image_bytes, settings):
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop)
    client = api_as(owner)

    not_image = client.call(
        "POST",
        f"products/{product.pk}/images",
        {"image": SimpleUploadedFile("x.jpg", b"<?php echo 1;", "image/jpeg")},
        multipart=True,
    )
    assert not_image.status_code == 422
    assert not_image.json()["code"] == "invalid_image"

    settings.AGORA_MAX_IMAGE_BYTES = 1024
    too_big = client.call(
        "POST",
        f"products/{product.pk}/images",
        {"image": photo(image_bytes, size=(500, 500), fmt="PNG")},
        multipart=True,
    )
    assert too_big.status_code == 422
    assert too_big.json()["code"] == "image_too_large"

    no_file = client.call("POST", f"products/{product.pk}/images", {"alt": "x"}, multipart=True)
    assert no_file.status_code == 422
    assert no_file.json()["field"] == "image"

    assert ProductImage.objects.count() == 0


def test_remove_a_photo(api_as, image_bytes):
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop)
    client = api_as(owner)
    image_id = client.call(
        "POST", f"products/{product.pk}/images", {"image": photo(image_bytes)}, multipart=True
    ).json()["id"]

    assert client.call("DELETE", f"products/{product.pk}/images/{image_id}").status_code == 204
    assert client.call("DELETE", f"products/{product.pk}/images/{image_id}").status_code == 404
    assert ProductImage.objects.count() == 0


def test_a_photo_of_another_product_cannot_be_removed_through_mine(api_as, image_bytes):
    shop, owner = shop_with_owner()
    mine = ProductFactory(shop=shop)
    other_shop, other_owner = shop_with_owner()
    theirs = ProductFactory(shop=other_shop)
    their_photo = (
        api_as(other_owner)
        .call("POST", f"products/{theirs.pk}/images", {"image": photo(image_bytes)}, multipart=True)
        .json()["id"]
    )

    response = api_as(owner).call("DELETE", f"products/{mine.pk}/images/{their_photo}")

    assert response.status_code == 404
    assert ProductImage.objects.filter(pk=their_photo).exists()


# --- lists ---------------------------------------------------------------------------
def test_shop_products_show_drafts_to_staff_only_and_filter_by_status(api, api_as):
    shop, owner = shop_with_owner()
    published = published_product(shop=shop)
    draft = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None)

    public = api.call("GET", f"shops/{shop.slug}/products").json()
    staff = api_as(owner).call("GET", f"shops/{shop.slug}/products").json()
    drafts = api_as(owner).call("GET", f"shops/{shop.slug}/products", {"status": "draft"}).json()
    outsider_drafts = api_as(UserFactory()).call("GET", f"shops/{shop.slug}/products", {"status": "draft"}).json()

    assert [p["id"] for p in public["items"]] == [published.pk]
    assert {p["id"] for p in staff["items"]} == {published.pk, draft.pk}
    assert [p["id"] for p in drafts["items"]] == [draft.pk]
    assert outsider_drafts["items"] == []


def test_products_sort_and_filter_by_tag_and_shop(api):
    shop = ShopFactory(slug="knits")
    cheap = published_product(shop=shop, variant__price=Decimal("5.00"))
    dear = published_product(variant__price=Decimal("50.00"), popularity=10)
    tag = Tag.objects.create(name="wool")
    cheap.tags.add(tag)

    def ids(**query):
        return [p["id"] for p in api.call("GET", "products", query).json()["items"]]

    assert ids(sort="price_asc") == [cheap.pk, dear.pk]
    assert ids(sort="price_desc") == [dear.pk, cheap.pk]
    assert ids(sort="popular") == [dear.pk, cheap.pk]
    assert ids(tag="#WOOL") == [cheap.pk]
    assert ids(shop="knits") == [cheap.pk]
    assert api.call("GET", "products", {"sort": "random"}).status_code == 422
    assert api.call("GET", "products", {"shop": "nope"}).status_code == 404
    assert api.call("GET", "products", {"category": "nope"}).json()["code"] == "category_not_found"


def test_stock_report_for_staff(api_as):
    shop, owner = shop_with_owner()
    product = published_product(shop=shop, variant__stock_quantity=2, variant__sku="LOW")
    VariantFactory(product=product, stock_quantity=50, sku="HIGH")
    VariantFactory(product=ProductFactory(), stock_quantity=0, sku="ELSEWHERE")

    report = api_as(owner).call("GET", f"shops/{shop.slug}/stock", {"low": 3}).json()

    assert [(r["sku"], r["stock_quantity"], r["low"]) for r in report["items"]] == [
        ("LOW", 2, True),
        ("HIGH", 50, False),
    ]
    assert report["items"][0]["product_title"] == product.title


# --- categories ----------------------------------------------------------------------
def test_category_tree_is_nested(api):
    clothes = CategoryFactory(name="Clothes")
    CategoryFactory(name="Scarves", parent=clothes)

    tree = api.call("GET", "categories").json()

    assert [(c["name"], [k["name"] for k in c["children"]]) for c in tree] == [("Clothes", ["Scarves"])]


def test_only_operator_staff_add_categories(api_as):
    operator = UserFactory(is_staff=True)
    _shop, owner = shop_with_owner()

    refused = api_as(owner).call("POST", "categories", {"name": "Tea"})
    created = api_as(operator).call("POST", "categories", {"name": "Tea"})

    assert refused.status_code == 403
    assert created.status_code == 201
    assert created.json()["slug"] == "tea"
    assert Category.objects.count() == 1


def test_support_staff_cannot_change_products(api_as):
    shop = ShopFactory()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    product = published_product(shop=shop)

    response = api_as(support).call("PATCH", f"products/{product.pk}", {"title": "Hacked"})

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.title != "Hacked"

"""The catalog through its services and selectors: products, variants, prices, photos, stock, search."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from agora.accounts.tests.factories import UserFactory
from agora.catalog import selectors, services
from agora.catalog.errors import CannotPublish, ProductInvalid, ProductNotFound, SkuTaken
from agora.catalog.models import Product, ProductImage, ProductStatus, Tag, Variant
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.core.errors import DomainError, PermissionDenied, ValidationFailed
from agora.shops.models import Role
from agora.shops.selectors import ShopPermissionDenied
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

pytestmark = pytest.mark.django_db


def _variant(sku="SKU-1", price="10.00", **extra):
    return {"sku": sku, "price": price, **extra}


@pytest.fixture
def shop_owner():
    return shop_with_owner(currency="EUR")


# --- creating products -------------------------------------------------------------------
def test_create_product_with_variants_and_tags(shop_owner):
    shop, owner = shop_owner
    category = CategoryFactory()

    product = services.create_product(
        actor=owner,
        shop=shop,
        title="Wool scarf",
        description="Warm.",
        category_id=category.pk,
        tags=["Winter", "#wool", "winter", " "],
        variants=[
            _variant("SC-RED", "25.50", stock_quantity=3, options={"Colour": "Red"}, weight_grams="180"),
            _variant("SC-BLUE", "25.5"),
        ],
    )

    assert (product.status, product.slug, product.category) == (ProductStatus.DRAFT, "wool-scarf", category)
    assert sorted(product.tags.values_list("name", flat=True)) == ["winter", "wool"]
    red, blue = product.variants.order_by("position")
    assert (red.sku, red.price, red.stock_quantity, red.options, red.weight_grams) == (
        "SC-RED",
        Decimal("25.50"),
        3,
        {"colour": "Red"},
        180,
    )
    assert blue.price == Decimal("25.50") and blue.shop == shop


def test_a_bad_second_variant_leaves_no_product_behind(shop_owner):
    shop, owner = shop_owner

    with pytest.raises(ValidationFailed) as exc:
        services.create_product(
            actor=owner,
            shop=shop,
            title="Wool scarf",
            tags=["wool"],
            variants=[_variant("SC-1", "10.00"), _variant("SC-2", "-1")],
        )

    assert exc.value.code == "negative_amount"
    assert not Product.objects.exists()
    assert not Variant.objects.exists()
    assert not Product.tags.through.objects.exists()


def test_a_duplicate_sku_inside_one_new_product_leaves_nothing_behind(shop_owner):
    shop, owner = shop_owner

    with pytest.raises(SkuTaken):
        services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1"), _variant("sc-1")])

    assert not Product.objects.exists()


def test_slugs_are_unique_per_shop_but_may_repeat_across_shops(shop_owner):
    shop, owner = shop_owner
    other_shop, other_owner = shop_with_owner()

    first = services.create_product(actor=owner, shop=shop, title="Wool scarf")
    second = services.create_product(actor=owner, shop=shop, title="Wool Scarf!")
    elsewhere = services.create_product(actor=other_owner, shop=other_shop, title="Wool scarf")

    assert [first.slug, second.slug, elsewhere.slug] == ["wool-scarf", "wool-scarf-2", "wool-scarf"]


def test_only_staff_who_manage_products_may_create_them(shop_owner):
    shop, _ = shop_owner
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user

    with pytest.raises(ShopPermissionDenied):
        services.create_product(actor=support, shop=shop, title="Nope")
    with pytest.raises(ShopPermissionDenied):
        services.create_product(actor=UserFactory(), shop=shop, title="Nope")
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    assert services.create_product(actor=manager, shop=shop, title="Yes").pk


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "Scarf\x00"},
        {"category_id": 999_999},
        {"tags": [f"t{i}" for i in range(21)]},
        {"slug": "Not A Slug"},
    ],
)
def test_create_product_refuses_bad_fields(shop_owner, fields):
    shop, owner = shop_owner

    with pytest.raises(DomainError):
        services.create_product(actor=owner, shop=shop, **{"title": "Scarf", **fields})

    assert not Product.objects.exists()


# --- SKUs ------------------------------------------------------------------------------
def test_sku_is_unique_per_shop_in_any_letter_case(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])

    with pytest.raises(SkuTaken) as exc:
        services.add_variant(actor=owner, product=product, sku="sc-1", price="5.00")

    assert exc.value.status == 409
    assert product.variants.count() == 1


def test_the_same_sku_is_fine_in_two_shops(shop_owner):
    shop, owner = shop_owner
    other_shop, other_owner = shop_with_owner()

    services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])
    services.create_product(actor=other_owner, shop=other_shop, title="Scarf", variants=[_variant("SC-1")])

    assert Variant.objects.filter(sku="SC-1").count() == 2


@pytest.mark.parametrize("sku", ["", "-starts-with-dash", "has space", "x" * 65, "ÜMLAUT", "a\x00b"])
def test_malformed_skus_are_refused(shop_owner, sku):
    shop, owner = shop_owner

    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant(sku)])

    assert exc.value.field == "sku"


def test_update_variant_to_a_taken_sku_is_refused(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(
        actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1"), _variant("SC-2")]
    )
    second = product.variants.get(sku="SC-2")

    with pytest.raises(SkuTaken):
        services.update_variant(actor=owner, variant=second, sku="Sc-1")

    assert Variant.objects.get(pk=second.pk).sku == "SC-2"


# --- prices in the shop's currency ------------------------------------------------------------
@pytest.mark.parametrize(
    ("currency", "price", "stored"),
    [
        ("JPY", "1200", Decimal("1200")),
        ("JPY", "1200.0", Decimal("1200")),
        ("KWD", "1.250", Decimal("1.250")),
        ("KWD", "0.005", Decimal("0.005")),
        ("EUR", "0", Decimal("0.00")),
        ("EUR", "19.9", Decimal("19.90")),
        ("RUB", "5990", Decimal("5990.00")),
    ],
)
def test_prices_take_the_decimals_of_the_shop_currency(currency, price, stored):
    shop, owner = shop_with_owner(currency=currency)

    product = services.create_product(actor=owner, shop=shop, title="Thing", variants=[_variant("T-1", price)])

    assert product.variants.get().price == stored


@pytest.mark.parametrize(
    ("currency", "price", "code"),
    [
        ("JPY", "1200.5", "too_many_decimals"),
        ("KWD", "1.2505", "too_many_decimals"),
        ("EUR", "19.999", "too_many_decimals"),
        ("EUR", "-1", "negative_amount"),
        ("EUR", "-0.01", "negative_amount"),
        ("EUR", "abc", "invalid_amount"),
        ("EUR", "", "invalid_amount"),
        ("EUR", "NaN", "invalid_amount"),
        ("EUR", "1000000000000", "amount_too_large"),
    ],
)
def test_prices_the_currency_cannot_hold_are_refused(currency, price, code):
    shop, owner = shop_with_owner(currency=currency)

    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=owner, shop=shop, title="Thing", variants=[_variant("T-1", price)])

    assert (exc.value.code, exc.value.field) == (code, "price")
    assert not Product.objects.exists()


def test_a_float_price_is_read_from_its_decimal_text(shop_owner):
    shop, owner = shop_owner

    product = services.create_product(actor=owner, shop=shop, title="Thing", variants=[_variant("T-1", 0.1)])

    assert product.variants.get().price == Decimal("0.10")


@pytest.mark.parametrize(
    ("field", "value"), [("stock_quantity", -1), ("stock_quantity", "many"), ("weight_grams", True)]
)
def test_stock_and_weight_must_be_whole_and_not_negative(shop_owner, field, value):
    shop, owner = shop_owner

    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=owner, shop=shop, title="Thing", variants=[_variant("T-1", **{field: value})])

    assert exc.value.field == field


# --- publishing and visibility ------------------------------------------------------------
def test_publish_needs_an_active_variant(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")

    with pytest.raises(CannotPublish):
        services.publish_product(actor=owner, product=product)

    services.add_variant(actor=owner, product=product, sku="SC-1", price="10.00")
    published = services.publish_product(actor=owner, product=product)
    assert published.status == ProductStatus.PUBLISHED and published.published_at is not None


def test_publish_refuses_a_product_whose_variants_are_all_inactive(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])
    services.update_variant(actor=owner, variant=product.variants.get(), is_active=False)

    with pytest.raises(CannotPublish):
        services.publish_product(actor=owner, product=product)


def test_republishing_keeps_the_first_publication_date(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])
    first = services.publish_product(actor=owner, product=product).published_at

    services.unpublish_product(actor=owner, product=product)
    again = services.publish_product(actor=owner, product=product)

    assert again.published_at == first


def test_drafts_are_invisible_to_the_public_but_visible_to_staff(shop_owner):
    shop, owner = shop_owner
    draft = services.create_product(actor=owner, shop=shop, title="Secret scarf", variants=[_variant("SC-1")])
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user

    assert list(selectors.search_products(q="secret")) == []
    assert list(selectors.search_products(q="secret", viewer=UserFactory())) == []
    assert list(selectors.search_products(shop=shop, viewer=UserFactory())) == []
    for viewer in (None, UserFactory()):
        with pytest.raises(ProductNotFound):
            selectors.get_product(product_id=draft.pk, viewer=viewer)
        with pytest.raises(ProductNotFound):
            selectors.get_product_by_slug(shop_slug=shop.slug, product_slug=draft.slug, viewer=viewer)

    for staff in (owner, support):
        assert [p.pk for p in selectors.search_products(shop=shop, viewer=staff)] == [draft.pk]
        assert selectors.get_product(product_id=draft.pk, viewer=staff) == draft


def test_products_of_a_closed_shop_are_hidden_from_the_public():
    product = published_product(shop__is_active=False)

    assert list(selectors.search_products()) == []
    with pytest.raises(ProductNotFound):
        selectors.get_product(product_id=product.pk)


def test_publishing_in_a_closed_shop_is_refused(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])
    shop.is_active = False
    shop.save()

    with pytest.raises(CannotPublish):
        services.publish_product(actor=owner, product=Product.objects.get(pk=product.pk))


# --- search and sorting ----------------------------------------------------------------------
@pytest.fixture
def catalog():
    knits = shop_with_owner(name="Riga Knits")[0]
    clay = shop_with_owner(name="Kyiv Clay")[0]
    scarf = published_product(
        shop=knits, title="Wool scarf", description="Soft merino.", popularity=5, variant__price=Decimal("25.00")
    )
    mug = published_product(
        shop=clay, title="Speckled mug", description="Stoneware, 300 ml.", popularity=50, variant__price=Decimal("9")
    )
    blanket = published_product(
        shop=knits, title="Throw blanket", description="Alpaca and wool.", popularity=20, variant__price=Decimal("90")
    )
    VariantFactory(product=blanket, price=Decimal("60.00"))
    scarf.tags.add(Tag.objects.create(name="winter"))
    return {"scarf": scarf, "mug": mug, "blanket": blanket}


def _found(**kwargs):
    return [p.title for p in selectors.search_products(**kwargs)]


def test_search_matches_title_description_tag_and_shop_name(catalog):
    assert _found(q="SCARF") == ["Wool scarf"]
    assert _found(q="stoneware") == ["Speckled mug"]
    assert _found(q="winter") == ["Wool scarf"]
    assert _found(q="kyiv") == ["Speckled mug"]


def test_search_needs_every_word(catalog):
    assert sorted(_found(q="wool")) == ["Throw blanket", "Wool scarf"]
    assert _found(q="wool alpaca") == ["Throw blanket"]
    assert _found(q="wool mug") == []
    assert _found(q="  riga   merino ") == ["Wool scarf"]


def test_search_survives_odd_input(catalog):
    assert _found(q="wool\x00") == _found(q="wool")
    assert _found(q="%") == []
    assert _found(q="_") == []


def test_sorting_by_price_uses_the_cheapest_active_variant(catalog):
    assert _found(sort="price_asc") == ["Speckled mug", "Wool scarf", "Throw blanket"]
    assert _found(sort="price_desc") == ["Throw blanket", "Wool scarf", "Speckled mug"]
    by_title = {p.title: p.price_from for p in selectors.search_products()}
    assert by_title["Throw blanket"] == Decimal("60.00")


def test_sorting_by_popularity_and_newest(catalog):
    assert _found(sort="popular") == ["Speckled mug", "Throw blanket", "Wool scarf"]
    assert _found(sort="newest")[0] == "Throw blanket"
    assert _found(sort="nonsense") == _found(sort="newest")


def test_recorded_views_raise_popularity(catalog):
    for _ in range(100):
        services.record_view(product=catalog["scarf"])

    assert _found(sort="popular")[0] == "Wool scarf"


def test_category_filter_includes_subcategories():
    clothing = CategoryFactory(name="Clothing")
    knitwear = CategoryFactory(name="Knitwear", parent=clothing)
    scarves = CategoryFactory(name="Scarves", parent=knitwear)
    food = CategoryFactory(name="Food")
    published_product(title="Scarf", category=scarves)
    published_product(title="Sweater", category=knitwear)
    published_product(title="Coffee", category=food)

    assert sorted(_found(category=clothing)) == ["Scarf", "Sweater"]
    assert _found(category=scarves) == ["Scarf"]
    assert _found(category=food) == ["Coffee"]
    assert [c.name for c in selectors.category_path(scarves)] == ["Clothing", "Knitwear", "Scarves"]


def test_tag_filter(catalog):
    assert _found(tag="#Winter") == ["Wool scarf"]


# --- photos ----------------------------------------------------------------------------------
def test_add_image_stores_the_picture_and_both_thumbnails_on_disk(shop_owner, image_bytes):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")

    photo = services.add_image(
        actor=owner, product=product, upload=ContentFile(image_bytes((1600, 1200)), name="x.jpg"), alt="front"
    )

    assert (photo.width, photo.height, photo.alt, photo.position) == (1600, 1200, "front", 1)
    for field, side in ((photo.image, 1600), (photo.thumbnail_small, 240), (photo.thumbnail_medium, 640)):
        assert field.storage.exists(field.name)
        with Image.open(field.path) as img:
            assert max(img.size) == side


def test_add_image_limits_a_product_to_ten_photos(shop_owner, image_bytes):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")
    for _ in range(services.MAX_IMAGES):
        services.add_image(actor=owner, product=product, upload=ContentFile(image_bytes((8, 8)), name="x.jpg"))

    with pytest.raises(ProductInvalid, match="at most 10 photos"):
        services.add_image(actor=owner, product=product, upload=ContentFile(image_bytes((8, 8)), name="x.jpg"))

    assert product.images.count() == 10
    assert list(product.images.values_list("position", flat=True)) == list(range(1, 11))


def test_add_image_refuses_a_file_that_is_not_an_image(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")

    with pytest.raises(ValidationFailed) as exc:
        services.add_image(actor=owner, product=product, upload=ContentFile(b"<?php echo 1;", name="x.jpg"))

    assert exc.value.code == "invalid_image"
    assert not ProductImage.objects.exists()


def test_add_image_refuses_an_oversized_file(shop_owner, image_bytes, settings):
    settings.AGORA_MAX_IMAGE_BYTES = 200
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")
    picture = image_bytes((64, 48))
    assert len(picture) > 200

    with pytest.raises(ValidationFailed) as exc:
        services.add_image(actor=owner, product=product, upload=ContentFile(picture, name="x.jpg"))

    assert exc.value.code == "image_too_large"
    assert not ProductImage.objects.exists()


def test_add_image_needs_the_right_to_manage_products(shop_owner, image_bytes):
    shop, _ = shop_owner
    product = ProductFactory(shop=shop)

    with pytest.raises(ShopPermissionDenied):
        services.add_image(actor=UserFactory(), product=product, upload=ContentFile(image_bytes(), name="x.jpg"))


def test_remove_image_deletes_the_files_after_commit(shop_owner, image_bytes, django_capture_on_commit_callbacks):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf")
    photo = services.add_image(actor=owner, product=product, upload=ContentFile(image_bytes(), name="x.jpg"))
    names = [photo.image.name, photo.thumbnail_small.name, photo.thumbnail_medium.name]

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_image(actor=owner, product=product, image_id=photo.pk)

    assert not ProductImage.objects.exists()
    assert not any(photo.image.storage.exists(name) for name in names)


# --- stock -------------------------------------------------------------------------------------
def test_adjust_stock_never_goes_below_zero():
    variant = VariantFactory(stock_quantity=2)

    assert services.adjust_stock(variant_id=variant.pk, delta=-2) is True
    assert services.adjust_stock(variant_id=variant.pk, delta=-1) is False

    variant.refresh_from_db()
    assert variant.stock_quantity == 0
    assert services.adjust_stock(variant_id=variant.pk, delta=5) is True
    assert services.adjust_stock(variant_id=variant.pk, delta=-6) is False
    variant.refresh_from_db()
    assert variant.stock_quantity == 5


def test_set_stock_counts_and_refuses_nonsense(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])
    variant = product.variants.get()

    services.set_stock(actor=owner, variant=variant, quantity="7")
    with pytest.raises(ValidationFailed):
        services.set_stock(actor=owner, variant=variant, quantity=-3)
    with pytest.raises(ValidationFailed):
        services.set_stock(actor=owner, variant=variant, quantity=services.MAX_STOCK + 1)

    assert Variant.objects.get(pk=variant.pk).stock_quantity == 7


def test_stock_report_is_for_staff_only(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(
        actor=owner, shop=shop, title="Scarf", variants=[_variant("A", stock_quantity=9), _variant("B")]
    )

    assert [v.sku for v in selectors.stock_report(shop=shop, viewer=owner)] == ["B", "A"]
    assert list(selectors.stock_report(shop=shop, viewer=UserFactory())) == []
    assert product.variants.count() == 2


def test_delete_variant_keeps_one_on_a_published_product(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(
        actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1"), _variant("SC-2")]
    )
    services.publish_product(actor=owner, product=product)
    first, second = product.variants.order_by("position")

    services.delete_variant(actor=owner, variant=first)
    with pytest.raises(CannotPublish):
        services.delete_variant(actor=owner, variant=second)

    assert list(product.variants.values_list("sku", flat=True)) == ["SC-2"]


def test_the_last_active_variant_of_a_published_product_cannot_be_switched_off(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(
        actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1"), _variant("SC-2")]
    )
    services.publish_product(actor=owner, product=product)
    first, second = product.variants.order_by("position")

    services.update_variant(actor=owner, variant=first, is_active=False)
    with pytest.raises(CannotPublish):
        services.update_variant(actor=owner, variant=Variant.objects.get(pk=second.pk), is_active=False)

    assert list(product.variants.filter(is_active=True).values_list("sku", flat=True)) == ["SC-2"]
    services.unpublish_product(actor=owner, product=product)
    services.update_variant(actor=owner, variant=Variant.objects.get(pk=second.pk), is_active=False)
    assert not product.variants.filter(is_active=True).exists()


def test_delete_variant_of_a_draft_may_remove_the_last_one(shop_owner):
    shop, owner = shop_owner
    product = services.create_product(actor=owner, shop=shop, title="Scarf", variants=[_variant("SC-1")])

    services.delete_variant(actor=owner, variant=product.variants.get())

    assert not product.variants.exists()


# --- categories ------------------------------------------------------------------------------
def test_only_operator_staff_create_categories():
    operator = UserFactory(is_staff=True)

    top = services.create_category(actor=operator, name="Food & drink")
    child = services.create_category(actor=operator, name="Coffee", parent_id=top.pk)

    assert (top.slug, child.parent) == ("food-drink", top)
    with pytest.raises(PermissionDenied):
        services.create_category(actor=UserFactory(), name="Mine")
    assert [c.name for c in selectors.category_tree()] == ["Food & drink"]

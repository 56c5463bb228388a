"""The seller dashboard through the Django test client: the whole flow, bad input, rights, invitations, queries."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.catalog import services as catalog_services
from agora.catalog.models import Product, ProductImage, ProductStatus, Variant
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, *args: Any) -> str:
    return reverse(f"web:{name}", args=args)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def photo_upload(image_bytes: Any, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(), content_type="image/jpeg")


def variant_post(**overrides: Any) -> dict[str, Any]:
    data = {
        "sku": "MUG-1",
        "name": "Blue",
        "options": "",
        "price": "12.50",
        "stock_quantity": "5",
        "weight_grams": "300",
    }
    data.update(overrides)
    return data


def product_post(**overrides: Any) -> dict[str, Any]:
    data = {"title": "Stoneware mug", "description": "Hand thrown.", "category_id": "", "tags": "kitchen, gift"}
    data.update(variant_post())
    data.update(overrides)
    return data


@pytest.fixture
def shop_owner() -> tuple[Shop, Any]:
    return shop_with_owner(currency="EUR")


@pytest.fixture
def product(shop_owner: tuple[Shop, Any]) -> Product:
    shop, _ = shop_owner
    product = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None, title="Linen towel")
    VariantFactory(product=product, sku="TOWEL-1", price=Decimal("9.90"), stock_quantity=3)
    return product


# --- the whole flow ----------------------------------------------------------------------
def test_seller_flow_from_new_shop_to_public_page(client: Client, image_bytes: Any) -> None:
    seller = UserFactory()
    category = CategoryFactory(name="Kitchen")
    assert client.login(username=seller.email, password=PASSWORD)

    # Given a signed-in user without shops
    response = client.get(url("dashboard"))
    assert response.status_code == 200
    assert url("shop_create") in response.content.decode()

    # When they open a shop (no slug: made from the name)
    response = client.post(
        url("shop_create"),
        {"name": "Clay & Co", "slug": "", "description": "Pots.", "currency": "EUR", "country": "LV"},
    )
    shop = Shop.objects.get(name="Clay & Co")
    assert response.status_code == 302
    assert response["Location"] == url("shop_dashboard", shop.slug)
    assert shop.slug == "clay-co" and shop.currency == "EUR" and shop.country.code == "LV"
    assert Membership.objects.get(shop=shop, user=seller).role == Role.OWNER
    assert "Clay &amp; Co" in client.get(url("dashboard")).content.decode()

    # ... create a product with its first variant
    response = client.post(url("product_create", shop.slug), product_post(category_id=str(category.pk)))
    product = Product.objects.get(shop=shop)
    assert response.status_code == 302
    assert response["Location"] == url("product_edit", shop.slug, product.pk)
    assert product.status == ProductStatus.DRAFT and product.category == category
    assert sorted(t.name for t in product.tags.all()) == ["gift", "kitchen"]
    first = product.variants.get()
    assert (first.sku, first.price, first.stock_quantity, first.weight_grams) == ("MUG-1", Decimal("12.50"), 5, 300)

    # ... upload two photos at once
    response = client.post(
        url("product_photos", shop.slug, product.pk),
        {"images": [photo_upload(image_bytes), photo_upload(image_bytes, "b.png")]},
    )
    assert response.status_code == 302
    photos = list(product.images.all())
    assert len(photos) == 2 and all(p.thumbnail_small and p.thumbnail_medium for p in photos)
    page = client.get(url("product_edit", shop.slug, product.pk)).content.decode()
    assert photos[0].thumbnail_small.url in page

    # ... add a variant through HTMX: the variants section comes back with it
    response = client.post(
        url("variant_add", shop.slug, product.pk),
        variant_post(sku="MUG-2", name="Green", options="colour=green", price="14", stock_quantity="2"),
        **HTMX,
    )
    assert response.status_code == 200
    assert 'id="variants"' in response.content.decode() and "MUG-2" in response.content.decode()
    second = product.variants.get(sku="MUG-2")
    assert second.options == {"colour": "green"} and second.price == Decimal("14.00")

    # ... edit price, stock, name and options inline
    response = client.get(url("variant_edit", shop.slug, product.pk, second.pk), **HTMX)
    assert response.status_code == 200
    assert 'value="14.00"' in response.content.decode() and 'value="colour=green"' in response.content.decode()
    response = client.post(
        url("variant_edit", shop.slug, product.pk, second.pk),
        variant_post(
            sku="MUG-2", name="Large green", options="size=L, Colour=green", price="15.90", stock_quantity="8"
        ),
        **HTMX,
    )
    assert response.status_code == 200
    assert "Large green" in response.content.decode() and "<form" in response.content.decode()  # the delete button
    second.refresh_from_db()
    assert (second.name, second.price, second.stock_quantity) == ("Large green", Decimal("15.90"), 8)
    assert second.options == {"size": "L", "colour": "green"}

    # ... count stock from the stock page
    response = client.post(url("stock_set", shop.slug, first.pk), {"stock_quantity": "0"}, **HTMX)
    assert response.status_code == 200 and "row-out" in response.content.decode()
    first.refresh_from_db()
    assert first.stock_quantity == 0

    # ... publish from the product list, which re-renders only the row
    response = client.post(url("product_publish", shop.slug, product.pk), {"action": "publish"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<tr") and f'id="product-{product.pk}"' in body and "Unpublish" in body
    product.refresh_from_db()
    assert product.status == ProductStatus.PUBLISHED

    # Then a shopper sees it on the public product page
    public = Client().get(url("product", shop.slug, product.slug))
    assert public.status_code == 200
    assert "Stoneware mug" in public.content.decode()
    # ... and the dashboard counts it
    dashboard = client.get(url("shop_dashboard", shop.slug))
    assert dashboard.context["summary"]["published"] == 1
    assert dashboard.context["summary"]["out_of_stock"] == 1


def test_dashboard_filters_searches_and_paginates(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    for n in range(23):
        VariantFactory(product=ProductFactory(shop=shop, title=f"Candle {n}", status=ProductStatus.PUBLISHED))
    VariantFactory(product=ProductFactory(shop=shop, title="Soap bar", status=ProductStatus.DRAFT, published_at=None))
    ProductFactory(title="Candle elsewhere")  # another shop's product never appears
    client = logged_in(owner)

    first = client.get(url("shop_dashboard", shop.slug))
    assert first.context["page_obj"].paginator.count == 24
    assert len(first.context["products"]) == 20
    assert client.get(url("shop_dashboard", shop.slug), {"page": 2}).context["products"].__len__() == 4

    drafts = client.get(url("shop_dashboard", shop.slug), {"status": "draft"})
    assert [p.title for p in drafts.context["products"]] == ["Soap bar"]
    found = client.get(url("shop_dashboard", shop.slug), {"q": "candle 1"})
    # Every word must be in the title: "candle" and "1".
    assert {p.title for p in found.context["products"]} == {f"Candle {n}" for n in range(23) if "1" in str(n)}


def test_unpublish_toggle_and_publish_refused_without_variants(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    live = published_product(shop=shop)
    empty = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None)

    response = client.post(url("product_publish", shop.slug, live.pk), {"action": "unpublish"}, **HTMX)
    assert response.status_code == 200 and ">Publish<" in response.content.decode()
    live.refresh_from_db()
    assert live.status == ProductStatus.DRAFT

    response = client.post(url("product_publish", shop.slug, empty.pk), {"action": "publish"}, **HTMX)
    assert response.status_code == 422
    assert "Add at least one variant" in response.content.decode()
    empty.refresh_from_db()
    assert empty.status == ProductStatus.DRAFT

    # Without HTMX the same refusal comes back as a message on the product page.
    response = client.post(url("product_publish", shop.slug, empty.pk), {"action": "publish"}, follow=True)
    assert "Add at least one variant" in response.content.decode()


def test_photo_removal_with_htmx(shop_owner: tuple[Shop, Any], product: Product, image_bytes: Any) -> None:
    shop, owner = shop_owner
    photo = catalog_services.add_image(actor=owner, product=product, upload=photo_upload(image_bytes))
    kept = catalog_services.add_image(actor=owner, product=product, upload=photo_upload(image_bytes))
    client = logged_in(owner)

    response = client.post(url("photo_remove", shop.slug, product.pk, photo.pk), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="photos"')
    assert f'id="photo-{kept.pk}"' in body and f'id="photo-{photo.pk}"' not in body
    assert list(product.images.values_list("pk", flat=True)) == [kept.pk]


def test_variant_delete_and_last_variant_of_published_product(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    product = published_product(shop=shop, variant__sku="ONLY-1")
    extra = VariantFactory(product=product, sku="EXTRA-1")
    only = product.variants.get(sku="ONLY-1")

    response = client.post(url("variant_delete", shop.slug, product.pk, extra.pk), **HTMX)
    assert response.status_code == 200 and "EXTRA-1" not in response.content.decode()
    assert not Variant.objects.filter(pk=extra.pk).exists()

    response = client.post(url("variant_delete", shop.slug, product.pk, only.pk), **HTMX)
    assert response.status_code == 422
    assert "keeps at least one variant" in response.content.decode()
    assert Variant.objects.filter(pk=only.pk).exists()


def test_delete_product_asks_first(shop_owner: tuple[Shop, Any], product: Product) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    confirm = client.get(url("product_delete", shop.slug, product.pk))
    assert confirm.status_code == 200 and "Linen towel" in confirm.content.decode()
    assert Product.objects.filter(pk=product.pk).exists()

    response = client.post(url("product_delete", shop.slug, product.pk))
    assert response.status_code == 302 and response["Location"] == url("shop_dashboard", shop.slug)
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Variant.objects.filter(product_id=product.pk).exists()


def test_edit_product_details(shop_owner: tuple[Shop, Any], product: Product) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    page = client.get(url("product_edit", shop.slug, product.pk))
    assert url("product", shop.slug, product.slug) in page.content.decode()

    response = client.post(
        url("product_edit", shop.slug, product.pk),
        {"title": "Linen towel, large", "slug": "linen-towel-large", "description": "Soft.", "tags": "#bath, Linen"},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.title, product.slug, product.description) == ("Linen towel, large", "linen-towel-large", "Soft.")
    assert sorted(t.name for t in product.tags.all()) == ["bath", "linen"]


def test_settings_logo_and_open_close(shop_owner: tuple[Shop, Any], image_bytes: Any) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    response = client.post(
        url("shop_settings", shop.slug),
        {"name": "Renamed", "slug": "renamed", "description": "New.", "currency": "USD", "country": "DE"},
    )
    assert response.status_code == 302 and response["Location"] == url("shop_settings", "renamed")
    shop.refresh_from_db()
    assert (shop.name, shop.slug, shop.currency, shop.country.code) == ("Renamed", "renamed", "USD", "DE")

    response = client.post(url("shop_logo", shop.slug), {"logo": photo_upload(image_bytes)})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.logo and shop.logo_thumbnail
    assert shop.logo_thumbnail.url in client.get(url("shop_settings", shop.slug)).content.decode()

    client.post(url("shop_set_active", shop.slug), {"is_active": "0"})
    shop.refresh_from_db()
    assert not shop.is_active
    assert Client().get(url("shop", shop.slug)).status_code == 404
    assert client.get(url("shop_dashboard", shop.slug)).status_code == 200  # staff still see it
    client.post(url("shop_set_active", shop.slug), {"is_active": "1"})
    shop.refresh_from_db()
    assert shop.is_active


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"price": "-1"}, "price", "cannot be negative"),
        ({"price": "1.999"}, "price", "at most 2 decimal places"),
        ({"price": "abc"}, "price", "is not a number"),
        ({"sku": "DUP-1"}, "sku", "already has a variant with the SKU"),
        ({"stock_quantity": "-3"}, "stock_quantity", "greater than or equal to 0"),
        ({"options": "size"}, "options", "name=value"),
        ({"title": ""}, "title", "required"),
    ],
)
def test_product_create_rejects_bad_input_and_writes_nothing(
    shop_owner: tuple[Shop, Any], overrides: dict[str, str], field: str, message: str
) -> None:
    shop, owner = shop_owner
    VariantFactory(product=ProductFactory(shop=shop), sku="DUP-1")
    client = logged_in(owner)
    before = (Product.objects.count(), Variant.objects.count())

    response = client.post(url("product_create", shop.slug), product_post(**overrides))

    assert response.status_code in (409, 422)
    assert any(message in str(error) for error in response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert (Product.objects.count(), Variant.objects.count()) == before


def test_duplicate_shop_slug_is_a_form_error(shop_owner: tuple[Shop, Any]) -> None:
    shop, _ = shop_owner
    client = logged_in(UserFactory())
    response = client.post(
        url("shop_create"), {"name": "Another", "slug": shop.slug, "currency": "EUR", "country": "LV"}
    )
    assert response.status_code == 409
    assert "is taken" in response.context["form"].errors["slug"][0]
    assert Shop.objects.count() == 1


def test_shop_create_requires_known_currency_and_country(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(url("shop_create"), {"name": "X", "currency": "XXX", "country": "ZZ"})
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"currency", "country"}
    assert not Shop.objects.exists()


def test_non_image_upload_is_refused(shop_owner: tuple[Shop, Any], product: Product, image_bytes: Any) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)

    def fake() -> SimpleUploadedFile:
        return SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")

    # One bad file in a batch: nothing of the batch is stored.
    response = client.post(
        url("product_photos", shop.slug, product.pk), {"images": [photo_upload(image_bytes), fake()]}
    )
    assert response.status_code == 422
    assert "evil.jpg: The file is not an image" in response.context["photo_form"].errors["images"][0]
    assert not ProductImage.objects.exists()

    response = client.post(url("shop_logo", shop.slug), {"logo": fake()})
    assert response.status_code == 422
    assert "not an image" in response.context["logo_form"].errors["logo"][0]
    shop.refresh_from_db()
    assert not shop.logo


def test_variant_bad_input_over_htmx_writes_nothing(shop_owner: tuple[Shop, Any], product: Product) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    variant = product.variants.get()
    VariantFactory(product=product, sku="TAKEN-1")

    response = client.post(url("variant_add", shop.slug, product.pk), variant_post(sku="taken-1"), **HTMX)
    assert response.status_code == 409
    assert "already has a variant" in response.content.decode()
    assert product.variants.count() == 2

    response = client.post(
        url("variant_edit", shop.slug, product.pk, variant.pk),
        variant_post(sku="TOWEL-1", price="1.999", stock_quantity="50"),
        **HTMX,
    )
    assert response.status_code == 422
    assert 'class="editing"' in response.content.decode() and "decimal places" in response.content.decode()
    variant.refresh_from_db()
    assert (variant.price, variant.stock_quantity) == (Decimal("9.90"), 3)

    response = client.post(url("stock_set", shop.slug, variant.pk), {"stock_quantity": "-1"}, **HTMX)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.content.decode()
    variant.refresh_from_db()
    assert variant.stock_quantity == 3


def test_variant_add_without_htmx_shows_the_page_with_errors(shop_owner: tuple[Shop, Any], product: Product) -> None:
    shop, owner = shop_owner
    response = logged_in(owner).post(url("variant_add", shop.slug, product.pk), variant_post(price="-5"))
    assert response.status_code == 422
    assert "<html" in response.content.decode()
    assert "cannot be negative" in response.context["variant_form"].errors["price"][0]
    assert product.variants.count() == 1


def test_currency_cannot_change_once_products_exist(shop_owner: tuple[Shop, Any], product: Product) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    response = client.post(
        url("shop_settings", shop.slug),
        {"name": "New name", "slug": shop.slug, "description": "", "currency": "USD", "country": "LV"},
    )
    assert response.status_code == 422
    assert "cannot change once the shop has products" in response.context["form"].errors["currency"][0]
    shop.refresh_from_db()
    assert (shop.name, shop.currency) == (product.shop.name, "EUR")  # the name did not change either


# --- rights ----------------------------------------------------------------------------------
def _all_endpoints(shop: Shop, product: Product, variant: Variant, photo: ProductImage) -> list[tuple[str, str, dict]]:
    s, p, v = shop.slug, product.pk, variant.pk
    return [
        ("get", url("shop_dashboard", s), {}),
        ("get", url("shop_settings", s), {}),
        ("post", url("shop_settings", s), {"name": "Hacked", "slug": s, "currency": "EUR", "country": "LV"}),
        ("post", url("shop_logo", s), {}),
        ("post", url("shop_set_active", s), {"is_active": "0"}),
        ("get", url("shop_staff", s), {}),
        ("post", url("shop_staff", s), {"email": "intruder@example.com", "role": "owner"}),
        ("get", url("product_create", s), {}),
        ("post", url("product_create", s), product_post()),
        ("get", url("product_edit", s, p), {}),
        ("post", url("product_edit", s, p), {"title": "Hacked", "slug": "hacked"}),
        ("post", url("product_publish", s, p), {"action": "unpublish"}),
        ("get", url("product_delete", s, p), {}),
        ("post", url("product_delete", s, p), {}),
        ("post", url("product_photos", s, p), {}),
        ("post", url("photo_remove", s, p, photo.pk), {}),
        ("post", url("variant_add", s, p), variant_post(sku="NEW-1")),
        ("get", url("variant_row", s, p, v), {}),
        ("get", url("variant_edit", s, p, v), {}),
        ("post", url("variant_edit", s, p, v), variant_post(sku="HACK", price="0")),
        ("post", url("variant_delete", s, p, v), {}),
        ("get", url("stock", s), {}),
        ("post", url("stock_set", s, v), {"stock_quantity": "0"}),
    ]


@pytest.fixture
def victim(image_bytes: Any) -> dict[str, Any]:
    shop, owner = shop_with_owner(currency="EUR", name="Victim")
    product = published_product(shop=shop, title="Victim's vase", variant__sku="VASE-1", variant__stock_quantity=9)
    VariantFactory(product=product, sku="VASE-2")
    photo = catalog_services.add_image(actor=owner, product=product, upload=photo_upload(image_bytes))
    return {
        "shop": shop,
        "owner": owner,
        "product": product,
        "variant": product.variants.get(sku="VASE-1"),
        "photo": photo,
    }


def _victim_unchanged(victim: dict[str, Any]) -> None:
    shop, product, variant = victim["shop"], victim["product"], victim["variant"]
    shop.refresh_from_db()
    product.refresh_from_db()
    variant.refresh_from_db()
    assert (shop.name, shop.is_active) == ("Victim", True)
    assert (product.title, product.status) == ("Victim's vase", ProductStatus.PUBLISHED)
    assert (variant.sku, variant.stock_quantity) == ("VASE-1", 9)
    assert product.variants.count() == 2 and product.images.count() == 1
    assert Product.objects.filter(shop=shop).count() == 1
    assert not Invitation.objects.exists()


def test_anonymous_is_sent_to_login_everywhere(victim: dict[str, Any]) -> None:
    client = Client()
    endpoints = [("get", url("dashboard"), {}), ("get", url("shop_create"), {})]
    endpoints += _all_endpoints(victim["shop"], victim["product"], victim["variant"], victim["photo"])
    for method, path, data in endpoints:
        response = getattr(client, method)(path, data)
        assert response.status_code == 302, path
        assert response["Location"].startswith(url("login") + "?next="), path
    _victim_unchanged(victim)


def test_another_shops_owner_gets_403_or_404_everywhere(victim: dict[str, Any]) -> None:
    _, intruder = shop_with_owner(currency="EUR")
    client = logged_in(intruder)
    for method, path, data in _all_endpoints(victim["shop"], victim["product"], victim["variant"], victim["photo"]):
        response = getattr(client, method)(path, data, **HTMX)
        assert response.status_code in (403, 404), (path, response.status_code)
    _victim_unchanged(victim)


def test_ids_from_another_shop_through_my_own_shop_are_404(victim: dict[str, Any], image_bytes: Any) -> None:
    """The shop in the URL is mine, the product, variant or photo id is someone else's."""
    mine, me = shop_with_owner(currency="EUR")
    my_product = published_product(shop=mine, variant__sku="MINE-1")
    my_variant = my_product.variants.get()
    their_product, their_variant, their_photo = victim["product"], victim["variant"], victim["photo"]
    client = logged_in(me)
    s = mine.slug
    cases = [
        ("get", url("product_edit", s, their_product.pk), {}),
        ("post", url("product_edit", s, their_product.pk), {"title": "Hacked", "slug": "hacked"}),
        ("post", url("product_publish", s, their_product.pk), {"action": "unpublish"}),
        ("post", url("product_delete", s, their_product.pk), {}),
        ("post", url("product_photos", s, their_product.pk), {"images": [photo_upload(image_bytes)]}),
        ("post", url("photo_remove", s, their_product.pk, their_photo.pk), {}),
        ("post", url("photo_remove", s, my_product.pk, their_photo.pk), {}),
        ("post", url("variant_add", s, their_product.pk), variant_post(sku="NEW-1")),
        ("get", url("variant_edit", s, my_product.pk, their_variant.pk), {}),
        (
            "post",
            url("variant_edit", s, my_product.pk, their_variant.pk),
            variant_post(sku="VASE-1", stock_quantity="0"),
        ),
        ("post", url("variant_edit", s, their_product.pk, their_variant.pk), variant_post(sku="VASE-1", price="0")),
        ("post", url("variant_delete", s, my_product.pk, their_variant.pk), {}),
        ("post", url("stock_set", s, their_variant.pk), {"stock_quantity": "0"}),
    ]
    for method, path, data in cases:
        response = getattr(client, method)(path, data, **HTMX)
        assert response.status_code == 404, (path, response.status_code)
    _victim_unchanged(victim)
    assert my_variant.pk in set(my_product.variants.values_list("pk", flat=True))


def test_support_sees_but_cannot_change(victim: dict[str, Any]) -> None:
    shop, product, variant = victim["shop"], victim["product"], victim["variant"]
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    client = logged_in(support)

    dashboard = client.get(url("shop_dashboard", shop.slug)).content.decode()
    assert "Victim&#x27;s vase" in dashboard
    assert (
        url("product_create", shop.slug) not in dashboard
        and url("product_publish", shop.slug, product.pk) not in dashboard
    )
    edit = client.get(url("product_edit", shop.slug, product.pk))
    assert edit.status_code == 200
    body = edit.content.decode()
    assert (
        url("variant_add", shop.slug, product.pk) not in body
        and url("product_delete", shop.slug, product.pk) not in body
    )
    assert all(field.disabled for field in edit.context["form"].fields.values())
    stock = client.get(url("stock", shop.slug)).content.decode()
    assert "VASE-1" in stock and url("stock_set", shop.slug, variant.pk) not in stock
    staff = client.get(url("shop_staff", shop.slug)).content.decode()
    assert "Invite someone" not in staff and url("staff_role", shop.slug, victim["owner"].pk) not in staff
    assert url("shop_settings", shop.slug) not in client.get(url("shop_dashboard", shop.slug)).content.decode()

    writes = [(m, p, d) for m, p, d in _all_endpoints(shop, product, variant, victim["photo"]) if m == "post"]
    writes += [
        ("get", url("product_create", shop.slug), {}),
        ("get", url("product_delete", shop.slug, product.pk), {}),
        ("get", url("variant_edit", shop.slug, product.pk, variant.pk), {}),
        ("get", url("shop_settings", shop.slug), {}),
    ]
    for method, path, data in writes:
        response = getattr(client, method)(path, data, **HTMX)
        assert response.status_code == 403, (path, response.status_code)
    _victim_unchanged(victim)


def test_manager_manages_products_but_not_staff(victim: dict[str, Any]) -> None:
    shop, owner = victim["shop"], victim["owner"]
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    client = logged_in(manager)

    response = client.post(url("product_create", shop.slug), product_post(sku="MGR-1"))
    assert response.status_code == 302
    assert Product.objects.filter(shop=shop, title="Stoneware mug").exists()
    assert client.get(url("shop_settings", shop.slug)).status_code == 200

    staff_page = client.get(url("shop_staff", shop.slug)).content.decode()
    assert "Invite someone" not in staff_page
    for path, data in [
        (url("shop_staff", shop.slug), {"email": "friend@example.com", "role": "manager"}),
        (url("staff_role", shop.slug, owner.pk), {"role": "support"}),
        (url("staff_role", shop.slug, manager.pk), {"role": "owner"}),
        (url("staff_remove", shop.slug, owner.pk), {}),
        (url("shop_set_active", shop.slug), {"is_active": "0"}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert not Invitation.objects.exists()
    assert Membership.objects.get(shop=shop, user=owner).role == Role.OWNER
    assert Membership.objects.get(shop=shop, user=manager).role == Role.MANAGER
    shop.refresh_from_db()
    assert shop.is_active


# --- staff and invitations ------------------------------------------------------------------------
def test_invitation_flow_by_mail(
    shop_owner: tuple[Shop, Any], client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    shop, owner = shop_owner
    owner_client = logged_in(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("shop_staff", shop.slug), {"email": "New.Hire@Example.com", "role": "manager"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.hire@example.com"]
    match = re.search(r"https?://\S+/invitations/([\w-]+)/", mail.outbox[0].body)
    assert match
    link_path = url("invitation", match.group(1))
    assert "new.hire@example.com" in owner_client.get(url("shop_staff", shop.slug)).content.decode()

    # Anonymous: told to sign in with that address, with a way back here.
    page = client.get(link_path).content.decode()
    assert shop.name in page and "Manager" in page and owner.public_name in page
    assert f"{url('login')}?next={link_path}" in page and f"{url('signup')}?next={link_path}" in page
    response = client.post(link_path)
    assert response.status_code == 302 and response["Location"].startswith(url("login"))

    # The wrong account is refused.
    wrong = logged_in(UserFactory(email="someone.else@example.com"))
    assert "Sign out, then sign in with" in wrong.get(link_path).content.decode()
    response = wrong.post(link_path)
    assert response.status_code == 422
    assert "This invitation was sent to new.hire@example.com" in response.content.decode()
    assert Membership.objects.filter(shop=shop).count() == 1

    # The invited address signs in and accepts.
    invited = UserFactory(email="new.hire@example.com")
    assert client.login(username="new.hire@example.com", password=PASSWORD)
    assert "Accept the invitation" in client.get(link_path).content.decode()
    response = client.post(link_path)
    assert response.status_code == 302 and response["Location"] == url("shop_dashboard", shop.slug)
    assert Membership.objects.get(shop=shop, user=invited).role == Role.MANAGER
    assert client.get(url("shop_dashboard", shop.slug)).status_code == 200

    # A used link does not work twice.
    assert client.post(link_path).status_code == 422
    assert Client().get(url("invitation", "no-such-token")).status_code == 404


def test_revoke_invitation(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    client.post(url("shop_staff", shop.slug), {"email": "maybe@example.com", "role": "support"})
    invitation = Invitation.objects.get()
    response = client.post(url("invitation_revoke", shop.slug, invitation.pk))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert f'id="invitation-{invitation.pk}"' not in client.get(url("shop_staff", shop.slug)).content.decode()

    invited = logged_in(UserFactory(email="maybe@example.com"))
    assert invited.post(url("invitation", invitation.token)).status_code == 422
    assert not Membership.objects.filter(user__email="maybe@example.com").exists()


def test_invite_bad_input(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)
    response = client.post(url("shop_staff", shop.slug), {"email": "not-an-address", "role": "manager"})
    assert response.status_code == 422 and "email" in response.context["invite_form"].errors
    response = client.post(url("shop_staff", shop.slug), {"email": owner.email, "role": "manager"})
    assert response.status_code == 422
    assert "already on the staff" in response.context["invite_form"].errors["email"][0]
    assert not Invitation.objects.exists() and not mail.outbox


def test_roles_change_remove_leave_and_the_last_owner_rule(shop_owner: tuple[Shop, Any]) -> None:
    shop, owner = shop_owner
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    client = logged_in(owner)

    page = client.get(url("shop_staff", shop.slug)).content.decode()
    assert "What each role may do" in page and "Invite and remove staff" in page

    # The last owner can neither step down nor leave: the rule's message is shown.
    response = client.post(url("staff_role", shop.slug, owner.pk), {"role": "manager"})
    assert response.status_code == 409 and "at least one owner" in response.content.decode()
    response = client.post(url("staff_remove", shop.slug, owner.pk))
    assert response.status_code == 409 and "at least one owner" in response.content.decode()
    assert Membership.objects.get(shop=shop, user=owner).role == Role.OWNER

    assert client.post(url("staff_role", shop.slug, manager.pk), {"role": "owner"}).status_code == 302
    assert Membership.objects.get(shop=shop, user=manager).role == Role.OWNER
    assert client.post(url("staff_role", shop.slug, manager.pk), {"role": "boss"}).status_code == 422
    assert client.post(url("staff_remove", shop.slug, support.pk)).status_code == 302
    assert not Membership.objects.filter(shop=shop, user=support).exists()

    # With a second owner, the first may leave; then the shop is gone from their dashboard.
    response = client.post(url("staff_remove", shop.slug, owner.pk))
    assert response.status_code == 302 and response["Location"] == url("dashboard")
    assert not Membership.objects.filter(shop=shop, user=owner).exists()
    assert client.get(url("shop_dashboard", shop.slug)).status_code == 403


def test_support_can_leave(shop_owner: tuple[Shop, Any]) -> None:
    shop, _ = shop_owner
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    client = logged_in(support)
    assert client.post(url("staff_remove", shop.slug, support.pk)).status_code == 302
    assert not Membership.objects.filter(shop=shop, user=support).exists()


# --- queries --------------------------------------------------------------------------------
def _dashboard_queries(client: Client, shop: Shop) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url("shop_dashboard", shop.slug))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_shop_dashboard_query_count_does_not_grow_with_products(shop_owner: tuple[Shop, Any], image_bytes: Any) -> None:
    shop, owner = shop_owner
    client = logged_in(owner)

    def add_products(count: int) -> None:
        for _ in range(count):
            product = ProductFactory(shop=shop)
            VariantFactory(product=product)
            VariantFactory(product=product, stock_quantity=0)
            catalog_services.add_image(actor=owner, product=product, upload=photo_upload(image_bytes))

    add_products(2)
    client.get(url("shop_dashboard", shop.slug))  # warm the session and caches
    few = _dashboard_queries(client, shop)
    add_products(28)
    many = _dashboard_queries(client, shop)
    assert many == few, f"{few} queries with 2 products, {many} with 30"
    assert few <= 11  # the header's cart count and unread notifications included

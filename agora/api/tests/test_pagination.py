"""Pagination of list endpoints, and query budgets that do not grow with the page or the data."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductImage, Tag
from agora.catalog.tests.factories import ProductFactory, VariantFactory, published_product
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner

pytestmark = pytest.mark.django_db


def count_queries(client, path, data=None) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.call("GET", path, data)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


def make_catalog(shop, products: int, *, variants: int = 3, photos: int = 2, tags: int = 2) -> None:
    tag_rows = [Tag.objects.get_or_create(name=f"tag{i}")[0] for i in range(tags)]
    for _ in range(products):
        product = ProductFactory(shop=shop)
        for v in range(variants):
            VariantFactory(product=product, price=Decimal(10 + v))
        ProductImage.objects.bulk_create(
            ProductImage(
                product=product,
                image="p.jpg",
                thumbnail_small="s.jpg",
                thumbnail_medium="m.jpg",
                width=1,
                height=1,
                position=i,
            )
            for i in range(photos)
        )
        product.tags.set(tag_rows)


# --- the envelope --------------------------------------------------------------------
def test_pages_have_counts_and_links(api):
    shop = ShopFactory()
    for _ in range(5):
        published_product(shop=shop)

    first = api.call("GET", "products", {"page_size": 2, "sort": "newest"}).json()
    last = api.call("GET", "products", {"page_size": 2, "page": 3}).json()
    beyond = api.call("GET", "products", {"page_size": 2, "page": 9}).json()

    assert (first["count"], first["page"], first["pages"], len(first["items"])) == (5, 1, 3, 2)
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/products?")
    assert "page=2" in first["next"] and "page_size=2" in first["next"] and "sort=newest" in first["next"]
    assert (len(last["items"]), last["next"]) == (1, None)
    assert "page=2" in last["previous"]
    assert beyond["items"] == [] and beyond["next"] is None and "page=3" in beyond["previous"]


def test_pages_do_not_overlap(api):
    for _ in range(7):
        published_product()

    seen = [
        p["id"]
        for page in (1, 2, 3)
        for p in api.call("GET", "products", {"page": page, "page_size": 3}).json()["items"]
    ]

    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "two"}, "page"),
        ({"page": 10**12}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": 10**9}, "page_size"),
    ],
)
@pytest.mark.parametrize("path", ["products", "shops", "auth/tokens"])
def test_bad_page_parameters_are_422_with_a_clear_message(api_as, path, query, field):
    response = api_as(UserFactory()).call("GET", path, query)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert response.json()["field"] == field
    assert response.json()["detail"].startswith(f"{field}: ")


def test_page_size_up_to_100_is_honoured(api):
    shop = ShopFactory()
    ProductFactory.create_batch(101, shop=shop)

    body = api.call("GET", "products", {"page_size": 100}).json()

    assert (body["count"], len(body["items"]), body["pages"]) == (101, 100, 2)


# --- query budgets -------------------------------------------------------------------
def test_product_list_runs_a_fixed_number_of_queries(api, api_as):
    shop = ShopFactory()
    make_catalog(shop, 30)

    small, small_body = count_queries(api, "products", {"page_size": 5})
    large, large_body = count_queries(api, "products", {"page_size": 30})
    tagged, _ = count_queries(api, "products", {"page_size": 30, "tag": "tag1", "q": "product", "sort": "price_asc"})

    assert len(small_body["items"]) == 5 and len(large_body["items"]) == 30
    assert all(p["photo"] is not None and p["price_from"] == "10.00" for p in large_body["items"])
    # COUNT, the page of products (shop, category and lowest price joined in), their photos.
    assert small == large == tagged == 3

    owner = UserFactory()
    MembershipFactory(shop=shop, user=owner, role=Role.OWNER)
    client = api_as(owner)
    client.call("GET", "me")  # the first use of a token records it; measure the steady state
    as_staff, staff_body = count_queries(client, "products", {"page_size": 30, "shop": shop.slug})
    assert staff_body["count"] == 30
    # + the token, the shop and the caller's role in it.
    assert as_staff == 6


def test_product_page_runs_a_fixed_number_of_queries(api, api_as):
    shop, owner = shop_with_owner()
    make_catalog(shop, 1, variants=1, photos=1, tags=1)
    make_catalog(shop, 1, variants=20, photos=8, tags=6)
    small_id, big_id = shop.products.order_by("id").values_list("id", flat=True)

    small, _ = count_queries(api, f"products/{small_id}")
    big, body = count_queries(api, f"products/{big_id}")

    assert (len(body["variants"]), len(body["photos"]), len(body["tags"])) == (20, 8, 6)
    # The product with shop and category, then its tags, photos and variants.
    assert small == big == 4

    client = api_as(owner)
    client.call("GET", "me")
    staff, staff_body = count_queries(client, f"products/{big_id}")
    assert all(v["stock_quantity"] is not None for v in staff_body["variants"])
    # + the token and the caller's role in the shop (asked once, not per variant).
    assert staff == 6


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("shops", 3),
        ("shops/{slug}/staff", 5),
        ("shops/{slug}/stock", 5),
        ("shops/{slug}/invitations", 5),
        ("shops/{slug}/products", 6),
        ("me/shops", 3),
        ("auth/tokens", 3),
    ],
)
def test_other_lists_do_not_grow_with_the_page(api_as, path, expected):
    shop, owner = shop_with_owner()
    for _ in range(12):
        other = ShopFactory()
        MembershipFactory(shop=other, user=owner, role=Role.MANAGER)
        published_product(shop=other)
        MembershipFactory(shop=shop, role=Role.SUPPORT)
        VariantFactory(product=ProductFactory(shop=shop))
        shop.invitations.create(
            email=f"{other.slug}@example.com",
            role=Role.SUPPORT,
            token=other.slug,
            expires_at="2100-01-01T00:00Z",
            invited_by=owner,
        )
    client = api_as(owner)
    for _ in range(11):
        api_as(owner)  # more tokens
    client.call("GET", "me")
    url = path.format(slug=shop.slug)

    small, small_body = count_queries(client, url, {"page_size": 2})
    large, large_body = count_queries(client, url, {"page_size": 12})

    assert len(small_body["items"]) == 2 and len(large_body["items"]) == 12
    assert small == large == expected

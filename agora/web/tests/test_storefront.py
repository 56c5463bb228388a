"""The public storefront pages: rendering, search, drafts, structured data and query budgets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from agora.accounts.tests.factories import UserFactory
from agora.catalog import services as catalog_services
from agora.catalog.models import Product, ProductStatus, Tag
from agora.catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory, published_product
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner
from agora.web.templatetags.money import money

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"


def html(response: Any) -> str:
    return response.content.decode()


def meta(page: str, prop: str) -> str | None:
    match = re.search(rf'<meta property="{re.escape(prop)}" content="([^"]*)"', page)
    return match.group(1) if match else None


def canonical(page: str) -> str:
    match = re.search(r'<link rel="canonical" href="([^"]*)"', page)
    assert match, "no canonical link"
    return match.group(1)


def card_titles(page: str) -> list[str]:
    return re.findall(r'<h3 class="card-title">([^<]*)</h3>', page)


def json_ld(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match, "no JSON-LD"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def add_photo(product: Product, owner: Any, image_bytes: Callable[..., bytes], color: str = "teal") -> None:
    upload = SimpleUploadedFile("p.jpg", image_bytes(color=color), content_type="image/jpeg")
    catalog_services.add_image(actor=owner, product=product, upload=upload)


@pytest.fixture
def catalog() -> dict[str, Any]:
    parent = CategoryFactory(name="Home & Living", slug="home-living")
    child = CategoryFactory(name="Ceramics", slug="ceramics", parent=parent)
    shop, owner = shop_with_owner(name="Clay Studio", slug="clay-studio", currency="EUR")
    mug = published_product(
        shop=shop, title="Blue mug", slug="blue-mug", category=child, variant__price=Decimal("12.50")
    )
    return {"parent": parent, "child": child, "shop": shop, "owner": owner, "mug": mug}


# --- every page ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/", "Shop from independent sellers · Agora"),
        ("/search/?q=mug", "“mug”: search · Agora"),
        ("/search/", "All products · Agora"),
        ("/c/ceramics/", "Ceramics · Agora"),
        ("/s/", "Shops · Agora"),
        ("/s/clay-studio/", "Clay Studio · Agora"),
        ("/s/clay-studio/p/blue-mug/", "Blue mug — Clay Studio · Agora"),
        ("/accounts/login/", "Sign in · Agora"),
        ("/accounts/signup/", "Create your account · Agora"),
        ("/accounts/password/reset/", "Reset your password · Agora"),
        ("/accounts/password/reset/sent/", "Check your mail · Agora"),
    ],
)
def test_page_has_title_description_opengraph_and_canonical(
    client: Client, catalog: dict[str, Any], url: str, title: str
) -> None:
    response = client.get(url)

    assert response.status_code == 200
    page = html(response)
    assert f"<title>{title}</title>" in page
    assert re.search(r'<meta name="description" content="[^"]{10,}">', page)
    path = url.split("?")[0]
    assert canonical(page) == SITE + path
    assert meta(page, "og:url") == SITE + path
    assert meta(page, "og:title") == title.removesuffix(" · Agora")
    assert meta(page, "og:site_name") == "Agora"
    assert (meta(page, "og:image") or "").startswith("http")
    assert '<html lang="en">' in page


def test_profile_page_shows_public_data_and_owned_shops_but_never_the_email(
    client: Client, catalog: dict[str, Any]
) -> None:
    owner = catalog["owner"]
    owner.bio = "I make pots."
    owner.save()

    page = html(client.get(f"/u/{owner.username}/"))

    assert owner.public_name in page
    assert "I make pots." in page
    assert "Clay Studio" in page
    assert owner.email not in page
    assert canonical(page) == f"{SITE}/u/{owner.username}/"
    assert meta(page, "og:type") == "profile"


def test_unknown_pages_get_a_friendly_404(client: Client, catalog: dict[str, Any]) -> None:
    for url in ["/c/nope/", "/s/nope/", "/s/clay-studio/p/nope/", "/u/nobody/", "/search/?category=nope", "/no/such/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Go to the home page" in html(response)


def test_server_error_page_needs_no_request_or_database() -> None:
    page = render_to_string("500.html")

    assert "<title>Something went wrong · Agora</title>" in page
    assert "{%" not in page


def test_robots_txt(client: Client) -> None:
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /accounts/" in html(response)


# --- search ---------------------------------------------------------------------------------
def test_search_finds_by_title_description_tag_and_shop_name(client: Client, catalog: dict[str, Any]) -> None:
    other_shop = ShopFactory(name="Wool Works", slug="wool-works")
    published_product(shop=other_shop, title="Scarf", slug="scarf", description="Knitted from merino.")
    tagged = published_product(title="Candle", slug="candle")
    tagged.tags.add(Tag.objects.create(name="cozy"))

    assert card_titles(html(client.get("/search/?q=mug"))) == ["Blue mug"]
    assert card_titles(html(client.get("/search/?q=merino"))) == ["Scarf"]
    assert card_titles(html(client.get("/search/?q=cozy"))) == ["Candle"]
    assert card_titles(html(client.get("/search/?q=wool"))) == ["Scarf"]
    assert card_titles(html(client.get("/search/?tag=cozy"))) == ["Candle"]
    page = html(client.get("/search/?q=zzzzzz"))
    assert card_titles(page) == []
    assert "No products found." in page


def test_search_sorts_by_price_both_ways(client: Client) -> None:
    shop = ShopFactory(currency="USD")
    for title, price in [("Mid", "20.00"), ("Cheap", "5.00"), ("Dear", "99.00")]:
        published_product(shop=shop, title=f"Lamp {title}", variant__price=Decimal(price))

    ascending = card_titles(html(client.get("/search/?q=lamp&sort=price_asc")))
    descending = card_titles(html(client.get("/search/?q=lamp&sort=price_desc")))

    assert ascending == ["Lamp Cheap", "Lamp Mid", "Lamp Dear"]
    assert descending == ["Lamp Dear", "Lamp Mid", "Lamp Cheap"]
    assert "$5.00" in html(client.get("/search/?q=lamp&sort=price_asc"))


def test_search_by_category_includes_subcategories(client: Client, catalog: dict[str, Any]) -> None:
    published_product(title="Sofa", slug="sofa")  # no category

    page = html(client.get("/search/?category=home-living"))

    assert card_titles(page) == ["Blue mug"]
    assert card_titles(html(client.get("/c/home-living/"))) == ["Blue mug"]


def test_search_paginates_24_per_page_and_canonical_keeps_only_the_page(client: Client) -> None:
    shop = ShopFactory()
    for n in range(30):
        published_product(shop=shop, title=f"Bead {n:02d}")

    first = html(client.get("/search/?q=bead"))
    second = html(client.get("/search/?q=bead&page=2&sort=newest"))
    beyond = client.get("/search/?q=bead&page=99")

    assert len(card_titles(first)) == 24
    assert "30 products" in first
    assert len(card_titles(second)) == 6
    assert not set(card_titles(first)) & set(card_titles(second))
    assert canonical(first) == f"{SITE}/search/"
    assert canonical(second) == f"{SITE}/search/?page=2"
    assert 'rel="next"' in first and "page=2" in first
    assert beyond.status_code == 200 and len(card_titles(html(beyond))) == 6


def test_htmx_sort_swaps_only_the_results(client: Client, catalog: dict[str, Any]) -> None:
    response = client.get("/search/?q=mug&sort=price_desc", headers={"HX-Request": "true", "HX-Target": "results"})

    page = html(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith('<section id="results"')
    assert card_titles(page) == ["Blue mug"]
    assert "HX-Request" in response["Vary"]
    # A history restore needs the whole page.
    restore = client.get("/search/?q=mug", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in html(restore)


def test_full_page_has_htmx_wiring(client: Client, catalog: dict[str, Any]) -> None:
    page = html(client.get("/search/?q=mug"))

    assert 'src="/static/web/vendor/htmx.min.js"' in page
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    assert 'hx-target="#results"' in page and 'hx-push-url="true"' in page


# --- shop and product -----------------------------------------------------------------------
def test_shop_page_lists_products_and_shows_manage_link_to_staff_only(client: Client, catalog: dict[str, Any]) -> None:
    ProductFactory(shop=catalog["shop"], title="Secret vase", status=ProductStatus.DRAFT, published_at=None)

    public = html(client.get("/s/clay-studio/"))
    client.force_login(catalog["owner"])
    staff = html(client.get("/s/clay-studio/"))

    assert card_titles(public) == ["Blue mug"]
    assert "Manage shop" not in public
    assert "/dashboard/s/clay-studio/" in staff
    assert "Secret vase" in staff  # staff see their drafts in their own shop
    assert "France" not in public and "Prices in EUR" in public


def test_draft_product_is_404_for_the_public_and_visible_with_a_banner_to_staff(
    client: Client, catalog: dict[str, Any]
) -> None:
    draft = ProductFactory(shop=catalog["shop"], title="Unfinished", slug="unfinished", status=ProductStatus.DRAFT)
    VariantFactory(product=draft)
    url = "/s/clay-studio/p/unfinished/"
    stranger = UserFactory()
    support = MembershipFactory(shop=catalog["shop"], role=Role.SUPPORT).user

    assert client.get(url).status_code == 404
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(support)
    response = client.get(url)
    assert response.status_code == 200
    assert "banner-warning" in html(response) and "Draft" in html(response)
    draft.refresh_from_db()
    assert draft.popularity == 0  # staff previews are not views


def test_product_page_shows_gallery_variants_tags_and_related(
    client: Client, catalog: dict[str, Any], image_bytes: Callable[..., bytes]
) -> None:
    mug = catalog["mug"]
    add_photo(mug, catalog["owner"], image_bytes, "red")
    add_photo(mug, catalog["owner"], image_bytes, "blue")
    VariantFactory(product=mug, name="Large", options={"size": "L"}, price=Decimal("15.00"), stock_quantity=2)
    VariantFactory(product=mug, name="Huge", price=Decimal("30.00"), stock_quantity=0)
    mug.tags.add(Tag.objects.create(name="handmade"))
    published_product(shop=catalog["shop"], title="Green bowl")

    response = client.get("/s/clay-studio/p/blue-mug/")
    page = html(response)

    assert response.status_code == 200
    assert page.count('<button type="button" class="gallery-thumb') == 2
    assert "data-gallery-main" in page
    assert page.count('type="radio" name="variant"') == 3
    assert 'data-price="€15.00" data-stock="2"' in page
    assert "size: L" in page
    assert "€12.50" in page and "In stock" in page
    assert 'href="/search/?tag=handmade"' in page
    assert '<a href="/c/home-living/">Home &amp; Living</a>' in page
    assert "Green bowl" in page  # related
    assert "Only __N__ left" in page  # the label the picker fills in
    mug.refresh_from_db()
    assert mug.popularity == 1


def test_product_page_can_preselect_a_variant_without_javascript(client: Client, catalog: dict[str, Any]) -> None:
    large = VariantFactory(product=catalog["mug"], name="Large", price=Decimal("15.00"), stock_quantity=3)

    page = html(client.get(f"/s/clay-studio/p/blue-mug/?variant={large.pk}"))

    assert '<p class="product-price" data-price-display>€15.00</p>' in page
    assert "Only 3 left" in page
    assert canonical(page) == f"{SITE}/s/clay-studio/p/blue-mug/"


def test_product_opengraph_and_json_ld_for_a_single_offer(
    client: Client, catalog: dict[str, Any], image_bytes: Callable[..., bytes]
) -> None:
    add_photo(catalog["mug"], catalog["owner"], image_bytes)

    page = html(client.get("/s/clay-studio/p/blue-mug/"))
    data = json_ld(page)

    assert meta(page, "og:type") == "product"
    assert meta(page, "product:price:amount") == "12.50"
    assert meta(page, "product:price:currency") == "EUR"
    assert (meta(page, "og:image") or "").startswith(f"{SITE}/media/products/")
    assert data["@type"] == "Product"
    assert data["name"] == "Blue mug"
    assert data["brand"]["name"] == "Clay Studio"
    assert data["image"][0].startswith(f"{SITE}/media/products/")
    offer = data["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "12.50"
    assert offer["priceCurrency"] == "EUR"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["sku"] == catalog["mug"].variants.get().sku
    assert offer["url"] == f"{SITE}/s/clay-studio/p/blue-mug/"


def test_json_ld_aggregate_offer_out_of_stock_and_script_safe(client: Client) -> None:
    shop = ShopFactory(slug="yen", currency="JPY")
    product = ProductFactory(shop=shop, slug="kit", title="Kit </script><script>alert(1)</script>")
    VariantFactory(product=product, price=Decimal("1500"), stock_quantity=0)
    VariantFactory(product=product, price=Decimal("900"), stock_quantity=0)

    page = html(client.get("/s/yen/p/kit/"))
    data = json_ld(page)

    assert "<script>alert(1)" not in page
    assert data["name"] == "Kit </script><script>alert(1)</script>"
    offers = data["offers"]
    assert offers["@type"] == "AggregateOffer"
    assert (offers["lowPrice"], offers["highPrice"]) == ("900", "1500")
    assert offers["priceCurrency"] == "JPY"
    assert offers["offerCount"] == 2
    assert offers["availability"] == "https://schema.org/OutOfStock"
    assert all(o["availability"] == "https://schema.org/OutOfStock" for o in offers["offers"])
    assert "Sold out" in page


def test_home_shows_newest_popular_categories_and_featured_shops(client: Client, catalog: dict[str, Any]) -> None:
    hit = published_product(title="Bestseller")
    Product.objects.filter(pk=hit.pk).update(popularity=500)

    page = html(client.get("/"))

    assert "New arrivals" in page and "Popular now" in page
    assert 'href="/c/home-living/"' in page
    assert 'href="/s/clay-studio/"' in page
    popular_section = page.split("Popular now")[1]
    assert card_titles(popular_section)[0] == "Bestseller"


def test_money_filter() -> None:
    assert money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert money(Decimal("1500"), "JPY") == "¥1,500"
    assert money(None, "EUR") == ""
    assert money("garbage", "EUR") == ""


# --- query budgets ------------------------------------------------------------------------
def _fill(shop: Any, owner: Any, count: int, image_bytes: Callable[..., bytes], category: Any) -> None:
    for n in range(count):
        product = published_product(shop=shop, title=f"Item {n}", category=category)
        VariantFactory(product=product, price=Decimal("3.00") + n)
        product.tags.add(Tag.objects.get_or_create(name=f"t{n % 3}")[0])
        if n < 3:
            add_photo(product, owner, image_bytes)


@pytest.mark.parametrize("count", [2, 24])
def test_query_budget_home_search_product(
    client: Client,
    catalog: dict[str, Any],
    image_bytes: Callable[..., bytes],
    django_assert_max_num_queries: Any,
    count: int,
) -> None:
    shop, owner = catalog["shop"], catalog["owner"]
    _fill(shop, owner, count, image_bytes, catalog["child"])
    for n in range(4):
        ShopFactory(name=f"Extra {n}")
    mug = catalog["mug"]
    for n in range(count):
        VariantFactory(product=mug, name=f"V{n}")
    for color in ("red", "blue", "green"):
        add_photo(mug, owner, image_bytes, color)
    client.force_login(UserFactory())
    client.get("/")  # warms the category cache like any running site

    # Measured: home 8, search 6, product 15 (session, user, the header's cart count and unread notifications
    # included; the product page also reads the posts that tag it, its flash deal and its team deal), whatever
    # `count` is.
    with django_assert_max_num_queries(9):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(7):
        response = client.get("/search/?q=item&sort=price_asc")
        assert response.status_code == 200
    assert len(card_titles(html(response))) == count
    with django_assert_max_num_queries(16):
        assert client.get(reverse("web:product", args=[shop.slug, mug.slug])).status_code == 200

"""The seller dashboard's delivery page through the Django test client: zones, methods, HTMX, rights."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from agora.accounts.tests.factories import UserFactory
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shipping.tests.factories import ships_to
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, *args: Any) -> str:
    return reverse(f"web:{name}", args=args)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def method_post(**overrides: Any) -> dict[str, Any]:
    data = {"name": "Courier", "price": "4.90", "free_over": "50", "min_days": "1", "max_days": "3", "is_active": "on"}
    data.update(overrides)
    return data


def test_seller_adds_a_zone_and_a_method_without_javascript():
    shop, owner = shop_with_owner(currency="EUR")
    client = logged_in(owner)

    page = client.get(url("delivery", shop.slug))
    assert page.status_code == 200
    assert "No delivery zones yet" in page.content.decode()

    added = client.post(url("delivery", shop.slug), {"name": "Baltics", "countries": "lv, LT EE"})
    assert added.status_code == 302
    zone = DeliveryZone.objects.get(shop=shop)
    assert zone.countries == ["EE", "LT", "LV"]

    method = client.post(url("delivery_method_add", shop.slug, zone.pk), method_post())
    assert method.status_code == 302
    page = client.get(url("delivery", shop.slug)).content.decode()
    assert "Latvia" in page and "Courier" in page and "€4.90" in page and "€50.00" in page
    assert "Orders" in page or "Delivery" in page  # the dashboard tabs


def test_htmx_fragments_for_zones_and_methods():
    shop, owner = shop_with_owner(currency="EUR")
    client = logged_in(owner)

    response = client.post(url("delivery", shop.slug), {"name": "World", "everywhere_else": "on"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="delivery-zones">')
    zone = DeliveryZone.objects.get(shop=shop)
    assert zone.everywhere_else

    added = client.post(url("delivery_method_add", shop.slug, zone.pk), method_post(name="Air mail"), **HTMX)
    assert added.status_code == 200
    assert added.content.decode().lstrip().startswith(f'<section id="zone-{zone.pk}"')
    method = DeliveryMethod.objects.get(zone=zone)

    edit_form = client.get(url("delivery_method_edit", shop.slug, method.pk), **HTMX)
    assert 'value="4.90"' in edit_form.content.decode()
    saved = client.post(
        url("delivery_method_edit", shop.slug, method.pk), method_post(price="7.5", free_over=""), **HTMX
    )
    assert saved.status_code == 200
    method.refresh_from_db()
    assert (method.price, method.free_over, method.is_active) == (Decimal("7.500"), None, True)
    off = client.post(url("delivery_method_edit", shop.slug, method.pk), method_post(is_active=""), **HTMX)
    assert off.status_code == 200
    method.refresh_from_db()
    assert not method.is_active

    zone_form = client.get(url("delivery_zone_edit", shop.slug, zone.pk), **HTMX)
    assert "everywhere_else" in zone_form.content.decode()
    renamed = client.post(
        url("delivery_zone_edit", shop.slug, zone.pk), {"name": "Rest of world", "everywhere_else": "on"}, **HTMX
    )
    assert renamed.status_code == 200
    assert "Rest of world" in renamed.content.decode()

    deleted = client.post(url("delivery_method_delete", shop.slug, method.pk), **HTMX)
    assert deleted.status_code == 200
    assert not DeliveryMethod.objects.exists()
    gone = client.post(url("delivery_zone_delete", shop.slug, zone.pk), **HTMX)
    assert gone.status_code == 200
    assert not DeliveryZone.objects.exists()


def test_bad_input_is_shown_next_to_the_field():
    shop, owner = shop_with_owner(currency="EUR")
    ships_to(shop, countries=["LV"])
    zone = DeliveryZone.objects.get(shop=shop)
    client = logged_in(owner)

    overlap = client.post(url("delivery", shop.slug), {"name": "Again", "countries": "LV"}, **HTMX)
    assert overlap.status_code == 422
    assert "Latvia is already in the zone" in overlap.content.decode()
    unknown = client.post(url("delivery", shop.slug), {"name": "Typo", "countries": "QQ"}, **HTMX)
    assert unknown.status_code == 422
    assert "is not a country code" in unknown.content.decode()

    bad_price = client.post(url("delivery_method_add", shop.slug, zone.pk), method_post(price="4.999"), **HTMX)
    assert bad_price.status_code == 422
    assert "at most 2 decimal places" in bad_price.content.decode()
    bad_days = client.post(
        url("delivery_method_add", shop.slug, zone.pk), method_post(min_days="9", max_days="2"), **HTMX
    )
    assert bad_days.status_code == 422
    assert "cannot be shorter" in bad_days.content.decode()
    assert DeliveryMethod.objects.filter(zone=zone).count() == 1


def test_support_sees_but_cannot_edit_and_outsiders_get_nothing():
    shop, _owner = shop_with_owner()
    method = ships_to(shop, countries=["LV"])
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user

    client = logged_in(support)
    page = client.get(url("delivery", shop.slug)).content.decode()
    assert "Courier" in page or method.name in page
    assert "Add a zone" not in page
    assert client.post(url("delivery", shop.slug), {"name": "X", "countries": "DE"}).status_code == 403
    assert client.post(url("delivery_method_edit", shop.slug, method.pk), method_post(price="0")).status_code == 403
    assert client.post(url("delivery_zone_delete", shop.slug, method.zone_id)).status_code == 403

    stranger = logged_in(UserFactory())
    assert stranger.get(url("delivery", shop.slug)).status_code == 403
    assert Client().get(url("delivery", shop.slug)).status_code == 302  # to the login page

    other_shop, other_owner = shop_with_owner()
    intruder = logged_in(other_owner)
    assert intruder.post(url("delivery_method_delete", other_shop.slug, method.pk)).status_code == 404
    assert intruder.get(url("delivery_zone_edit", other_shop.slug, method.zone_id)).status_code == 404
    assert DeliveryMethod.objects.filter(pk=method.pk).exists()


def test_delivery_page_query_budget(django_assert_max_num_queries):
    shop, owner = shop_with_owner()
    for n, code in enumerate(["DE", "FR", "IT", "ES", "PL"]):
        ships_to(shop, countries=[code], name=f"Courier {n}")
    client = logged_in(owner)
    with django_assert_max_num_queries(10):  # measured: 8, whatever the number of zones
        response = client.get(url("delivery", shop.slug))
    assert response.content.decode().count('class="dash-panel delivery-zone"') == 5

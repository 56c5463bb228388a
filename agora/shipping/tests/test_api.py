"""Delivery over the API: public quotes, and zones and methods for the shop's staff."""

from __future__ import annotations

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shipping.tests.factories import ships_to
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

pytestmark = pytest.mark.django_db


def test_seller_sets_up_delivery_and_a_shopper_gets_quotes(api, api_as):
    shop, owner = shop_with_owner(currency="EUR", country="DE")
    seller = api_as(owner)

    created = seller.call("POST", f"shops/{shop.slug}/delivery/zones", {"name": "DACH", "countries": ["de", "AT"]})
    assert created.status_code == 201, created.json()
    zone = created.json()
    assert (zone["countries"], zone["everywhere_else"], zone["methods"]) == (["AT", "DE"], False, [])

    added = seller.call(
        "POST",
        f"shops/{shop.slug}/delivery/zones/{zone['id']}/methods",
        {"name": "DHL", "price": "4.90", "free_over": "40", "min_days": 1, "max_days": 3},
    )
    assert added.status_code == 201, added.json()
    method = added.json()
    assert (method["price"], method["free_over"], method["currency"]) == ("4.90", "40.00", "EUR")
    world = seller.call("POST", f"shops/{shop.slug}/delivery/zones", {"name": "World", "everywhere_else": True})
    seller.call("POST", f"shops/{shop.slug}/delivery/zones/{world.json()['id']}/methods", {"name": "Post", "price": 12})

    quotes = api.call("GET", f"shops/{shop.slug}/delivery", {"country": "AT", "subtotal": "25.00"})
    assert quotes.status_code == 200, quotes.json()
    assert quotes.json() == [
        {
            "method_id": method["id"],
            "name": "DHL",
            "zone": "DACH",
            "cost": "4.90",
            "currency": "EUR",
            "is_free": False,
            "price": "4.90",
            "free_over": "40.00",
            "min_days": 1,
            "max_days": 3,
        }
    ]
    free = api.call("GET", f"shops/{shop.slug}/delivery", {"country": "de", "subtotal": "40"}).json()
    assert (free[0]["cost"], free[0]["is_free"]) == ("0.00", True)
    assert [q["name"] for q in api.call("GET", f"shops/{shop.slug}/delivery", {"country": "BR"}).json()] == ["Post"]

    listed = seller.call("GET", f"shops/{shop.slug}/delivery/zones").json()
    assert [(z["name"], [m["name"] for m in z["methods"]]) for z in listed["items"]] == [
        ("DACH", ["DHL"]),
        ("World", ["Post"]),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"country": "ZZ"}, "country"), ({"country": "DE", "subtotal": "-1"}, "subtotal"), ({}, "country")],
)
def test_bad_quote_requests_are_422(api, query, field):
    shop, _owner = shop_with_owner()
    response = api.call("GET", f"shops/{shop.slug}/delivery", query)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_quotes_of_an_unknown_shop_are_404(api):
    assert api.call("GET", "shops/nope/delivery", {"country": "DE"}).status_code == 404


def test_edit_and_delete_zones_and_methods(api_as):
    shop, owner = shop_with_owner()
    method = ships_to(shop, countries=["LV"], price="3.00")
    seller = api_as(owner)

    patched = seller.call(
        "PATCH", f"shops/{shop.slug}/delivery/zones/{method.zone_id}", {"name": "Latvia", "countries": ["LV", "LT"]}
    )
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["name"], patched.json()["countries"]) == ("Latvia", ["LT", "LV"])

    changed = seller.call(
        "PATCH", f"shops/{shop.slug}/delivery/methods/{method.pk}", {"price": "3.50", "is_active": False}
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["price"], changed.json()["is_active"]) == ("3.50", False)
    bad = seller.call("PATCH", f"shops/{shop.slug}/delivery/methods/{method.pk}", {"min_days": 9, "max_days": 2})
    assert bad.status_code == 422
    assert bad.json()["field"] == "max_days"
    float_price = seller.call("PATCH", f"shops/{shop.slug}/delivery/methods/{method.pk}", {"price": 3.5})
    assert float_price.status_code == 422

    assert seller.call("DELETE", f"shops/{shop.slug}/delivery/methods/{method.pk}").status_code == 204
    assert seller.call("DELETE", f"shops/{shop.slug}/delivery/zones/{method.zone_id}").status_code == 204
    assert not DeliveryZone.objects.filter(shop=shop).exists()


def test_overlapping_zone_is_a_422_on_countries(api_as):
    shop, owner = shop_with_owner()
    ships_to(shop, countries=["LV"])
    response = api_as(owner).call("POST", f"shops/{shop.slug}/delivery/zones", {"name": "Again", "countries": ["LV"]})
    assert response.status_code == 422
    assert response.json()["field"] == "countries"


def test_staff_rights_and_other_shops(api, api_as):
    shop, _owner = shop_with_owner()
    method = ships_to(shop, countries=["LV"])
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    other_shop, other_owner = shop_with_owner()

    # Support reads, but may not change.
    assert api_as(support).call("GET", f"shops/{shop.slug}/delivery/zones").status_code == 200
    denied = api_as(support).call("PATCH", f"shops/{shop.slug}/delivery/methods/{method.pk}", {"price": "0"})
    assert denied.status_code == 403
    # Outsiders get nothing; anonymous callers must sign in.
    assert api_as(UserFactory()).call("GET", f"shops/{shop.slug}/delivery/zones").status_code == 403
    assert api.call("GET", f"shops/{shop.slug}/delivery/zones").status_code == 401
    assert api.call("POST", f"shops/{shop.slug}/delivery/zones", {"name": "X", "countries": ["DE"]}).status_code == 401
    # Another shop's owner cannot reach this shop's method through their own shop.
    other = api_as(other_owner)
    assert (
        other.call("PATCH", f"shops/{other_shop.slug}/delivery/methods/{method.pk}", {"price": "0"}).status_code == 404
    )
    assert other.call("DELETE", f"shops/{other_shop.slug}/delivery/zones/{method.zone_id}").status_code == 404
    assert (
        other.call(
            "POST", f"shops/{other_shop.slug}/delivery/zones/{method.zone_id}/methods", {"name": "X", "price": "1"}
        ).status_code
        == 404
    )
    method.refresh_from_db()
    assert DeliveryMethod.objects.count() == 1

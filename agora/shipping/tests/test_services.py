"""Delivery zones and methods through the services and selectors: quotes, thresholds, rules, rights."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.core.errors import NotAuthenticated, ValidationFailed
from agora.shipping import selectors, services
from agora.shipping.errors import DeliveryInvalid, DeliveryUnavailable, MethodNotFound, ZoneNotFound
from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shipping.selectors import DeliveryQuote
from agora.shipping.tests.factories import DeliveryMethodFactory, DeliveryZoneFactory, ships_to
from agora.shops.models import Role
from agora.shops.selectors import ShopPermissionDenied
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_owner():
    return shop_with_owner(currency="EUR", country="LV")


def _baltics(shop, owner):
    zone = services.create_zone(actor=owner, shop=shop, name="Baltics", countries=["lv", "LT", " ee ", "LV"])
    courier = services.add_method(
        actor=owner, zone=zone, name="Courier", price="4.90", free_over="50", min_days=1, max_days=2
    )
    post = services.add_method(actor=owner, zone=zone, name="Post", price="2.50", min_days=3, max_days=7)
    return zone, courier, post


# --- quotes ----------------------------------------------------------------------------------
def test_options_for_a_country_with_costs_days_and_free_threshold(shop_owner):
    shop, owner = shop_owner
    zone, courier, post = _baltics(shop, owner)
    assert zone.countries == ["EE", "LT", "LV"]

    options = selectors.delivery_options(shop=shop, country="lt", subtotal=Decimal("20.00"))

    assert options == [
        DeliveryQuote(
            method_id=courier.pk,
            name="Courier",
            cost=Decimal("4.900"),
            currency="EUR",
            min_days=1,
            max_days=2,
            is_free=False,
            price=Decimal("4.900"),
            free_over=Decimal("50.000"),
            zone_name="Baltics",
        ),
        DeliveryQuote(
            method_id=post.pk,
            name="Post",
            cost=Decimal("2.500"),
            currency="EUR",
            min_days=3,
            max_days=7,
            is_free=False,
            price=Decimal("2.500"),
            free_over=None,
            zone_name="Baltics",
        ),
    ]
    # At the threshold the courier is free; the post has no threshold.
    at_threshold = selectors.delivery_options(shop=shop, country="LT", subtotal=Decimal("50"))
    assert [(q.name, q.cost, q.is_free) for q in at_threshold] == [
        ("Courier", Decimal("0"), True),
        ("Post", Decimal("2.500"), False),
    ]
    assert selectors.delivery_options(shop=shop, country="DE", subtotal=Decimal("20")) == []


def test_quote_one_method_and_refuse_what_does_not_deliver(shop_owner):
    shop, owner = shop_owner
    _zone, courier, _post = _baltics(shop, owner)

    quote = selectors.quote(shop=shop, method_id=courier.pk, country="EE", subtotal=Decimal("60"))
    assert (quote.cost, quote.is_free, quote.currency) == (Decimal("0"), True, "EUR")

    with pytest.raises(DeliveryUnavailable) as exc:
        selectors.quote(shop=shop, method_id=courier.pk, country="DE", subtotal=Decimal("10"))
    assert exc.value.field == "delivery"
    assert exc.value.status == 422
    assert "Germany" in exc.value.message

    other_shop_method = ships_to(shop_with_owner()[0], countries=["EE"])
    with pytest.raises(DeliveryUnavailable):
        selectors.quote(shop=shop, method_id=other_shop_method.pk, country="EE", subtotal=Decimal("10"))

    services.update_method(actor=owner, method=courier, is_active=False)
    with pytest.raises(DeliveryUnavailable):
        selectors.quote(shop=shop, method_id=courier.pk, country="EE", subtotal=Decimal("10"))
    assert [q.name for q in selectors.delivery_options(shop=shop, country="EE", subtotal=Decimal("1"))] == ["Post"]


def test_everywhere_else_covers_only_the_countries_no_zone_lists(shop_owner):
    shop, owner = shop_owner
    _baltics(shop, owner)
    world = services.create_zone(actor=owner, shop=shop, name="World", everywhere_else=True)
    services.add_method(actor=owner, zone=world, name="Air mail", price="15", min_days=7, max_days=21)
    finland = services.create_zone(actor=owner, shop=shop, name="Finland", countries=["FI"])

    assert [q.name for q in selectors.delivery_options(shop=shop, country="JP", subtotal=Decimal("0"))] == ["Air mail"]
    assert [q.name for q in selectors.delivery_options(shop=shop, country="LV", subtotal=Decimal("0"))] == [
        "Courier",
        "Post",
    ]
    # Finland's zone has no method yet: the seller has said something about Finland, so the world zone stays out.
    assert selectors.delivery_options(shop=shop, country="FI", subtotal=Decimal("0")) == []
    assert selectors.ships_to(shop=shop, country="FI") is False
    services.delete_zone(actor=owner, zone=finland)
    assert selectors.ships_to(shop=shop, country="FI") is True


def test_free_method_and_zero_decimal_currency():
    shop, owner = shop_with_owner(currency="JPY", country="JP")
    zone = services.create_zone(actor=owner, shop=shop, name="Japan", countries=["JP"])
    services.add_method(actor=owner, zone=zone, name="Pickup", price="0", min_days=0, max_days=0)
    services.add_method(actor=owner, zone=zone, name="Yamato", price="800", free_over="10000")
    with pytest.raises(ValidationFailed) as exc:
        services.add_method(actor=owner, zone=zone, name="Bad", price="800.5")
    assert exc.value.field == "price"

    quotes = selectors.delivery_options(shop=shop, country="JP", subtotal=Decimal("9999"))
    assert [(q.name, q.cost, q.is_free, q.currency) for q in quotes] == [
        ("Pickup", Decimal("0"), True, "JPY"),
        ("Yamato", Decimal("800"), False, "JPY"),
    ]


@pytest.mark.parametrize("country", ["", "X", "XX", "DEU", "12", "d3", None])
def test_unknown_country_is_a_clear_422(shop_owner, country):
    shop, _owner = shop_owner
    with pytest.raises(DeliveryInvalid) as exc:
        selectors.delivery_options(shop=shop, country=country, subtotal=Decimal("1"))  # type: ignore[arg-type]
    assert exc.value.field == "country"
    assert exc.value.status == 422


def test_negative_subtotal_is_refused(shop_owner):
    shop, _owner = shop_owner
    with pytest.raises(DeliveryInvalid) as exc:
        selectors.delivery_options(shop=shop, country="LV", subtotal=Decimal("-1"))
    assert exc.value.field == "subtotal"


def test_options_take_two_queries(shop_owner, django_assert_num_queries):
    shop, owner = shop_owner
    _baltics(shop, owner)
    for n in range(5):
        zone = services.create_zone(actor=owner, shop=shop, name=f"Z{n}", countries=[["DE", "FR", "IT", "ES", "PL"][n]])
        services.add_method(actor=owner, zone=zone, name="Courier", price="9")
    with django_assert_num_queries(2):
        assert len(selectors.delivery_options(shop=shop, country="LV", subtotal=Decimal("1"))) == 2


# --- zone rules ---------------------------------------------------------------------------
def test_a_country_belongs_to_one_zone(shop_owner):
    shop, owner = shop_owner
    zone, _courier, _post = _baltics(shop, owner)
    with pytest.raises(DeliveryInvalid) as exc:
        services.create_zone(actor=owner, shop=shop, name="North", countries=["FI", "EE"])
    assert exc.value.field == "countries"
    assert "Estonia" in exc.value.message and "Baltics" in exc.value.message
    assert DeliveryZone.objects.filter(shop=shop).count() == 1

    north = services.create_zone(actor=owner, shop=shop, name="North", countries=["FI"])
    with pytest.raises(DeliveryInvalid):
        services.update_zone(actor=owner, zone=north, countries=["FI", "LV"])
    # A zone may keep its own countries when it is saved again.
    services.update_zone(actor=owner, zone=zone, name="Baltic states", countries=["LV", "LT", "EE"])
    zone.refresh_from_db()
    assert (zone.name, zone.countries) == ("Baltic states", ["EE", "LT", "LV"])
    # Another shop may list the same countries.
    other, other_owner = shop_with_owner()
    services.create_zone(actor=other_owner, shop=other, name="Baltics", countries=["LV"])


def test_one_everywhere_else_zone_and_zones_need_countries(shop_owner):
    shop, owner = shop_owner
    services.create_zone(actor=owner, shop=shop, name="World", everywhere_else=True)
    with pytest.raises(DeliveryInvalid) as exc:
        services.create_zone(actor=owner, shop=shop, name="World 2", everywhere_else=True)
    assert exc.value.field == "everywhere_else"
    with pytest.raises(DeliveryInvalid) as exc:
        services.create_zone(actor=owner, shop=shop, name="Empty", countries=[])
    assert exc.value.field == "countries"
    with pytest.raises(DeliveryInvalid) as exc:
        services.create_zone(actor=owner, shop=shop, name="Typo", countries=["DE", "XY"])
    assert exc.value.field == "countries"
    with pytest.raises(ValidationFailed) as exc:
        services.create_zone(actor=owner, shop=shop, name="  ", countries=["DE"])
    assert exc.value.field == "name"


def test_countries_may_come_as_one_string(shop_owner):
    shop, owner = shop_owner
    zone = services.create_zone(actor=owner, shop=shop, name="DACH", countries="de, at ch")
    assert zone.countries == ["AT", "CH", "DE"]


def test_limits_on_zones_and_methods(shop_owner):
    shop, owner = shop_owner
    codes = ["DE", "FR", "IT", "ES", "PL", "CZ", "SK", "HU", "AT", "CH", "NL", "BE", "LU", "DK", "SE", "NO", "FI"]
    for code in codes[: services.MAX_ZONES]:
        services.create_zone(actor=owner, shop=shop, name=code, countries=[code])
    extra = ["PT", "IE", "GR"]
    for code in extra[: services.MAX_ZONES - len(codes)]:
        services.create_zone(actor=owner, shop=shop, name=code, countries=[code])
    with pytest.raises(DeliveryInvalid):
        services.create_zone(actor=owner, shop=shop, name="One more", countries=["JP"])

    zone = DeliveryZone.objects.filter(shop=shop).first()
    assert zone is not None
    for n in range(services.MAX_METHODS_PER_ZONE):
        services.add_method(actor=owner, zone=zone, name=f"M{n}", price="1")
    with pytest.raises(DeliveryInvalid):
        services.add_method(actor=owner, zone=zone, name="One more", price="1")


# --- methods ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"free_over": "-5"}, "free_over"),
        ({"min_days": -1}, "min_days"),
        ({"max_days": 400}, "max_days"),
        ({"min_days": "x"}, "min_days"),
        ({"min_days": 5, "max_days": 2}, "max_days"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
    ],
)
def test_bad_method_input_names_the_field(shop_owner, fields, field):
    shop, owner = shop_owner
    zone = services.create_zone(actor=owner, shop=shop, name="Home", countries=["LV"])
    data = {"name": "Courier", "price": "4.90", **fields}
    with pytest.raises(ValidationFailed) as exc:
        services.add_method(actor=owner, zone=zone, **data)
    assert exc.value.field == field
    assert not DeliveryMethod.objects.exists()


def test_update_method_keeps_or_clears_the_threshold(shop_owner):
    shop, owner = shop_owner
    _zone, courier, _post = _baltics(shop, owner)
    services.update_method(actor=owner, method=courier, price="5.50", max_days=3)
    courier.refresh_from_db()
    assert (courier.price, courier.free_over, courier.max_days) == (Decimal("5.500"), Decimal("50.000"), 3)
    services.update_method(actor=owner, method=courier, free_over=None)
    courier.refresh_from_db()
    assert courier.free_over is None
    with pytest.raises(DeliveryInvalid):
        services.update_method(actor=owner, method=courier, min_days=9)
    courier.refresh_from_db()
    assert courier.min_days == 1


def test_deleting_a_zone_deletes_its_methods(shop_owner):
    shop, owner = shop_owner
    zone, _courier, post = _baltics(shop, owner)
    services.delete_method(actor=owner, method=post)
    assert list(DeliveryMethod.objects.values_list("name", flat=True)) == ["Courier"]
    services.delete_zone(actor=owner, zone=zone)
    assert not DeliveryMethod.objects.exists()


# --- rights -------------------------------------------------------------------------------
def test_only_owners_and_managers_manage_delivery(shop_owner):
    shop, owner = shop_owner
    zone, courier, _post = _baltics(shop, owner)
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    stranger = UserFactory()

    services.add_method(actor=manager, zone=zone, name="Express", price="9.90")
    for user in (support, stranger):
        with pytest.raises(ShopPermissionDenied):
            services.create_zone(actor=user, shop=shop, name="X", countries=["DE"])
        with pytest.raises(ShopPermissionDenied):
            services.update_method(actor=user, method=courier, price="0")
        with pytest.raises(ShopPermissionDenied):
            services.delete_zone(actor=user, zone=zone)
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        services.delete_method(actor=AnonymousUser(), method=courier)  # type: ignore[arg-type]
    courier.refresh_from_db()
    assert courier.price == Decimal("4.900")


def test_staff_read_zones_and_outsiders_do_not(shop_owner, django_assert_num_queries):
    shop, owner = shop_owner
    zone, courier, _post = _baltics(shop, owner)
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    zones = list(selectors.list_zones(viewer=support, shop=shop))
    assert [z.name for z in zones] == ["Baltics"]
    fresh_owner = User.objects.get(pk=owner.pk)  # no role cached from the writes above
    with django_assert_num_queries(3):  # the role, the zones, their methods
        zones = list(selectors.list_zones(viewer=fresh_owner, shop=shop))
        assert [m.name for m in zones[0].methods.all()] == ["Courier", "Post"]
    with pytest.raises(ShopPermissionDenied):
        selectors.list_zones(viewer=UserFactory(), shop=shop)

    other, other_owner = shop_with_owner()
    with pytest.raises(ZoneNotFound):
        selectors.get_zone(viewer=other_owner, shop=other, zone_id=zone.pk)
    with pytest.raises(MethodNotFound):
        selectors.get_method(viewer=other_owner, shop=other, method_id=courier.pk)


def test_factory_helper_ships(shop_owner):
    shop, _owner = shop_owner
    method = ships_to(shop, countries=["LV", "EE"], price="3.00", free_over="30")
    assert selectors.quote(shop=shop, method_id=method.pk, country="EE", subtotal=Decimal("30")).is_free
    assert DeliveryMethodFactory._meta.model is DeliveryMethod
    assert DeliveryZoneFactory._meta.model is DeliveryZone

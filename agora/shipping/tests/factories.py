from __future__ import annotations

from decimal import Decimal

import factory

from agora.shipping.models import DeliveryMethod, DeliveryZone
from agora.shops.tests.factories import ShopFactory


class DeliveryZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryZone

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Zone {n}")
    countries = factory.LazyFunction(lambda: ["LV"])
    position = factory.Sequence(lambda n: n)


class DeliveryMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryMethod

    zone = factory.SubFactory(DeliveryZoneFactory)
    shop = factory.LazyAttribute(lambda o: o.zone.shop)
    name = factory.Sequence(lambda n: f"Courier {n}")
    price = Decimal("4.90")
    free_over = None
    min_days = 1
    max_days = 3
    position = factory.Sequence(lambda n: n)


def ships_to(shop, countries=("LV",), price="4.90", free_over=None, **kwargs):  # type: ignore[no-untyped-def]
    """Give ``shop`` one zone over ``countries`` with one method; returns the method."""
    zone = DeliveryZoneFactory(shop=shop, countries=list(countries))
    return DeliveryMethodFactory(
        zone=zone, price=Decimal(price), free_over=Decimal(free_over) if free_over is not None else None, **kwargs
    )

"""The demo delivery seed: every shop delivers at home, to its region and everywhere else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.shipping import demo
from agora.shipping.selectors import delivery_options
from agora.shops.tests.factories import shop_with_owner

pytestmark = pytest.mark.django_db


def test_seed_gives_each_shop_home_region_and_world_delivery():
    riga, _ = shop_with_owner(currency="EUR", country="LV")
    tokyo, _ = shop_with_owner(currency="JPY", country="JP")
    calls: list[tuple[str, int, int]] = []

    demo.seed(shops=[riga, tokyo], users=[], progress=lambda stage, done, total: calls.append((stage, done, total)))

    assert calls == [("delivery", 1, 2), ("delivery", 2, 2)]
    home = delivery_options(shop=riga, country="LV", subtotal=Decimal("60"))
    assert [(q.name, q.cost) for q in home] == [("Standard", Decimal("0")), ("Express", Decimal("9.900"))]
    assert [q.name for q in delivery_options(shop=riga, country="DE", subtotal=Decimal("1"))] == ["Tracked parcel"]
    assert [q.name for q in delivery_options(shop=riga, country="US", subtotal=Decimal("1"))] == ["International post"]
    assert [q.cost for q in delivery_options(shop=tokyo, country="JP", subtotal=Decimal("100"))] == [
        Decimal("600"),
        Decimal("1200"),
    ]

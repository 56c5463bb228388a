"""Second read of delivery: amounts beyond what the price columns hold are a 422, never a 500 (PostgreSQL refused
them with "numeric field overflow") or a silently rounded price (SQLite)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.core.errors import ValidationFailed
from agora.shipping import services
from agora.shipping.models import DeliveryMethod
from agora.shipping.tests.factories import ships_to
from agora.shops.tests.factories import shop_with_owner

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["price", "free_over"])
@pytest.mark.parametrize("value", ["1000000000", "9999999999.99"])
def test_a_price_no_column_can_hold_is_refused(api_as, field, value):
    shop, owner = shop_with_owner(currency="EUR")
    method = ships_to(shop)
    seller = api_as(owner)
    body = {"name": "Freight", "price": "5", field: value}

    added = seller.call("POST", f"shops/{shop.slug}/delivery/zones/{method.zone_id}/methods", body)
    changed = seller.call("PATCH", f"shops/{shop.slug}/delivery/methods/{method.pk}", {field: value})

    assert (added.status_code, added.json()["field"]) == (422, field)
    assert (changed.status_code, changed.json()["field"]) == (422, field)
    assert DeliveryMethod.objects.count() == 1
    method.refresh_from_db()
    assert method.price == Decimal("4.90") and method.free_over is None


def test_the_largest_price_that_fits_is_taken():
    shop, owner = shop_with_owner(currency="EUR")
    zone = ships_to(shop).zone
    method = services.add_method(actor=owner, zone=zone, name="Freight", price="999999999.99")
    assert DeliveryMethod.objects.get(pk=method.pk).price == Decimal("999999999.99")
    with pytest.raises(ValidationFailed):
        services.update_method(actor=owner, method=method, free_over="1000000000.00")

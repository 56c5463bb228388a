from decimal import Decimal

import pytest

from agora.accounts import services as account_services
from agora.catalog import selectors, services
from agora.shops import services as shop_services


@pytest.mark.django_db
def test_open_shop_add_product_publish_and_find_it():
    owner = account_services.signup(username="anna", email="Anna@Example.com", password="a-long-pass-phrase")
    shop = shop_services.create_shop(owner=owner, name="Riga Knits", currency="EUR", country="LV")
    product = services.create_product(
        actor=owner,
        shop=shop,
        title="Wool scarf",
        tags=["winter", "#Wool"],
        variants=[{"sku": "SC-1", "price": "25.50", "stock_quantity": 3, "options": {"colour": "red"}}],
    )
    assert selectors.search_products(q="scarf").count() == 0  # draft
    services.publish_product(actor=owner, product=product)
    found = list(selectors.search_products(q="riga WOOL"))
    assert [p.pk for p in found] == [product.pk]
    assert found[0].price_from == Decimal("25.50")

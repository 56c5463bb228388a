import pytest

from agora.catalog.models import Product
from agora.groupbuy.tests.factories import group_deal, start

pytestmark = pytest.mark.django_db


def test_a_product_with_teams_on_record_is_not_deleted_but_refused_clearly(client):
    deal = group_deal()
    start(deal)
    owner = deal.shop.memberships.get().user  # type: ignore[attr-defined]
    client.force_login(owner)

    response = client.delete(f"/api/v1/products/{deal.product_id}")

    assert response.status_code == 409
    assert response.json()["code"] == "product_in_use"
    assert "Unpublish" in response.json()["detail"]
    assert Product.objects.filter(pk=deal.product_id).exists()

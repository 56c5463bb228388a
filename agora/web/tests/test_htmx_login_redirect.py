import pytest

from agora.catalog.tests.factories import VariantFactory


@pytest.mark.django_db
def test_an_htmx_action_after_the_session_expired_redirects_the_whole_page(client):
    variant = VariantFactory()
    url = f"/dashboard/s/{variant.shop.slug}/stock/{variant.pk}/"

    response = client.post(url, {"stock_quantity": 3}, HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


@pytest.mark.django_db
def test_a_plain_request_still_gets_the_usual_redirect(client):
    variant = VariantFactory()
    response = client.post(f"/dashboard/s/{variant.shop.slug}/stock/{variant.pk}/", {"stock_quantity": 3})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")

"""The direct checkout page that deals render (``render_direct_checkout``), through a small view of this module's
own URLconf, and how an order whose payment is only authorised looks to its buyer."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.orders import services as order_services
from agora.orders.models import Checkout, Order, OrderStatus
from agora.orders.tests.factories import ADDRESS, variant_for_sale
from agora.web.views.orders import render_direct_checkout

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

HTMX = {"HTTP_HX_REQUEST": "true"}


def direct_view(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = Variant.objects.select_related("product", "product__shop").get(pk=variant_id)
    price = Decimal("7.00")

    def place(address: dict[str, str], method: str, delivery_id: int | None) -> Checkout:
        return order_services.place_direct_checkout(
            actor=request.user,  # type: ignore[arg-type]
            variant_id=variant.pk,
            quantity=2,
            unit_price=price,
            address=address,
            payment_method=method,
            delivery_method_id=delivery_id,
            capture=False,
            price_note="Team price",
            purpose="team",
        )

    return render_direct_checkout(
        request,
        variant=variant,
        quantity=2,
        unit_price=price,
        heading="Start a team",
        note="You pay only when the team is complete.",
        place=place,
        extra_fields={"team": "ABC123"},
    )


urlpatterns = [path("test-direct/<int:variant_id>/", direct_view, name="test_direct"), path("", include("agora.urls"))]


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(page: Any, **overrides: Any) -> dict[str, Any]:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode())
    assert match, "the form carries an idempotency key"
    data = {**ADDRESS, "payment_method": "sandbox_card", "idempotency_key": match.group(1), "action": "place"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_sign_in_first():
    variant = variant_for_sale(stock=5)
    target = reverse("test_direct", args=[variant.pk])
    response = Client().get(target)
    assert response.status_code == 302 and reverse("web:login") in response["Location"]
    assert "next=" in response["Location"] and str(variant.pk) in response["Location"]


def test_form_shows_the_deal_price_delivery_and_total(django_assert_max_num_queries):
    variant = variant_for_sale(price="10.00", stock=5)
    client = logged_in(UserFactory())
    target = reverse("test_direct", args=[variant.pk])
    with django_assert_max_num_queries(10):
        page = client.get(target + "?country=LV")  # measured: 8 (session, user, variant, delivery...)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Start a team" in html and "You pay only when the team is complete." in html
    assert f"2 × {variant.product.title}" in html
    assert "14.00" in html and "4.90" in html and "18.90" in html  # 2 × 7.00 + delivery
    assert 'name="team" value="ABC123"' in html
    fragment = client.post(target, {**ADDRESS, "country": "EE"}, **HTMX)
    assert fragment.status_code == 200 and 'id="checkout-summary"' in fragment.content.decode()
    assert "<form" not in fragment.content.decode()


def test_place_once_then_the_authorised_pages():
    variant = variant_for_sale(price="10.00", stock=5)
    user = UserFactory()
    client = logged_in(user)
    target = reverse("test_direct", args=[variant.pk])
    data = form_data(client.get(target))
    first = client.post(target, data)
    second = client.post(target, data)  # a double submit
    checkout = Checkout.objects.get()
    done = reverse("web:checkout_done", args=[checkout.public_id])
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"] == done
    order = Order.objects.get()
    assert order.status == OrderStatus.PLACED and checkout.authorise_only
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 3

    page = client.get(done).content.decode()
    assert "you are charged when your team is complete" in page
    assert "Pay now" not in page and "hx-trigger" not in page
    order_page = client.get(reverse("web:order", args=[order.number])).content.decode()
    assert "data-payment-authorised" in order_page and "Team price" in order_page
    assert "awaiting payment" not in order_page.split("Timeline")[0]
    listing = client.get(reverse("web:orders")).content.decode()
    assert "Payment authorised" in listing


@pytest.mark.parametrize(
    ("stock", "overrides", "status", "message"),
    [
        (5, {"payment_method": "sandbox_decline"}, 402, "declined"),
        (1, {}, 409, "Only 1 of"),
        (5, {"city": ""}, 422, "This field is required"),
    ],
)
def test_refusals_show_the_form_again(stock, overrides, status, message):
    variant = variant_for_sale(price="10.00", stock=stock)
    client = logged_in(UserFactory())
    target = reverse("test_direct", args=[variant.pk])
    data = form_data(client.get(target), **overrides)
    response = client.post(target, data)
    html = response.content.decode()
    assert response.status_code == status
    assert message in html and "Start a team" in html
    assert Variant.objects.get(pk=variant.pk).stock_quantity == stock
    assert not Order.objects.exclude(status=OrderStatus.CANCELLED).exists()
    if status != 422:
        assert f'value="{data["idempotency_key"]}"' not in html  # a fresh key for the next try

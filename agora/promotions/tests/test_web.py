"""Flash deals on the web: the product page box, the /deals/ page, buying through the checkout page, and the
shop's dashboard page (with query budgets)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.groupbuy.tests.factories import group_deal
from agora.orders.models import Order, OrderLine, OrderStatus
from agora.orders.tests.factories import ADDRESS, selling_shop, variant_for_sale
from agora.promotions.models import FlashDeal
from agora.promotions.tests.factories import flash_deal
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def product_url(deal: FlashDeal) -> str:
    product = deal.variant.product
    return reverse("web:product", args=[deal.shop.slug, product.slug])


def test_product_page_shows_the_deal_and_the_early_access_badge(django_assert_max_num_queries):
    shop, owner = selling_shop()
    deal = flash_deal(shop=shop, owner=owner, price="20.00", deal_price="12.00", quantity=4, per_user_limit=2)
    variant = variant_for_sale(shop, price="30.00", stock=5)
    upcoming = flash_deal(
        shop=shop,
        owner=owner,
        variant=variant,
        starts_in=timedelta(hours=1),
        early_access="followers",
        early_minutes=15,
    )
    client = logged_in(UserFactory())
    with django_assert_max_num_queries(16):  # measured 15: the product page's 13, the deal, early access
        page = client.get(product_url(deal))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Flash deal" in html and "€12.00" in html and "4 left at this price" in html
    assert 'data-countdown="' in html and reverse("web:flash_buy", args=[deal.pk]) in html
    assert "Buy now at €12.00" in html

    html = client.get(product_url(upcoming)).content.decode()
    assert "Followers get in 15 min early" in html and "Starts in" in html
    assert reverse("web:flash_buy", args=[upcoming.pk]) not in html


def test_deals_page_lists_live_and_coming_deals(django_assert_max_num_queries):
    live = [flash_deal(quantity=3) for _ in range(3)]
    team, _other_team = group_deal(), group_deal()
    coming = flash_deal(starts_in=timedelta(hours=3), early_access="best_customers", early_minutes=30)
    ended = flash_deal()
    FlashDeal.objects.filter(pk=ended.pk).update(is_active=False)
    client = logged_in(UserFactory())
    with django_assert_max_num_queries(16):  # measured 15 (session, user, header; 4 for the team deals)
        page = client.get(reverse("web:deals"))
    html = page.content.decode()
    assert page.status_code == 200
    assert all(f'data-flash-deal="{d.pk}"' in html for d in [*live, coming])
    assert f'data-flash-deal="{ended.pk}"' not in html
    assert "Best customers get in 30 min early" in html and f'data-team-deal="{team.pk}"' in html
    assert Client().get(reverse("web:deals")).status_code == 200


def test_buying_through_the_checkout_page():
    deal = flash_deal(price="20.00", deal_price="11.00", quantity=3, per_user_limit=2)
    buy_url = reverse("web:flash_buy", args=[deal.pk])
    assert reverse("web:login") in Client().get(buy_url)["Location"]
    client = logged_in(UserFactory())
    page = client.get(buy_url + "?quantity=2")
    assert page.status_code == 200 and "Flash deal" in page.content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode())
    assert key
    data = {
        **ADDRESS,
        "payment_method": "sandbox_card",
        "idempotency_key": key.group(1),
        "action": "place",
        "quantity": "2",
    }
    done = client.post(buy_url + "?quantity=2", data)
    assert done.status_code == 302, done.content.decode()[:2000]
    client.post(buy_url + "?quantity=2", data)  # a double submit buys once
    order = Order.objects.get()
    line = OrderLine.objects.get(order=order)
    assert order.status == OrderStatus.PAID and (line.unit_price, line.quantity) == (11, 2)
    assert FlashDeal.objects.get(pk=deal.pk).sold == 2
    # The limit is reached: the buy page sends back to the product with why.
    again = client.post(buy_url, {**data, "idempotency_key": "another-key-123456", "quantity": "1"})
    assert again.status_code == 409 and "you may buy 0 more" in again.content.decode()


def test_a_deal_not_open_sends_back_to_the_product():
    deal = flash_deal(starts_in=timedelta(minutes=30))
    response = logged_in(UserFactory()).get(reverse("web:flash_buy", args=[deal.pk]))
    assert response.status_code == 302 and response["Location"].startswith(product_url(deal))


def test_dashboard_page_create_and_end(django_assert_max_num_queries):
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00", stock=5, title="Linen shirt")
    existing = flash_deal(shop=shop, owner=owner)
    url = reverse("web:flash_dashboard", args=[shop.slug])
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    assert logged_in(support).get(url).status_code == 403
    assert logged_in(UserFactory()).get(url).status_code in (403, 404)
    client = logged_in(owner)
    with django_assert_max_num_queries(10):  # measured 9
        page = client.get(url)
    assert page.status_code == 200 and f'data-flash-deal="{existing.pk}"' in page.content.decode()
    assert reverse("web:flash_dashboard", args=[shop.slug]) in page.content.decode()  # the tab

    start = timezone.localtime() + timedelta(hours=1)
    form = {
        "variant": variant.pk,
        "deal_price": "25.00",
        "quantity": 3,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "per_user_limit": 1,
        "early_access": "followers",
        "early_minutes": 10,
    }
    refused = client.post(url, form)
    assert refused.status_code == 422 and "lower than the usual price" in refused.content.decode()
    assert client.post(url, {**form, "deal_price": "15.00"}).status_code == 302
    created = FlashDeal.objects.get(variant=variant)
    assert (str(created.deal_price), created.early_minutes) == ("15.000", 10)

    assert logged_in(support).post(reverse("web:flash_deal_end", args=[shop.slug, created.pk])).status_code == 403
    assert client.post(reverse("web:flash_deal_end", args=[shop.slug, created.pk])).status_code == 302
    assert not FlashDeal.objects.get(pk=created.pk).is_active

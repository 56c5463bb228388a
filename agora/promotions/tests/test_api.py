"""Flash deals over the API: who may create, change and end them, what the public sees, and buying once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from agora.accounts.services import issue_token
from agora.accounts.tests.factories import UserFactory
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import ADDRESS, CARD, selling_shop, variant_for_sale
from agora.payments.models import Payment
from agora.promotions.models import FlashDeal
from agora.promotions.tests.factories import flash_deal
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory
from conftest import ApiClient

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> ApiClient:
    _token, raw = issue_token(user=user, name="test")
    return ApiClient(token=raw)


def test_who_may_create_change_and_end_a_deal():
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00", stock=5)
    start = timezone.now() + timedelta(hours=1)
    body = {
        "variant_id": variant.pk,
        "deal_price": "14.90",
        "quantity": 3,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "per_user_limit": 1,
        "early_access": "followers",
        "early_minutes": 15,
    }
    path = f"shops/{shop.slug}/flash-deals"
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user

    assert ApiClient().call("POST", path, body).status_code == 401
    assert client_for(UserFactory()).call("POST", path, body).status_code == 403
    assert client_for(support).call("POST", path, body).status_code == 403
    bad = client_for(owner).call("POST", path, {**body, "deal_price": "25.00"})
    assert bad.status_code == 422 and bad.json()["field"] == "deal_price"
    created = client_for(manager).call("POST", path, body)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["deal_price"], data["regular_price"], data["left"], data["state"]["status"]) == (
        "14.90",
        "20.00",
        3,
        "upcoming",
    )
    deal_id = data["id"]

    patch = {"quantity": 4}
    assert client_for(UserFactory()).call("PATCH", f"flash-deals/{deal_id}", patch).status_code == 403
    assert client_for(support).call("PATCH", f"flash-deals/{deal_id}", patch).status_code == 403
    changed = client_for(owner).call("PATCH", f"flash-deals/{deal_id}", patch)
    assert changed.status_code == 200 and changed.json()["quantity"] == 4
    assert client_for(support).call("POST", f"flash-deals/{deal_id}/end").status_code == 403
    ended = client_for(owner).call("POST", f"flash-deals/{deal_id}/end")
    assert ended.status_code == 200 and ended.json()["is_active"] is False and ended.json()["state"]["status"] == "over"

    # The ended deal: the shop's staff still see it, nobody else does.
    assert client_for(support).call("GET", path).json()["count"] == 1
    assert ApiClient().call("GET", path).json()["count"] == 0
    assert ApiClient().call("GET", f"flash-deals/{deal_id}").status_code == 404
    assert client_for(support).call("GET", f"flash-deals/{deal_id}").status_code == 200


def test_public_list_and_query_budget(django_assert_max_num_queries):
    shop, owner = selling_shop()
    live = flash_deal(shop=shop, owner=owner, quantity=3)
    for i in range(3):
        flash_deal(shop=shop, owner=owner, starts_in=timedelta(hours=i + 1), early_access="followers", early_minutes=10)
    other_shop_deal = flash_deal(starts_in=timedelta(hours=2), early_access="best_customers", early_minutes=10)
    viewer = client_for(UserFactory())
    with django_assert_max_num_queries(9):  # measured 8 with five deals of two shops
        response = viewer.call("GET", "flash-deals")
    assert response.status_code == 200
    ids = [d["id"] for d in response.json()]
    assert ids[0] == live.pk and other_shop_deal.pk in ids and len(ids) == 5
    assert response.json()[0]["state"]["can_buy"] is True
    assert response.json()[1]["state"]["status"] == "upcoming"
    with django_assert_max_num_queries(8):  # measured 7 with four deals
        listed = viewer.call("GET", f"shops/{shop.slug}/flash-deals")
    assert listed.json()["count"] == 4


def test_buy_needs_sign_in_and_a_retry_buys_once():
    deal = flash_deal(price="20.00", deal_price="9.00", quantity=3, per_user_limit=2)
    body = {"quantity": 1, "address": ADDRESS, "payment_method": CARD}
    assert ApiClient().call("POST", f"flash-deals/{deal.pk}/buy", body).status_code == 401
    buyer = client_for(UserFactory())
    first = buyer.call("POST", f"flash-deals/{deal.pk}/buy", body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201, first.json()
    again = buyer.call("POST", f"flash-deals/{deal.pk}/buy", body, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert first.json()["status"] == "paid" and first.json()["purpose"] == "flash"
    assert first.json()["orders"][0]["total"] == "13.90"  # 9.00 + 4.90 delivery
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 1 == Payment.objects.count()
    assert FlashDeal.objects.get(pk=deal.pk).sold == 1

    over = buyer.call("POST", f"flash-deals/{deal.pk}/buy", {**body, "quantity": 2})
    assert over.status_code == 409 and over.json()["code"] == "limit_reached" and over.json()["may_still_buy"] == 1
    bad = buyer.call("POST", f"flash-deals/{deal.pk}/buy", {**body, "quantity": 0})
    assert bad.status_code == 422
    assert buyer.call("POST", "flash-deals/999999/buy", body).status_code == 404
    FlashDeal.objects.filter(pk=deal.pk).update(is_active=False)
    ended = client_for(UserFactory()).call("POST", f"flash-deals/{deal.pk}/buy", body)
    assert ended.status_code == 409 and ended.json()["code"] == "flash_deal_over"

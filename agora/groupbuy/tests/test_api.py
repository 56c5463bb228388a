"""Team purchases over the API: who may set deals up, what the public sees, starting and joining (idempotent),
my teams, the shop's figures, and the query budgets of the lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from agora.accounts.services import issue_token
from agora.accounts.tests.factories import UserFactory
from agora.groupbuy.models import GroupDeal, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import ADDRESS, CARD, group_deal, join, start, team_of
from agora.orders.models import Order
from agora.orders.tests.factories import selling_shop, variant_for_sale
from agora.payments.models import Payment
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory
from conftest import ApiClient

pytestmark = pytest.mark.django_db

JOIN = {"address": ADDRESS, "payment_method": CARD}


def client_for(user: Any) -> ApiClient:
    _token, raw = issue_token(user=user, name="test")
    return ApiClient(token=raw)


def test_who_may_create_list_change_and_end_deals():
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00", stock=30)
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    outsider = UserFactory()
    ends = (timezone.now() + timedelta(days=3)).isoformat()
    body = {
        "product_id": variant.product_id,
        "group_price": "15.00",
        "ends_at": ends,
        "stock_allotted": 10,
        "min_members": 2,
        "max_members": 5,
        "tiers": [{"members": 4, "price": "13.50"}],
    }
    path = f"shops/{shop.slug}/group-deals"

    assert ApiClient().call("POST", path, body).status_code == 401
    assert client_for(outsider).call("POST", path, body).status_code == 403
    assert client_for(support).call("POST", path, body).status_code == 403
    floats = client_for(owner).call("POST", path, {**body, "group_price": 15.5})
    assert floats.status_code == 422 and "decimal strings" in floats.json()["detail"]
    bad_tiers = client_for(owner).call(
        "POST", path, {**body, "tiers": [{"members": 4, "price": "13.00"}, {"members": 3, "price": "12.00"}]}
    )
    assert bad_tiers.status_code == 422 and bad_tiers.json()["field"] == "tiers"
    created = client_for(manager).call("POST", path, body)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["group_price"], data["single_price"], data["tiers"], data["units_left"], data["is_live"]) == (
        "15.00",
        "20.00",
        [{"members": 4, "price": "13.50"}],
        10,
        True,
    )
    deal_id = data["id"]
    assert GroupDeal.objects.filter(pk=deal_id, shop=shop).count() == 1

    assert ApiClient().call("GET", path).status_code == 401
    assert client_for(outsider).call("GET", path).status_code == 403
    listed = client_for(support).call("GET", path)
    assert listed.status_code == 200 and listed.json()["items"][0]["teams_started"] == 0

    patch = {"group_price": "14.00"}
    assert client_for(outsider).call("PATCH", f"group-deals/{deal_id}", patch).status_code == 403
    assert client_for(support).call("PATCH", f"group-deals/{deal_id}", patch).status_code == 403
    changed = client_for(owner).call("PATCH", f"group-deals/{deal_id}", patch)
    assert changed.status_code == 200 and changed.json()["group_price"] == "14.00"
    assert client_for(support).call("POST", f"group-deals/{deal_id}/end").status_code == 403
    ended = client_for(manager).call("POST", f"group-deals/{deal_id}/end")
    assert ended.status_code == 200 and (ended.json()["is_active"], ended.json()["is_live"]) == (False, False)

    stats_path = f"shops/{shop.slug}/group-deals/stats"
    assert ApiClient().call("GET", stats_path).status_code == 401
    assert client_for(outsider).call("GET", stats_path).status_code == 403
    assert client_for(support).call("GET", stats_path).status_code == 403
    assert client_for(manager).call("GET", stats_path).status_code == 200


def test_start_join_and_view_a_team_through_the_api():
    deal = group_deal(max_members=3, tiers=[{"members": 3, "price": "12.00"}])
    leader, friend = UserFactory(), UserFactory()
    teams_path = f"group-deals/{deal.pk}/teams"

    assert ApiClient().call("POST", teams_path, JOIN).status_code == 401
    key = {"Idempotency-Key": "3c1f8d0e-0000-4000-8000-000000000001"}
    started = client_for(leader).call("POST", teams_path, JOIN, headers=key)
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["team"]["status"] == "open" and body["team"]["you_are_member"] is True
    assert body["membership"]["status"] == "authorised" and body["payment_status"] == "authorized"
    assert body["team"]["unit_price"] == "15.00" and body["team"]["next_tier"] == {"members": 3, "price": "12.00"}
    code = body["team"]["code"]
    # A retry with the same key: the first answer, no second team or order.
    again = client_for(leader).call("POST", teams_path, JOIN, headers=key)
    assert again.status_code == 201 and again.json()["order_number"] == body["order_number"]
    assert again["Idempotent-Replayed"] == "true"
    assert Team.objects.filter(deal=deal).count() == 1 and Order.objects.count() == 1

    public = ApiClient().call("GET", f"teams/{code.lower()}")
    assert public.status_code == 200
    view = public.json()
    assert (view["places_left"], view["members_count"], view["can_join"], view["you_are_member"]) == (2, 1, True, False)
    assert [m["username"] for m in view["members"]] == [leader.username] and view["members"][0]["is_leader"]
    assert view["url"].endswith(f"/t/{code}/")
    assert ApiClient().call("GET", "teams/ZZZZZZZZ").status_code == 404

    join_path = f"teams/{code}/join"
    assert ApiClient().call("POST", join_path, JOIN).status_code == 401
    own = client_for(leader).call("POST", join_path, JOIN)
    assert own.status_code == 409 and own.json()["code"] == "already_in_team"
    joined = client_for(friend).call("POST", join_path, JOIN)
    assert joined.status_code == 201, joined.json()
    assert joined.json()["team"]["status"] == "succeeded"
    twice = client_for(friend).call("POST", join_path, JOIN)
    assert twice.status_code == 409 and twice.json()["code"] == "already_in_team"
    too_many = client_for(UserFactory()).call("POST", join_path, {**JOIN, "quantity": 2})
    assert too_many.status_code == 409 and too_many.json()["code"] == "limit_reached"
    assert Team.objects.get(code=code).seats_taken == 2

    mine = client_for(friend).call("GET", "me/teams")
    assert mine.status_code == 200
    (row,) = mine.json()["items"]
    assert (row["team_code"], row["team_status"], row["status"], row["is_leader"]) == (
        code,
        "succeeded",
        "captured",
        False,
    )
    assert ApiClient().call("GET", "me/teams").status_code == 401

    stats = client_for(deal.shop.memberships.get(role=Role.OWNER).user).call(
        "GET", f"shops/{deal.shop.slug}/group-deals/stats", {"days": 7}
    )
    data = stats.json()
    assert (data["teams_started"], data["teams_succeeded"], data["success_rate"], len(data["daily"])) == (
        1,
        1,
        "1.0000",
        7,
    )
    paid = sum(m.order.total for m in TeamMember.objects.filter(team__code=code))  # type: ignore[union-attr]
    assert data["revenue"] == [{"currency": "EUR", "amount": str(paid.quantize(paid.__class__("0.01")))}]


def test_a_declined_start_leaves_nothing_held():
    deal = group_deal()
    answer = client_for(UserFactory()).call(
        "POST", f"group-deals/{deal.pk}/teams", {**JOIN, "payment_method": "sandbox_decline"}
    )
    assert answer.status_code == 402
    assert not Team.objects.filter(deal=deal).exclude(status=TeamStatus.CANCELLED).exists()
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 0
    assert not Payment.objects.filter(status="authorized").exists()


def test_public_lists_and_their_query_budgets(django_assert_max_num_queries):
    deals = [group_deal(max_members=4) for _ in range(3)]
    for deal in deals:
        for _ in range(2):
            join(team_of(start(deal)))
    viewer = client_for(UserFactory())
    with django_assert_max_num_queries(12):
        listed = viewer.call("GET", "group-deals")
    assert listed.status_code == 200 and {d["id"] for d in listed.json()} == {d.pk for d in deals}
    with django_assert_max_num_queries(14):
        teams = viewer.call("GET", f"group-deals/{deals[0].pk}/teams")
    assert teams.status_code == 200 and len(teams.json()) == 2
    assert all(len(t["members"]) == 2 for t in teams.json())
    owner = deals[0].shop.memberships.get().user
    with django_assert_max_num_queries(14):
        staff = client_for(owner).call("GET", f"shops/{deals[0].shop.slug}/group-deals")
    assert staff.status_code == 200 and staff.json()["items"][0]["teams_started"] == 2
    with django_assert_max_num_queries(12):
        mine = client_for(Team.objects.first().leader).call("GET", "me/teams")  # type: ignore[union-attr]
    assert mine.status_code == 200 and mine.json()["count"] == 1

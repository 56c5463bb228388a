"""Team purchases on the web: the product page slot, the team's share page for each kind of viewer, starting and
joining through the one-item checkout, My teams, the shop dashboard, and the query budgets of those pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import VariantFactory
from agora.groupbuy.models import GroupDeal, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import ADDRESS, CARD, group_deal, join, start, team_of
from agora.orders.tests.factories import selling_shop, variant_for_sale
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def product_url(deal: GroupDeal) -> str:
    return reverse("web:product", args=[deal.shop.slug, deal.product.slug])


def place_form(page: Any, **extra: Any) -> dict[str, Any]:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode())
    assert match, "the checkout form carries an idempotency key"
    return {**ADDRESS, "payment_method": CARD, "idempotency_key": match.group(1), "action": "place", **extra}


def test_product_page_shows_the_deal_and_the_teams_to_join(django_assert_max_num_queries):
    deal = group_deal(max_members=3, tiers=[{"members": 3, "price": "12.00"}])
    teams = [team_of(start(deal)) for _ in range(3)]
    join(teams[1])
    client = logged_in(UserFactory())
    # The team slot adds five queries to the page (19 in all now) (deal, tiers, variants, open teams, their members).
    with django_assert_max_num_queries(22):
        page = client.get(product_url(deal))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-team-deal="{deal.pk}"' in html and "15.00" in html and "12.00" in html
    assert reverse("web:team_start", args=[deal.pk]) in html
    codes = re.findall(r'data-team-code="([A-Z0-9]+)"', html)
    assert codes[0] == teams[1].code and set(codes) == {t.code for t in teams}  # the one closest to full first
    assert reverse("web:team_join", args=[teams[0].code]) in html and "countdown.js" in html

    # The leader of a team does not get their own team offered; without a deal there is no box at all.
    mine = logged_in(teams[0].leader).get(product_url(deal)).content.decode()
    assert f'data-team-code="{teams[0].code}"' not in mine
    other = variant_for_sale(deal.shop)
    plain = Client().get(reverse("web:product", args=[deal.shop.slug, other.product.slug])).content.decode()
    assert "data-team-deal" not in plain


def test_team_page_for_anonymous_member_and_stranger(django_assert_max_num_queries):
    deal = group_deal(max_members=3)
    leader = start(deal)
    team = team_of(leader)
    url = reverse("web:team", args=[team.code])
    assert url == f"/t/{team.code}/"

    with django_assert_max_num_queries(9):
        anonymous = Client().get(url)
    html = anonymous.content.decode()
    assert anonymous.status_code == 200
    assert 'property="og:title"' in html and "Join my team" in html and 'property="og:image"' in html
    assert reverse("web:team_join", args=[team.code]) in html and "data-team-join" in html
    assert f"http://testserver/t/{team.code}/" in html or f"/t/{team.code}/" in html
    assert f'data-countdown="{timezone.localtime(team.expires_at).isoformat()}"' in html or "data-countdown=" in html
    assert "agora:notification" in html and f"/api/v1/teams/{team.code}" in html
    assert leader.user.public_name in html

    member_html = logged_in(leader.user).get(url).content.decode()
    assert "data-team-you" in member_html and "data-team-join" not in member_html

    stranger = logged_in(UserFactory())
    with django_assert_max_num_queries(14):
        stranger_page = stranger.get(url)
    assert "data-team-join" in stranger_page.content.decode()

    assert Client().get(f"/t/{team.code.lower()}/")["Location"] == url
    assert Client().get("/t/NOSUCH23/").status_code == 404


def test_failed_team_page_says_nobody_was_charged():
    deal = group_deal()
    team = team_of(start(deal))
    from agora.groupbuy import services

    services.expire_due_teams(now=timezone.now() + timedelta(days=2))
    assert Team.objects.get(pk=team.pk).status == TeamStatus.FAILED
    html = Client().get(reverse("web:team", args=[team.code])).content.decode()
    assert "Nobody was charged" in html and "data-team-join" not in html


def test_start_a_team_with_a_variant_picker_then_join_it():
    shop, owner = selling_shop()
    first = variant_for_sale(shop, price="20.00", stock=10)
    second = VariantFactory(product=first.product, shop=shop, price="22.00", stock_quantity=10, name="Blue")
    deal = group_deal(shop=shop, owner=owner, variant=first, per_user_limit=2)
    start_url = reverse("web:team_start", args=[deal.pk])

    anonymous = Client().get(start_url)
    assert anonymous.status_code == 302 and reverse("web:login") in anonymous["Location"]

    leader = logged_in(UserFactory())
    chooser = leader.get(start_url)
    assert chooser.status_code == 200 and "data-team-choose" in chooser.content.decode()
    assert f'value="{second.pk}"' in chooser.content.decode()

    form_page = leader.get(start_url, {"variant": second.pk, "quantity": 2})
    assert form_page.status_code == 200 and "15.00" in form_page.content.decode()
    placed = leader.post(f"{start_url}?variant={second.pk}&quantity=2", place_form(form_page))
    member = TeamMember.objects.get(is_leader=True)
    assert (member.variant_id, member.quantity, member.status) == (second.pk, 2, "authorised")
    assert placed.status_code == 302 and placed["Location"] == reverse("web:team", args=[member.team.code])

    join_url = reverse("web:team_join", args=[member.team.code])
    # The leader cannot join their own team: sent back to the team page.
    back = leader.get(join_url)
    assert back.status_code == 302 and back["Location"] == reverse("web:team", args=[member.team.code])

    friend = logged_in(UserFactory())
    join_page = friend.get(join_url, {"variant": first.pk})
    assert join_page.status_code == 200
    joined = friend.post(f"{join_url}?variant={first.pk}", place_form(join_page))
    assert joined.status_code == 302 and joined["Location"] == reverse("web:team", args=[member.team.code])
    team = Team.objects.get(pk=member.team_id)
    assert team.status == TeamStatus.SUCCEEDED and team.members_count == 2

    my_page = friend.get(reverse("web:my_teams"))
    assert my_page.status_code == 200 and team.code in my_page.content.decode()


def test_a_refused_join_shows_why_on_the_form():
    deal = group_deal(max_members=2)
    team = team_of(start(deal))
    late = logged_in(UserFactory())
    page = late.get(reverse("web:team_join", args=[team.code]))
    join(team)  # someone else takes the last place meanwhile
    refused = late.post(reverse("web:team_join", args=[team.code]), place_form(page))
    assert refused.status_code == 409 and "full" in refused.content.decode()
    assert Team.objects.get(pk=team.pk).seats_taken == 2


def test_my_teams_lists_memberships_within_budget(django_assert_max_num_queries):
    user = UserFactory()
    for _ in range(3):
        start(group_deal(), user)
    client = logged_in(user)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("web:my_teams"))
    assert page.status_code == 200 and page.content.decode().count("data-team-code=") == 3
    # Reachable from the account menu on every page.
    assert f'href="{reverse("web:my_teams")}"' in client.get("/").content.decode()
    assert Client().get(reverse("web:my_teams")).status_code == 302


def test_dashboard_create_end_and_who_sees_what(django_assert_max_num_queries):
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00", stock=30)
    url = reverse("web:group_deals_dashboard", args=[shop.slug])
    client = logged_in(owner)
    ends = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "product": variant.product_id,
        "group_price": "15.00",
        "min_members": 2,
        "max_members": 4,
        "fill_hours": 24,
        "tiers": "3:14.00\n4:13.00",
        "ends_at": ends,
        "stock_allotted": 10,
        "per_user_limit": 1,
        "audience": "everyone",
    }
    bad = client.post(url, {**form, "tiers": "4:13.00\n3:14.00"})
    assert bad.status_code == 422 and not GroupDeal.objects.exists()
    garbled = client.post(url, {**form, "tiers": "three for 14"})
    assert garbled.status_code == 422 and "members:price" in garbled.content.decode()
    created = client.post(url, form)
    assert created.status_code == 302
    deal = GroupDeal.objects.get()
    assert [(t.members, str(t.price)) for t in deal.tiers.all()] == [(3, "14.000"), (4, "13.000")]
    join(team_of(start(deal)))

    with django_assert_max_num_queries(20):
        page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "data-team-stats" in html and "<svg" in html
    assert 'data-stat="rate"><strong>100%' in html and "data-group-deal-form" in html
    assert 'aria-current="page"' in html and "Team deals" in html

    support = logged_in(MembershipFactory(shop=shop, role=Role.SUPPORT).user)
    support_html = support.get(url).content.decode()
    assert f'data-group-deal="{deal.pk}"' in support_html
    assert "data-team-stats" not in support_html and "data-group-deal-form" not in support_html
    assert support.post(url, form).status_code == 403
    assert support.post(reverse("web:group_deal_end", args=[shop.slug, deal.pk])).status_code == 403
    assert logged_in(UserFactory()).get(url).status_code == 403

    ended = client.post(reverse("web:group_deal_end", args=[shop.slug, deal.pk]))
    assert ended.status_code == 302 and not GroupDeal.objects.get(pk=deal.pk).is_active


def test_deals_page_lists_team_deals():
    deal = group_deal()
    html = Client().get(reverse("web:deals")).content.decode()
    assert f'data-team-deal="{deal.pk}"' in html and deal.product.title in html

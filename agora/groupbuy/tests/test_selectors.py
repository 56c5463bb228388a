"""Reading team purchases: tier prices, live deals, open teams, a team as each viewer sees it, a shop's figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import ProductStatus
from agora.core.errors import NotAuthenticated
from agora.groupbuy import selectors, services
from agora.groupbuy.errors import DealForbidden, DealNotFound, TeamNotFound
from agora.groupbuy.models import GroupDeal, Team, TeamStatus
from agora.groupbuy.tests.factories import group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.errors import PaymentDeclined
from agora.orders.tests.factories import buy, selling_shop, variant_for_sale
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_price_for_follows_the_tiers_and_liveness():
    deal = group_deal(
        min_members=2, max_members=6, tiers=[{"members": 4, "price": "12.00"}, {"members": 6, "price": "10.00"}]
    )
    assert [selectors.price_for(deal, n) for n in (0, 2, 3, 4, 5, 6)] == [
        Decimal("15"),
        Decimal("15"),
        Decimal("15"),
        Decimal("12"),
        Decimal("12"),
        Decimal("10"),
    ]
    assert selectors.next_tier(deal, 2).members == 4  # type: ignore[union-attr]
    assert selectors.next_tier(deal, 6) is None
    now = timezone.now()
    assert selectors.deal_is_live(deal, now=now)
    assert not selectors.deal_is_live(deal, now=deal.starts_at - timedelta(seconds=1))
    assert not selectors.deal_is_live(deal, now=deal.ends_at)
    deal.units_taken = deal.stock_allotted
    assert not selectors.deal_is_live(deal, now=now)


def test_live_deals_leave_out_what_the_public_may_not_buy():
    live = group_deal()
    later = group_deal(starts_in=timedelta(hours=2))
    hidden = group_deal()
    hidden.product.status = ProductStatus.DRAFT
    hidden.product.save(update_fields=["status"])
    ended = group_deal()
    services.end_deal(actor=ended.shop.memberships.get().user, deal=ended)

    assert [d.pk for d in selectors.live_deals()] == [live.pk]
    assert selectors.live_deal_for_product(live.product).pk == live.pk  # type: ignore[union-attr]
    assert selectors.live_deal_for_product(later.product) is None
    # Public: a started deal of a published product (even ended); staff see their own anyway.
    assert selectors.deal_for(deal_id=ended.pk, viewer=None).pk == ended.pk
    for deal in (later, hidden):
        with pytest.raises(DealNotFound):
            selectors.deal_for(deal_id=deal.pk, viewer=AnonymousUser())
        assert selectors.deal_for(deal_id=deal.pk, viewer=deal.shop.memberships.get().user).pk == deal.pk


def test_team_for_code_ignores_case_and_hides_teams_that_never_started():
    deal = group_deal()
    team = team_of(start(deal))
    assert selectors.team_for_code(team.code.lower()).pk == team.pk
    with pytest.raises(TeamNotFound):
        selectors.team_for_code("NOPE2345")
    with pytest.raises(TeamNotFound):
        selectors.team_for_code("<script>")
    with pytest.raises(PaymentDeclined):
        start(deal, method="sandbox_decline")
    cancelled = Team.objects.get(status=TeamStatus.CANCELLED)
    with pytest.raises(TeamNotFound):
        selectors.team_for_code(cancelled.code)


def test_open_teams_fewest_places_first_and_not_the_viewers():
    deal = group_deal(min_members=3, max_members=4, per_user_limit=2)
    alone = team_of(start(deal))
    pair_leader = start(deal)
    pair = team_of(pair_leader)
    joiner = UserFactory()
    join(pair, joiner)
    full = team_of(start(deal))
    for _ in range(3):
        join(full)
    expired_team = team_of(start(deal))
    Team.objects.filter(pk=expired_team.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert [t.code for t in selectors.open_teams(deal)] == [pair.code, alone.code]
    assert [t.code for t in selectors.open_teams(deal, exclude_user=joiner)] == [alone.code]
    # Members come loaded: listing them costs nothing more.
    teams = selectors.open_teams(deal)
    assert [len(t.holding) for t in teams] == [2, 1]  # type: ignore[attr-defined]


def test_team_view_for_anonymous_member_and_stranger():
    deal = group_deal(max_members=3, tiers=[{"members": 3, "price": "12.00"}])
    leader = start(deal)
    team = selectors.team_for_code(team_of(leader).code)

    anonymous = selectors.team_view(team, viewer=AnonymousUser())
    assert anonymous.can_join and anonymous.viewer_member is None and anonymous.places_left == 2
    assert anonymous.members_short == 1 and anonymous.next_tier.members == 3  # type: ignore[union-attr]
    assert [m.user.pk for m in anonymous.members] == [leader.user_id] and anonymous.members[0].is_leader

    mine = selectors.team_view(team, viewer=leader.user)
    assert not mine.can_join and mine.viewer_member is not None and mine.why_not

    stranger = UserFactory()
    assert selectors.team_view(team, viewer=stranger).can_join
    Team.objects.filter(pk=team.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    late = selectors.team_view(selectors.team_for_code(team.code), viewer=stranger)
    assert not late.can_join and late.seconds_left == 0 and "Time is up" in late.why_not


def test_the_last_place_of_a_new_customers_team_waits_for_a_new_customer():
    shop, owner = selling_shop()
    deal = group_deal(shop=shop, owner=owner, audience="new_customers", max_members=2)
    regular = UserFactory()
    buy(regular, (variant_for_sale(shop), 1))
    leader = UserFactory()
    buy(leader, (variant_for_sale(shop), 1))
    team = selectors.team_for_code(team_of(start(deal, leader)).code)
    refused = selectors.team_view(team, viewer=regular)
    assert not refused.can_join and "first order" in refused.why_not
    assert selectors.team_view(team, viewer=UserFactory()).can_join


def test_shop_deals_and_stats_are_for_staff_only():
    deal = group_deal()
    shop = deal.shop
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    assert [d.pk for d in selectors.shop_deals(shop=shop, viewer=support)] == [deal.pk]
    with pytest.raises(DealForbidden):
        selectors.shop_deals(shop=shop, viewer=UserFactory())
    with pytest.raises(NotAuthenticated):
        selectors.shop_deals(shop=shop, viewer=AnonymousUser())
    with pytest.raises(DealForbidden):
        selectors.deal_stats(shop=shop, viewer=support)
    assert selectors.deal_stats(shop=shop, viewer=manager).teams_started == 0


def test_deal_stats_count_teams_rate_fill_time_and_revenue():
    deal = group_deal(price="20.00", group_price="15.00")
    owner = deal.shop.memberships.get().user
    won = team_of(start(deal))
    join(won)
    lost_leader = start(deal)
    services.expire_due_teams(now=timezone.now() + timedelta(days=2))
    open_team = team_of(start(deal))

    stats = selectors.deal_stats(shop=deal.shop, viewer=owner, days=7)
    assert (stats.teams_started, stats.teams_succeeded, stats.teams_failed, stats.teams_open) == (3, 1, 1, 1)
    assert stats.success_rate == Decimal("0.5") and stats.success_percent == 50
    assert stats.avg_fill_seconds is not None and 0 <= stats.avg_fill_seconds < 60
    paid = Team.objects.get(pk=won.pk).members.all()
    assert stats.revenue == {"EUR": sum((m.order.total for m in paid), Decimal(0))}  # type: ignore[union-attr]
    assert len(stats.daily) == 7 and stats.daily[-1][1:] == (3, 1)
    assert team_of(lost_leader).status == TeamStatus.FAILED and open_team.status == TeamStatus.OPEN
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 3  # the failed team's unit came back
    assert ledger_is_balanced()

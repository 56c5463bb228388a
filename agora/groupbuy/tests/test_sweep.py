"""The expiry sweep closes due teams a chunk at a time (AGORA_TEAM_SWEEP_CHUNK): one transaction fails them, one
cancels their orders, one task voids their payments, one insert tells their members. Each member is still released,
voided and told exactly once, and a team costs the sweep little more than its payment's void at the gateway."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agora.catalog.models import Variant
from agora.groupbuy import services
from agora.groupbuy.models import GroupDeal, MemberStatus, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import expire, group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.notifications.models import Notification
from agora.orders.models import Order, OrderStatus
from agora.payments.models import Payment, PaymentEvent, PaymentStatus

pytestmark = pytest.mark.django_db

# Queries a team adds to a sweep: its payment's void (lock, gateway, status, history, the checkout's look).
QUERIES_PER_TEAM = 12


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[[], AbstractContextManager[Any]]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_the_sweep_closes_teams_chunk_by_chunk_and_tells_each_member_once(commit: Any, settings: Any) -> None:
    settings.AGORA_TEAM_SWEEP_CHUNK = 2
    deal = group_deal(min_members=3, max_members=3, stock=20, stock_allotted=20)
    leaders = [start(deal) for _ in range(5)]
    with commit():
        join(team_of(leaders[0]))
    for leader in leaders:
        expire(team_of(leader))
    mail.outbox.clear()

    with commit():
        assert services.expire_due_teams() == 5
        assert services.expire_due_teams() == 0

    assert set(Team.objects.values_list("status", "seats_taken", "members_count")) == {(TeamStatus.FAILED, 0, 0)}
    assert set(TeamMember.objects.values_list("status", flat=True)) == {MemberStatus.RELEASED}
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert Payment.objects.count() == 6
    for payment in Payment.objects.all():
        assert payment.status == PaymentStatus.VOIDED
        assert PaymentEvent.objects.filter(payment=payment, status=PaymentStatus.VOIDED).count() == 1
    assert Variant.objects.get(product_id=deal.product_id).stock_quantity == 20
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 0
    for member in TeamMember.objects.select_related("user", "team"):
        notices = Notification.objects.filter(recipient=member.user)
        assert notices.filter(kind="team_failed").count() == 1
        assert notices.get(kind="team_failed").title == f"Team {member.team.code} did not fill in time"
        assert not notices.filter(kind__startswith="order.").exists()  # the team's message says it all
        assert [m.subject for m in mail.outbox if m.to == [member.user.email]] == [
            f"Team {member.team.code} did not fill in time"
        ]
    assert ledger_is_balanced()


def test_a_team_costs_the_sweep_about_its_payment_void(commit: Any, settings: Any) -> None:
    settings.AGORA_TEAM_SWEEP_CHUNK = 50
    deal = group_deal(min_members=2, max_members=2, stock=30, stock_allotted=30)

    def sweep_of(count: int) -> int:
        for leader in [start(deal) for _ in range(count)]:
            expire(team_of(leader))
        with CaptureQueriesContext(connection) as queries, commit():
            assert services.expire_due_teams() == count
        return len(queries)

    few, many = sweep_of(2), sweep_of(8)
    # Before chunking, each team cost about 43 queries: its order cancelled, its member released, notified.
    assert (many - few) / 6 <= QUERIES_PER_TEAM, (few, many)
    assert Payment.objects.filter(status=PaymentStatus.VOIDED).count() == 10

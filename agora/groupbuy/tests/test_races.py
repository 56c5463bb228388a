"""Team purchases under concurrency, on PostgreSQL: joins against seats, a join against expiry, two sweeps at once.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_groupbuy``. On SQLite (one writer at a time) these
would pass trivially, so they are skipped there (ADR 0001).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.tests.test_races import assert_only, race, split
from agora.groupbuy import services
from agora.groupbuy.errors import TeamClosed
from agora.groupbuy.models import HOLDING, GroupDeal, MemberStatus, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import expire, group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.notifications.models import Notification
from agora.orders.models import OrderStatus
from agora.payments.models import Payment, PaymentEvent, PaymentStatus, SandboxCharge

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]

M, T = MemberStatus, TeamStatus


@pytest.fixture(autouse=True)
def patient_pool() -> Iterator[None]:
    """A hundred threads share the process's pool of connections (20 by default): a join that completes a team
    also charges its members, so the last threads may wait longer for a connection than the pool's usual 10 s on
    a busy machine. Waiting is not what these tests are about."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        yield
        return
    before, pool.timeout = pool.timeout, 60.0
    yield
    pool.timeout = before


def test_a_hundred_joins_on_ten_teams_of_four() -> None:
    deal = group_deal(
        min_members=2,
        max_members=4,
        stock=500,
        stock_allotted=200,
        tiers=[{"members": 3, "price": "13.00"}, {"members": 4, "price": "12.00"}],
    )
    teams = [team_of(start(deal)) for _ in range(10)]
    joiners = UserFactory.create_batch(100)
    # One instance per thread, read before the race: only the joins themselves race.
    targets = [Team.objects.get(pk=teams[i % 10].pk) for i in range(100)]

    def prepare(i: int) -> Callable[[], Any]:
        user, team = joiners[i], targets[i]
        return lambda: join(team, user)

    winners, errors = split(race(100, prepare))

    assert_only(errors, TeamClosed)
    assert len(winners) == 30
    for team in Team.objects.filter(pk__in=[t.pk for t in teams]):
        assert team.status == T.SUCCEEDED and team.unit_price == Decimal("12.00")
        assert team.seats_taken == team.members_count == 4 == team.max_members
        assert TeamMember.objects.filter(team=team, status__in=HOLDING).count() == 4
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 40
    assert Variant.objects.get(product_id=deal.product_id).stock_quantity == 460
    # Each accepted member has exactly one payment, captured, and ends at the best tier (a refund settled by a
    # concurrent settlement is finished by the sweep at the latest).
    services.sweep()
    accepted = {w.user_id for w in winners}
    for member in TeamMember.objects.select_related("order").filter(status__in=HOLDING):
        payments = list(Payment.objects.filter(payer_id=member.user_id))
        assert len(payments) == 1, member
        assert payments[0].status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)
        assert member.status == M.CAPTURED and member.charged_price == Decimal("12.00")
        assert member.order is not None and member.order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
        # Refunded exactly the difference to 12.00 of what it was charged, never more.
        line_price = member.order.lines.get().unit_price
        assert member.order.refunded_amount == line_price - Decimal("12.00")
    # The rejected ones have no payment at all (their join was refused before any was started).
    rejected = {u.pk for u in joiners} - accepted
    assert len(rejected) == 70
    assert not Payment.objects.filter(payer_id__in=rejected).exists()
    assert ledger_is_balanced()


def test_joins_racing_the_expiry_are_either_charged_in_a_succeeded_team_or_voided() -> None:
    deal = group_deal(min_members=2, max_members=2, stock=100, stock_allotted=100)
    leaders = [start(deal) for _ in range(12)]
    # Half the teams run out in a moment: a join may pass its checks and be confirmed after the clock.
    soon = timezone.now() + timedelta(milliseconds=300)
    Team.objects.filter(pk__in=[m.team_id for m in leaders[::2]]).update(expires_at=soon)
    joiners = UserFactory.create_batch(12)
    teams = [Team.objects.get(pk=m.team_id) for m in leaders]
    later = timezone.now() + timedelta(days=3)

    def prepare(i: int) -> Callable[[], Any]:
        if i < 12:
            user, team = joiners[i], teams[i]
            return lambda: join(team, user)
        # Sweeps that see every team as expired, racing the joins for the team locks.
        return lambda: services.expire_due_teams(now=later)

    outcomes = race(15, prepare)
    joined, errors = split(outcomes[:12])
    assert_only(errors, TeamClosed)
    assert all(not isinstance(o, BaseException) for o in outcomes[12:]), outcomes[12:]

    for team in Team.objects.all():
        assert team.status in (T.SUCCEEDED, T.FAILED)
        members = list(TeamMember.objects.filter(team=team))
        for member in members:
            statuses = set(Payment.objects.filter(payer_id=member.user_id).values_list("status", flat=True))
            if team.status == T.SUCCEEDED:
                assert member.status == M.CAPTURED and statuses == {PaymentStatus.CAPTURED}
            else:
                assert member.status == M.RELEASED
                # Never captured in a failed team, never left authorised.
                assert statuses <= {PaymentStatus.VOIDED}, (team.status, statuses)
    assert not Payment.objects.filter(status=PaymentStatus.AUTHORIZED).exists()
    assert {m.user_id for m in joined} == set(
        TeamMember.objects.filter(status=M.CAPTURED, is_leader=False).values_list("user_id", flat=True)
    )
    assert ledger_is_balanced()


def test_two_sweeps_at_once_void_each_authorisation_once() -> None:
    deal = group_deal(min_members=3, max_members=3, stock=100, stock_allotted=100)
    for _ in range(15):
        leader = start(deal)
        join(team_of(leader))
        expire(team_of(leader))
    assert Payment.objects.filter(status=PaymentStatus.AUTHORIZED).count() == 30

    failed, errors = split(race(4, lambda i: services.expire_due_teams))

    assert errors == []
    assert sum(failed) == 15
    assert set(Team.objects.values_list("status", flat=True)) == {T.FAILED}
    assert set(TeamMember.objects.values_list("status", flat=True)) == {M.RELEASED}
    for payment in Payment.objects.all():
        assert payment.status == PaymentStatus.VOIDED
        assert PaymentEvent.objects.filter(payment=payment, status=PaymentStatus.VOIDED).count() == 1
    assert SandboxCharge.objects.filter(status=PaymentStatus.VOIDED).count() == 30
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 0
    assert Variant.objects.get(product_id=deal.product_id).stock_quantity == 100
    # Each member is told once.
    assert Notification.objects.filter(kind="team_failed").count() == 30
    assert ledger_is_balanced()

"""The sweep (Celery beat, every 30 s) finishes what a stopped worker or a lost message left behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from agora.groupbuy import services, tasks
from agora.groupbuy.models import GroupDeal, MemberStatus, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import OrderStatus
from agora.payments import services as payments
from agora.payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db

M, T = MemberStatus, TeamStatus


def test_the_sweep_is_scheduled() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["groupbuy.sweep"]["task"] == tasks.sweep.name == "groupbuy.sweep"
    assert tasks.settle_team.name == "groupbuy.settle_team"
    assert tasks.sweep.delay().get() == {"confirmed": 0, "failed": 0, "released": 0, "reminded": 0, "settled": 0}


def test_the_sweep_charges_a_succeeded_team_whose_settlement_was_lost(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(services, "_enqueue_settle", lambda team_id: None)  # the broker lost the message
    deal = group_deal(min_members=2, max_members=3)
    leader = start(deal)
    second = join(team_of(leader))
    third = join(team_of(leader))
    assert team_of(leader).status == T.SUCCEEDED
    # A worker stopped halfway through the third member's capture.
    TeamMember.objects.filter(pk=third.pk).update(status=M.CAPTURING)
    assert not Payment.objects.filter(status=PaymentStatus.CAPTURED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep.delay().get()["settled"] == 1

    for member in TeamMember.objects.select_related("order").filter(pk__in=[leader.pk, second.pk, third.pk]):
        assert member.status == M.CAPTURED
        assert member.order is not None and member.order.status == OrderStatus.PAID
    assert Payment.objects.filter(status=PaymentStatus.CAPTURED).count() == 3
    assert services.sweep()["settled"] == 0
    assert ledger_is_balanced()


def test_the_sweep_counts_an_authorisation_whose_confirmation_was_lost() -> None:
    deal = group_deal(min_members=2)
    leader = start(deal)
    late = join(team_of(leader), method="sandbox_timeout")
    # Reconciled, but the confirmation that waits for the commit never ran (the process stopped).
    payments.reconcile_payment(payment=Payment.objects.get(payer=late.user))
    assert TeamMember.objects.get(pk=late.pk).status == M.PAYING

    result = services.sweep()

    assert result["confirmed"] == 1
    assert TeamMember.objects.get(pk=late.pk).status == M.CAPTURED
    assert team_of(leader).status == T.SUCCEEDED


def test_the_sweep_cancels_a_team_whose_leader_never_finished_paying() -> None:
    deal = group_deal()
    leader = start(deal, method="sandbox_timeout")
    assert leader.status == M.PAYING and team_of(leader).status == T.PENDING
    # Not yet: the leader may still be confirming.
    assert services.expire_due_teams() == 0
    old = timezone.now() - timedelta(hours=settings.AGORA_TEAM_MAX_FILL_HOURS + 2)
    Team.objects.filter(pk=leader.team_id).update(created_at=old)

    assert services.expire_due_teams() == 1

    team = team_of(leader)
    assert team.status == T.CANCELLED and team.seats_taken == 0
    assert TeamMember.objects.get(pk=leader.pk).status == M.RELEASED
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 0

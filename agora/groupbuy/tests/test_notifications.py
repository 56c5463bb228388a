"""Members hear about their team in the app, live, and by e-mail: joins, the last place, success, the reminder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from agora.groupbuy import services
from agora.groupbuy.models import Team
from agora.groupbuy.tests.factories import group_deal, join, start, team_of
from agora.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_join_last_place_success_and_reminder_reach_members_by_email(
    django_capture_on_commit_callbacks: Any,
) -> None:
    deal = group_deal(min_members=2, max_members=3)
    with django_capture_on_commit_callbacks(execute=True):
        leader = start(deal)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        joiner = join(team_of(leader))

    kinds = set(Notification.objects.filter(recipient=leader.user).values_list("kind", flat=True))
    assert {"team_joined", "team_last_place", "team_succeeded"} <= kinds
    to_leader = [m for m in mail.outbox if leader.user.email in m.to]
    assert len(to_leader) >= 3
    assert any(joiner.user.public_name in m.subject for m in to_leader)
    assert any(joiner.user.email in m.to for m in mail.outbox)

    # An open team an hour from its end: every member is reminded once, also by e-mail.
    other = start(group_deal(min_members=2, max_members=2))
    Team.objects.filter(pk=other.team_id).update(expires_at=timezone.now() + timedelta(minutes=30))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_reminders() == 1
        assert services.send_reminders() == 0
    assert Notification.objects.filter(recipient=other.user, kind="team_reminder").count() == 1
    assert [m for m in mail.outbox if other.user.email in m.to]

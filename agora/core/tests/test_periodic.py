from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery import shared_task
from django.core.management import call_command

CALLS: list[str] = []


@shared_task(name="agora.core.tests.test_periodic.tick")
def tick() -> None:
    CALLS.append("tick")


@shared_task(name="agora.core.tests.test_periodic.boom")
def boom() -> None:
    raise RuntimeError("a failing task must not stop the others")


@pytest.mark.django_db
def test_periodic_runs_every_scheduled_task_once(settings: Any) -> None:
    CALLS.clear()
    settings.CELERY_BEAT_SCHEDULE = {
        "boom": {"task": "agora.core.tests.test_periodic.boom", "schedule": timedelta(seconds=60)},
        "tick": {"task": "agora.core.tests.test_periodic.tick", "schedule": 30},
    }
    call_command("periodic", "--once")
    assert CALLS == ["tick"]

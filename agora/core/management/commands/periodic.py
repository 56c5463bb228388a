"""Run the periodic tasks of CELERY_BEAT_SCHEDULE in this process, for embedded mode (no broker, no beat).

With Redis configured, run Celery's own beat and workers instead: `celery -A agora worker -B`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger("agora.periodic")


def _seconds(schedule: object) -> float | None:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    run_every = getattr(schedule, "run_every", None)  # celery.schedules.schedule
    return run_every.total_seconds() if isinstance(run_every, timedelta) else None


class Command(BaseCommand):
    help = "Run the periodic tasks (expiry of unpaid orders, reconciliation, trending...) in-process, forever."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every task once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Celery discovers the apps' tasks modules lazily; the runner looks tasks up by name, so load them now.
        current_app.loader.import_default_modules()
        # A line per task per minute would drown the server's log; failures are still logged below.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        entries: list[tuple[str, str, float]] = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            every = _seconds(entry.get("schedule"))
            if every is None:
                logger.warning("periodic: %s has a schedule this runner does not understand; skipped", name)
                continue
            entries.append((name, str(entry["task"]), every))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        due = {name: 0.0 for name, _, _ in entries}
        while not stop.is_set():
            now = time.monotonic()
            for name, task_name, every in entries:
                if due[name] > now:
                    continue
                due[name] = now + every
                try:
                    current_app.tasks[task_name].apply()
                except Exception:  # one failing task must not stop the others; it is logged with its traceback
                    logger.exception("periodic: %s failed", name)
            if options["once"]:
                return
            stop.wait(1.0)

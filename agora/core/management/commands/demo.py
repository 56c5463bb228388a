"""`manage.py demo`: load realistic, deterministic demo data (shops, products with photos, people)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import IntegrityError

from agora.accounts.models import User
from agora.core.demo.loader import DemoError, load_plan
from agora.core.demo.plan import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_PASSWORD, DEMO_USERNAME, build_plan
from agora.core.errors import DomainError
from agora.shops.models import Shop

BAR_WIDTH = 24


class ProgressLine:
    """One line on stderr that redraws itself on a terminal; a few plain lines in a log."""

    def __init__(self, stream: OutputWrapper, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        if self.tty:
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{stage:<9} [{bar}] {done}/{total}", ending="\n" if done == total else "")
            self.stream.flush()
        elif done == total or done % max(1, total // 4) == 0:
            self.stream.write(f"{stage} {done}/{total}")


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence chatty loggers (each eager Celery task logs a line) while the data loads."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def demo_loaded() -> bool:
    return User.objects.filter(username__iexact=DEMO_USERNAME).exists() or Shop.objects.exists()


class Command(BaseCommand):
    help = "Load demo data: shops in ten niches and currencies, products with photos and variants, people."
    # `make run` calls this on every start right after `migrate`, which has just run the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--products", type=int, default=300, help="Number of products (default 300).")
        parser.add_argument("--users", type=int, default=50, help="Number of people, the demo user included.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if demo data (the 'demo' user) or any shop is already there.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        products, users = options["products"], options["users"]
        if products < 0 or products > 100_000:
            raise CommandError("--products must be between 0 and 100000.")
        if users < 1 or users > 10_000:
            raise CommandError("--users must be between 1 and 10000 (the demo user counts as one).")
        if options["if_empty"] and demo_loaded():
            self.stdout.write("demo data already loaded")
            return
        if User.objects.filter(username__iexact=DEMO_USERNAME).exists():
            raise CommandError(
                f"Demo data is already loaded (the user '{DEMO_USERNAME}' exists). Use --if-empty, or a fresh database."
            )
        started = time.perf_counter()
        self.stderr.style_func = None  # progress is not an error: no red
        progress = ProgressLine(self.stderr, enabled=options["verbosity"] > 0)
        plan = build_plan(seed=options["seed"], products=products, users=users)
        try:
            with _quiet("celery.app.trace", "kombu.connection", "agora.payments", "agora.orders"):
                result = load_plan(plan, progress=progress)
        except (DomainError, DemoError, IntegrityError) as exc:  # IntegrityError: another run got there first
            raise CommandError(f"Demo data could not be loaded, nothing was saved: {exc}") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {elapsed:.1f} s: {result.shops} shops, {result.products} products "
                f"({result.published} published, {result.photos} photos), "
                f"{result.users} {'person' if result.users == 1 else 'people'}."
            )
        )
        first_shop = plan.shops[0].niche.shop_name if plan.shops else ""
        self.stdout.write(f"  Shopper:  {DEMO_USERNAME} / {DEMO_PASSWORD}   (also owns {first_shop})")
        if result.admin_created:
            self.stdout.write(f"  Operator: {ADMIN_USERNAME} / {ADMIN_PASSWORD}   (back office at /admin/)")
        else:
            self.stdout.write(f"  Operator: the existing user '{ADMIN_USERNAME}' (back office at /admin/)")
        if result.users > 1:
            self.stdout.write(f"  Other demo people sign in with their username and the password {DEMO_PASSWORD}.")

"""`manage.py feed_timelines`: look after the Redis timelines (see docs/feed.md).

manage.py feed_timelines stats            # how many timelines, and their size
manage.py feed_timelines forget           # drop them all: each is rebuilt from the database on its next read
manage.py feed_timelines forget --user ann
manage.py feed_timelines warm --user ann  # build one now
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agora.accounts.models import User
from agora.feed import timeline
from agora.feed.backends import warm_timeline


class Command(BaseCommand):
    help = "Show, drop or build the Redis home timelines (after switching AGORA_FEED_BACKEND, for instance)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["stats", "forget", "warm"])
        parser.add_argument("--user", help="Username (forget, warm); forget without it drops every timeline.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: there are no Redis timelines.")
        action, username = options["action"], options["user"]
        user = None
        if username:
            user = User.objects.filter(username__iexact=username).first()
            if user is None:
                raise CommandError(f"No user {username!r}.")
        if action == "warm":
            if user is None:
                raise CommandError("warm needs --user.")
            timeline.forget([user.pk])
            warm_timeline(user.pk)
            self.stdout.write(f"{user.username}: {timeline.size(user.pk)} entries")
            return
        if action == "forget" and user is not None:
            timeline.forget([user.pk])
            self.stdout.write(f"{user.username}: forgotten")
            return
        conn = timeline.client()
        pattern = f"{settings.AGORA_FEED_KEY_PREFIX}:feed:*"
        keys = list(conn.scan_iter(match=pattern, count=1000))
        if action == "stats":
            states = [k for k in keys if k.endswith(":st")]
            entries = sum(int(conn.zcard(k)) for k in keys if k.endswith(":tl"))
            self.stdout.write(f"{len(states)} timelines, {entries} entries (prefix {settings.AGORA_FEED_KEY_PREFIX})")
            return
        for start in range(0, len(keys), 1000):
            conn.delete(*keys[start : start + 1000])
        self.stdout.write(f"{len([k for k in keys if k.endswith(':st')])} timelines forgotten")

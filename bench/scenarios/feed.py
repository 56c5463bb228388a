"""The home feed over HTTP: Redis timelines (fan-out on write) against the database (fan-out on read), on the same
server and data, next to the health check (the framework's ceiling); plus, measured in-process before the load,
the time to fan out one post from an account with 10,000 followers.

Needs the data of ``manage.py seed_social`` (the accounts ``feedreader``, following 500 accounts, and
``feedstar``, followed by 10,000 people), Redis, and ``AGORA_FEED_BACKEND_HEADER=1`` so that one server can answer
both ways (the ``X-Agora-Feed-Backend`` header picks the backend of a request). docs/feed.md has the commands.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.loadgen import Target

READER = "feedreader"
STAR = "feedstar"
PAGES = 5  # the cursor rows cycle through pages 2..PAGES
FANOUT_RUNS = 5
FULL_SAMPLE = 300  # followers given a full timeline, to compare the cost of a push into a full and an empty one


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _fanout_figures(star: Any) -> dict[str, Any]:
    """Fan-out of a new post by ``star`` to every follower: warm (empty but ready) timelines, cold ones, and the
    Redis cost per timeline into full ones."""
    from django.utils import timezone

    from agora.feed import services, timeline
    from agora.feed.backends import warm_timeline
    from agora.social.models import Follow, Post

    followers = list(Follow.objects.filter(target_user=star).values_list("follower_id", flat=True))
    floor = timeline.to_score(timezone.now())
    made: list[int] = []

    def new_post() -> int:
        post = Post.objects.create(author=star, text="fan-out benchmark")
        made.append(post.pk)
        return post.pk

    try:
        warm_runs = []
        for _ in range(FANOUT_RUNS):
            # Ready, empty timelines above the floor (valid: older entries come from the database), so every
            # follower's timeline takes the post.
            timeline.mark_truncated(followers, floor=floor)
            post_id = new_post()
            started = time.perf_counter()
            delivered = services.fanout_post(post_id=post_id)
            warm_runs.append(time.perf_counter() - started)
            assert delivered >= len(followers), (delivered, len(followers))
        timeline.forget(followers)
        cold_runs = []
        for _ in range(FANOUT_RUNS):
            post_id = new_post()
            started = time.perf_counter()
            services.fanout_post(post_id=post_id)
            cold_runs.append(time.perf_counter() - started)
        # Redis alone, per timeline: the same push into FULL_SAMPLE full timelines and into as many empty ones.
        sample = followers[:FULL_SAMPLE]
        for user_id in sample:
            warm_timeline(user_id)
        sizes = [timeline.size(user_id) for user_id in sample]
        entry = timeline.entry_for(post_id=new_post(), created_at=timezone.now(), author_id=star.pk, shop_id=None)
        started = time.perf_counter()
        timeline.push_to_many(sample, entry)
        full = time.perf_counter() - started
        timeline.mark_truncated(sample, floor=floor)
        started = time.perf_counter()
        timeline.push_to_many(sample, entry)
        empty = time.perf_counter() - started
    finally:
        timeline.forget(followers)
        Post.objects.filter(pk__in=made).delete()
    return {
        "followers": len(followers),
        "warm_ms": _ms(statistics.median(warm_runs)),
        "warm_all_ms": [_ms(x) for x in warm_runs],
        "cold_ms": _ms(statistics.median(cold_runs)),
        "full_us_per_timeline": round(full / len(sample) * 1e6, 1),
        "empty_us_per_timeline": round(empty / len(sample) * 1e6, 1),
        "full_sample": len(sample),
        "full_avg_entries": round(statistics.mean(sizes)) if sizes else 0,
    }


def _drop_old_bench_timelines() -> None:
    """Earlier runs against the same Redis used other key prefixes (bench/run.sh adds its process id): their
    readers' timelines would only sit there until they expire."""
    from django.conf import settings

    from agora.feed import timeline

    conn = timeline.client()
    mine = f"{settings.AGORA_FEED_KEY_PREFIX}:"
    old = [key for key in conn.scan_iter(match="agora-bench*:feed:*", count=1000) if not key.startswith(mine)]
    for start in range(0, len(old), 1000):
        conn.delete(*old[start : start + 1000])


def plan() -> dict[str, Any]:
    """Finds the benchmark accounts, warms their timelines, measures the fan-out, and issues the API tokens."""
    from django.conf import settings

    from agora.accounts.models import User
    from agora.accounts.services import issue_token
    from agora.feed import timeline
    from agora.feed.backends import DatabaseFeed, warm_timeline
    from agora.social.models import Follow, Post

    if not settings.REDIS_URL:
        raise SystemExit("The feed scenario compares Redis timelines with the database: it needs REDIS_URL.")
    if not settings.AGORA_FEED_BACKEND_HEADER:
        raise SystemExit(
            "The feed scenario needs AGORA_FEED_BACKEND_HEADER=1 (the server must accept X-Agora-Feed-Backend)."
        )
    reader = User.objects.filter(username=READER).first()
    star = User.objects.filter(username=STAR).first()
    if reader is None or star is None:
        raise SystemExit("The feed scenario needs `manage.py seed_social` data (see docs/feed.md).")
    # A typical person of the seed: the first seeded one, who follows --follows-per-user accounts.
    typical = (
        User.objects.filter(username__startswith="seed", is_private=False, following_set__isnull=False)
        .order_by("pk")
        .first()
    )
    assert typical is not None

    figures: dict[str, Any] = {
        "users": User.objects.count(),
        "posts": Post.objects.count(),
        "follows": Follow.objects.count(),
        "reader_follows": Follow.objects.filter(follower=reader).count(),
        "typical_follows": Follow.objects.filter(follower=typical).count(),
        "timeline_length": settings.AGORA_TIMELINE_LENGTH,
    }
    _drop_old_bench_timelines()
    figures["fanout"] = _fanout_figures(star)

    timeline.forget([reader.pk, typical.pk])
    started = time.perf_counter()
    warm_timeline(reader.pk)
    figures["warm_ms"] = _ms(time.perf_counter() - started)
    warm_timeline(typical.pk)
    figures["timeline_entries"] = timeline.size(reader.pk)
    figures["timeline_bytes"] = timeline.memory_usage(reader.pk)

    cursors: list[str] = []
    cursor = None
    for _ in range(PAGES - 1):
        page = DatabaseFeed().home_feed(reader, cursor=cursor, limit=20)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        cursors.append(cursor)
    figures["cursors"] = cursors
    figures["reader_token"] = issue_token(user=reader, name="bench")[1]
    figures["typical_token"] = issue_token(user=typical, name="bench")[1]
    return figures


def describe(plan: dict[str, Any]) -> str:
    fan = plan["fanout"]
    return (
        f"{plan['users']:,} people, {plan['posts']:,} posts, {plan['follows']:,} follows (`manage.py seed_social`). "
        f"The reader follows {plan['reader_follows']} accounts, the typical person {plan['typical_follows']}; "
        "`redis` rows read their Redis timeline (warmed before the load: "
        f"{plan['timeline_entries']} entries of at most {plan['timeline_length']}, "
        f"{plan['timeline_bytes'] / 1024:.0f} KiB in Redis; warming it from cold took {plan['warm_ms']} ms), "
        "`database` rows read the same feed from PostgreSQL (`X-Agora-Feed-Backend` header); pages of 20 posts, "
        f"cursor rows cycle through pages 2 to {len(plan['cursors']) + 1}. "
        f"Fan-out of one post by an account with {fan['followers']:,} followers (the `feed.fanout_post` task body, "
        f"in-process, median of {len(fan['warm_all_ms'])}): {fan['warm_ms']} ms when all their timelines are warm "
        f"(runs: {', '.join(str(x) for x in fan['warm_all_ms'])} ms), {fan['cold_ms']} ms when all are cold "
        f"(skipped); Redis alone costs {fan['full_us_per_timeline']} µs per full timeline "
        f"({fan['full_sample']} timelines of about {fan['full_avg_entries']} entries) and "
        f"{fan['empty_us_per_timeline']} µs per empty one."
    )


def targets(plan: dict[str, Any]) -> list[Target]:
    def auth(token: str, backend: str) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {token}"), ("X-Agora-Feed-Backend", backend))

    reader, typical = plan["reader_token"], plan["typical_token"]
    deeper = [f"/api/v1/feed?limit=20&cursor={cursor}" for cursor in plan["cursors"]] or ["/api/v1/feed?limit=20"]
    rows = [Target("/healthz", ["/healthz"], note="ceiling: no database")]
    for backend in ("redis", "database"):
        rows += [
            Target(
                f"/api/v1/feed — 500 follows, {backend}",
                ["/api/v1/feed?limit=20"],
                headers=auth(reader, backend),
                note="first page",
            ),
            Target(
                f"/api/v1/feed?cursor= — 500 follows, {backend}",
                deeper,
                headers=auth(reader, backend),
                note="pages 2–5",
            ),
            Target(
                f"/api/v1/feed — {plan['typical_follows']} follows, {backend}",
                ["/api/v1/feed?limit=20"],
                headers=auth(typical, backend),
                note="first page, typical person",
            ),
        ]
    return rows

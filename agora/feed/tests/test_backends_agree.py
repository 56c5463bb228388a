"""Both feed backends give the same pages for the same data: seeded random worlds of people, shops, follows,
requests, blocks, private and closed accounts, posts at equal times, reposts, deletions, hidden posts, then a
stream of changes through the social services (which fan out into the Redis timelines), compared page by page
for every person after each step, with short timelines so that reads cross the floor into the database.

Needs REDIS_URL (skipped otherwise): ``REDIS_URL=redis://127.0.0.1:6379/11 AGORA_CACHE_PREFIX=feedtest``.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from agora.accounts.models import User
from agora.feed import timeline
from agora.feed.backends import DatabaseFeed, FeedBackend, RedisTimelineFeed
from agora.feed.tests import factories as f
from agora.shops.models import Membership, Role, Shop
from agora.shops.tests.factories import ShopFactory
from agora.social import services as social
from agora.social.models import Follow, FollowRequest, Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_feed")]
PAGE_SIZES = (3, 8)


def pages(backend: FeedBackend, viewer: User, limit: int) -> list[tuple[list[int], str | None]]:
    found, cursor = [], None
    for _ in range(500):
        page = backend.home_feed(viewer, cursor=cursor, limit=limit)
        found.append(([p.pk for p in page.items], page.next_cursor))
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor
    raise AssertionError("the feed never ended")


def assert_same(people: list[User], label: str) -> int:
    compared = 0
    for viewer in people:
        viewer.refresh_from_db()
        for limit in PAGE_SIZES:
            expected = pages(DatabaseFeed(), viewer, limit)
            got = pages(RedisTimelineFeed(), viewer, limit)
            assert got == expected, f"{label}: viewer {viewer.pk}, page size {limit}"
            compared += sum(len(ids) for ids, _cursor in expected)
    return compared


def build_world(rng: random.Random) -> tuple[list[User], list[Shop], list[Post]]:
    people = [f.user(is_private=rng.random() < 0.25) for _ in range(10)]
    shops = []
    for owner in rng.sample(people, 3):
        shop = ShopFactory()
        Membership.objects.create(shop=shop, user=owner, role=Role.OWNER)
        shops.append(shop)
    for follower in people:
        for target in people:
            if target is follower or rng.random() > 0.45:
                continue
            if target.is_private and rng.random() < 0.4:
                FollowRequest.objects.create(requester=follower, target=target)  # pending: not in the feed
            else:
                f.follow(follower, target)
        for shop in shops:
            if rng.random() < 0.5:
                f.follow(follower, shop)
    for _ in range(4):
        a, b = rng.sample(people, 2)
        if not (a.blocks_made.filter(blocked=b).exists() or b.blocks_made.filter(blocked=a).exists()):
            f.block(a, b)

    base = timezone.now() - dt.timedelta(days=2)
    # Few distinct minutes: many posts share a created_at, so the id tie-break is exercised.
    moments = [base + dt.timedelta(minutes=rng.randrange(40)) for _ in range(25)]
    posts: list[Post] = []
    for _ in range(70):
        author = rng.choice(people)
        staff_shops = [s for s in shops if s.memberships.filter(user=author).exists()]
        shop = rng.choice(staff_shops) if staff_shops and rng.random() < 0.4 else None
        reposted = {p.repost_of_id for p in posts if p.author_id == author.pk}
        originals = [p for p in posts if p.repost_of_id is None and p.author_id != author.pk and p.pk not in reposted]
        repost_of = rng.choice(originals) if originals and rng.random() < 0.2 else None
        post = f.post(author, shop=shop if repost_of is None else None, repost_of=repost_of, at=rng.choice(moments))
        roll = rng.random()
        if roll < 0.07:
            post.deleted_at = timezone.now()
        elif roll < 0.12:
            post.hidden_at = timezone.now()
        post.save()
        posts.append(post)
    closed = rng.choice(people)
    closed.is_active = False
    closed.save()
    return people, shops, posts


def random_change(rng: random.Random, people: list[User], shops: list[Shop], staff: User, commit) -> str:  # type: ignore[no-untyped-def]
    actor = rng.choice([p for p in people if p.is_active])
    others = [p for p in people if p.pk != actor.pk and p.is_active]
    kind = rng.choice(["post", "post", "repost", "follow", "unfollow", "shop", "block", "delete", "hide", "approve"])
    if kind == "post":
        staff_shops = [s for s in shops if s.memberships.filter(user=actor).exists()]
        shop = rng.choice(staff_shops) if staff_shops and rng.random() < 0.5 else None
        commit(social.create_post, actor=actor, shop=shop, text=f"post {rng.random()}")
    elif kind == "repost":
        candidates = list(
            Post.objects.filter(repost_of__isnull=True, deleted_at__isnull=True, hidden_at__isnull=True)
            .exclude(author=actor)
            .filter(author__is_private=False)
        )
        if candidates:
            try:
                commit(social.repost, actor=actor, post=rng.choice(candidates), text="")
            except Exception as exc:  # blocked or otherwise refused: the feed must agree either way
                return f"repost refused ({type(exc).__name__})"
    elif kind == "follow":
        try:
            commit(social.follow_user, actor=actor, target=rng.choice(others))
        except Exception as exc:
            return f"follow refused ({type(exc).__name__})"
    elif kind == "unfollow":
        follows = list(Follow.objects.filter(follower=actor, target_user__isnull=False))
        if follows:
            commit(social.unfollow_user, actor=actor, target=rng.choice(follows).target_user)
    elif kind == "shop":
        shop = rng.choice(shops)
        if Follow.objects.filter(follower=actor, target_shop=shop).exists():
            commit(social.unfollow_shop, actor=actor, shop=shop)
        else:
            commit(social.follow_shop, actor=actor, shop=shop)
    elif kind == "block":
        commit(social.block_user, actor=actor, target=rng.choice(others))
    elif kind in ("delete", "hide"):
        live = list(Post.objects.filter(deleted_at__isnull=True, hidden_at__isnull=True))
        if live:
            post = rng.choice(live)
            if kind == "delete":
                commit(social.delete_post, actor=post.author, post=post)
            else:
                commit(social.hide_post, actor=staff, post=post)
    elif kind == "approve":
        request = FollowRequest.objects.filter(target__is_active=True, requester__is_active=True).first()
        if request is not None:
            try:
                commit(social.approve_request, actor=request.target, requester=request.requester)
            except Exception as exc:
                return f"approve refused ({type(exc).__name__})"
    return kind


@pytest.fixture
def ids_only(monkeypatch):
    """Pages compared by ids and cursors: the card data (the same for both backends) is left out, it would only
    make the hundreds of pages slower."""
    monkeypatch.setattr("agora.feed.backends.with_post_data", lambda posts, viewer: posts.only("id", "created_at"))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.usefixtures("ids_only")
def test_database_and_redis_feeds_agree(seed, settings, django_capture_on_commit_callbacks) -> None:
    # Short timelines: most reads cross the floor and continue from the database.
    settings.AGORA_TIMELINE_LENGTH = 6 if seed % 2 else 25
    rng = random.Random(seed)
    people, shops, _posts = build_world(rng)
    staff = f.user(is_staff=True)

    def commit(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    compared = assert_same(people, "initial (cold timelines, warmed by the reads)")
    assert compared > 100
    done = []
    for step in range(20):
        done.append(random_change(rng, people, shops, staff, commit))
        if step == 10:
            # Some timelines expire: they are read from the database and warmed again.
            timeline.forget([p.pk for p in rng.sample(people, 4)])
        if step % 5 == 4 and step < 19:
            assert_same(people, f"after step {step} ({done[-5:]})")
    assert_same(people, f"after all steps {done}")
    # The Redis side was really used: every live person has a ready timeline.
    assert all(timeline.read(p.pk, max_score=None, offset=0, count=1, refresh=False)[0] for p in people)

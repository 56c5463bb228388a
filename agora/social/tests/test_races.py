"""Races on PostgreSQL: double taps and bursts leave one row and right counters (unique constraints + F())."""

from __future__ import annotations

from typing import Any

import pytest

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.core.tests.test_races import ON_POSTGRESQL, race
from agora.social import services
from agora.social.models import Follow, Like, Poll, PollVote, Post, ShareLink, UserStats

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]

N = 8


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 1000


def ok(outcomes: list[Any]) -> None:
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors


def test_one_person_tapping_like_many_times_likes_once() -> None:
    author, fan = UserFactory(), UserFactory()
    post = services.create_post(actor=author, text="hi")
    outcomes = race(
        N, lambda i: lambda: services.like_post(actor=User.objects.get(pk=fan.pk), post=Post.objects.get(pk=post.pk))
    )
    ok(outcomes)
    assert outcomes.count(True) == 1
    assert Like.objects.count() == 1 and Post.objects.get(pk=post.pk).likes_count == 1


def test_many_likes_at_once_are_all_counted() -> None:
    author = UserFactory()
    fans = UserFactory.create_batch(N)
    post = services.create_post(actor=author, text="hi")
    ok(
        race(
            N,
            lambda i: (
                lambda: services.like_post(actor=User.objects.get(pk=fans[i].pk), post=Post.objects.get(pk=post.pk))
            ),
        )
    )
    assert Post.objects.get(pk=post.pk).likes_count == N == Like.objects.count()


def test_follow_bursts_keep_counters_right() -> None:
    star = UserFactory()
    fans = UserFactory.create_batch(N)
    # Half follow once each, while one fan follows N times at once.
    ok(race(N, lambda i: lambda: services.follow_user(actor=User.objects.get(pk=fans[i].pk), target=star)))
    ok(race(N, lambda i: lambda: services.follow_user(actor=User.objects.get(pk=fans[0].pk), target=star)))
    assert Follow.objects.filter(target_user=star).count() == N
    assert UserStats.objects.get(user=star).followers_count == N
    ok(race(N, lambda i: lambda: services.unfollow_user(actor=User.objects.get(pk=fans[0].pk), target=star)))
    assert UserStats.objects.get(user=star).followers_count == N - 1


def test_double_vote_counts_once() -> None:
    author, voter = UserFactory(), UserFactory()
    post = services.create_post(actor=author, text="pick", poll={"question": "Q?", "options": ["a", "b"]})
    poll = Poll.objects.get(post=post)
    option = poll.options.first()  # type: ignore[attr-defined]

    def prepare(i: int) -> Any:
        p = Poll.objects.select_related("post", "post__author").get(pk=poll.pk)
        return lambda: services.vote(actor=User.objects.get(pk=voter.pk), poll=p, option_id=option.pk)

    ok(race(N, prepare))
    assert PollVote.objects.count() == 1
    assert Poll.objects.get(pk=poll.pk).votes_count == 1
    assert poll.options.get(pk=option.pk).votes_count == 1  # type: ignore[attr-defined]


def test_double_repost_and_share_make_one_each() -> None:
    author, fan = UserFactory(), UserFactory()
    post = services.create_post(actor=author, text="hi")
    reposts = race(
        N, lambda i: lambda: services.repost(actor=User.objects.get(pk=fan.pk), post=Post.objects.get(pk=post.pk))
    )
    ok(reposts)
    assert len({r.pk for r in reposts}) == 1
    links = race(
        N,
        lambda i: (
            lambda: services.create_share_link(actor=User.objects.get(pk=fan.pk), post=Post.objects.get(pk=post.pk))
        ),
    )
    ok(links)
    assert ShareLink.objects.count() == 1
    fresh = Post.objects.get(pk=post.pk)
    assert (fresh.reposts_count, fresh.shares_count) == (1, 1)

"""Follows, follow requests, blocks and the counters, through the services."""

from __future__ import annotations

from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.core.errors import RateLimited
from agora.notifications.models import Notification
from agora.shops.tests.factories import ShopFactory
from agora.social import selectors, services, signals
from agora.social.errors import BlockedError, CannotBlockSelf, CannotFollowSelf, FollowRequestNotFound
from agora.social.models import Follow, FollowRequest, ShopStats, UserStats

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self, signal: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        self.signal = signal
        signal.connect(self, weak=False)

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        self.calls.append(kwargs)

    def close(self) -> None:
        self.signal.disconnect(self)


@pytest.fixture
def record() -> Any:
    made: list[Recorder] = []

    def make(signal: Any) -> Recorder:
        rec = Recorder(signal)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.close()


def stats(user: Any) -> tuple[int, int]:
    row = UserStats.objects.filter(user=user).first()
    return (row.followers_count, row.following_count) if row else (0, 0)


def test_follow_is_idempotent_counts_once_and_signals(alice: Any, bob: Any, record: Any) -> None:
    started = record(signals.follow_started)
    first = services.follow_user(actor=alice, target=bob)
    again = services.follow_user(actor=alice, target=bob)
    assert (first.status, first.created) == ("following", True)
    assert (again.status, again.created) == ("following", False)
    assert Follow.objects.filter(follower=alice, target_user=bob).count() == 1
    assert stats(bob) == (1, 0) and stats(alice) == (0, 1)
    assert started.calls == [{"follower_id": alice.pk, "target_user_id": bob.pk, "target_shop_id": None}]
    note = Notification.objects.get(recipient=bob)
    assert note.kind == "social.follow"
    assert alice.public_name in note.title


def test_unfollow_decrements_and_signals(alice: Any, bob: Any, record: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    ended = record(signals.follow_ended)
    assert services.unfollow_user(actor=alice, target=bob) is True
    assert services.unfollow_user(actor=alice, target=bob) is False
    assert stats(bob) == (0, 0) and stats(alice) == (0, 0)
    assert len(ended.calls) == 1


def test_following_yourself_is_refused(alice: Any) -> None:
    with pytest.raises(CannotFollowSelf) as exc:
        services.follow_user(actor=alice, target=alice)
    assert exc.value.status == 422
    assert not Follow.objects.exists()


def test_follow_burst_after_unfollow_notifies_once(alice: Any, bob: Any) -> None:
    for _ in range(3):
        services.follow_user(actor=alice, target=bob)
        services.unfollow_user(actor=alice, target=bob)
    assert Notification.objects.filter(recipient=bob, kind="social.follow").count() == 1


def test_private_account_gets_a_request_then_approves(alice: Any, bob: Any, record: Any) -> None:
    bob.is_private = True
    bob.save()
    started = record(signals.follow_started)
    result = services.follow_user(actor=alice, target=bob)
    assert (result.status, result.created) == ("requested", True)
    assert services.follow_user(actor=alice, target=bob).created is False
    assert not Follow.objects.exists() and started.calls == []
    assert Notification.objects.filter(recipient=bob, kind="social.follow_request").count() == 1
    assert [r.requester for r in selectors.pending_requests(user=bob)] == [alice]

    follow = services.approve_request(actor=bob, requester=alice)
    assert follow.follower == alice and follow.target_user == bob
    assert not FollowRequest.objects.exists()
    assert len(started.calls) == 1 and stats(bob) == (1, 0)
    # A double click on "approve" answers the same.
    assert services.approve_request(actor=bob, requester=alice) == follow
    assert Notification.objects.filter(recipient=alice, kind="social.follow_approved").exists()


def test_decline_and_withdraw_requests(alice: Any, bob: Any, carol: Any) -> None:
    bob.is_private = True
    bob.save()
    services.follow_user(actor=alice, target=bob)
    services.follow_user(actor=carol, target=bob)
    services.decline_request(actor=bob, requester=alice)
    services.unfollow_user(actor=carol, target=bob)  # withdraws
    assert not FollowRequest.objects.exists() and not Follow.objects.exists()
    with pytest.raises(FollowRequestNotFound):
        services.decline_request(actor=bob, requester=alice)
    with pytest.raises(FollowRequestNotFound):
        services.approve_request(actor=bob, requester=carol)


def test_block_removes_follows_both_ways_and_requests(alice: Any, bob: Any, record: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    services.follow_user(actor=bob, target=alice)
    assert selectors.relationship(alice, bob).is_friend
    ended, blocked = record(signals.follow_ended), record(signals.user_blocked)
    services.block_user(actor=alice, target=bob)
    services.block_user(actor=alice, target=bob)  # idempotent
    assert not Follow.objects.exists()
    assert stats(alice) == (0, 0) and stats(bob) == (0, 0)
    assert len(ended.calls) == 2
    assert blocked.calls == [{"blocker_id": alice.pk, "blocked_id": bob.pk}]
    rel = selectors.relationship(alice, bob)
    assert rel.blocking and not rel.following and not rel.can_see_posts
    assert selectors.relationship(bob, alice).blocked_by


def test_blocked_people_cannot_follow_either_way(alice: Any, bob: Any) -> None:
    services.block_user(actor=alice, target=bob)
    with pytest.raises(BlockedError):
        services.follow_user(actor=bob, target=alice)
    with pytest.raises(BlockedError):
        services.follow_user(actor=alice, target=bob)
    assert not selectors.can_message(bob, alice)
    services.unblock_user(actor=alice, target=bob)
    assert services.follow_user(actor=bob, target=alice).status == "following"
    assert selectors.can_message(bob, alice)


def test_block_drops_a_pending_request(alice: Any, bob: Any) -> None:
    bob.is_private = True
    bob.save()
    services.follow_user(actor=alice, target=bob)
    services.block_user(actor=bob, target=alice)
    assert not FollowRequest.objects.exists()


def test_cannot_block_yourself(alice: Any) -> None:
    with pytest.raises(CannotBlockSelf):
        services.block_user(actor=alice, target=alice)


def test_follow_shop_counts_and_lists(alice: Any, bob: Any) -> None:
    shop = ShopFactory()
    assert services.follow_shop(actor=alice, shop=shop).created
    assert not services.follow_shop(actor=alice, shop=shop).created
    assert ShopStats.objects.get(shop=shop).followers_count == 1
    assert selectors.is_following_shop(alice, shop)
    services.follow_user(actor=alice, target=bob)
    rows = list(selectors.following_of(user=alice, viewer=alice))
    assert {(r.target_user_id, r.target_shop_id) for r in rows} == {(bob.pk, None), (None, shop.pk)}
    assert selectors.following_ids(alice) == ({bob.pk}, {shop.pk})
    assert list(selectors.follower_ids(shop=shop)) == [alice.pk]
    services.unfollow_shop(actor=alice, shop=shop)
    assert ShopStats.objects.get(shop=shop).followers_count == 0


def test_friends_are_mutual_follows(alice: Any, bob: Any, carol: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    services.follow_user(actor=bob, target=alice)
    services.follow_user(actor=alice, target=carol)
    assert list(selectors.friends_of(user=alice, viewer=alice)) == [bob]


def test_private_lists_are_for_followers_only(alice: Any, bob: Any, carol: Any) -> None:
    bob.is_private = True
    bob.save()
    services.follow_user(actor=carol, target=bob)
    services.approve_request(actor=bob, requester=carol)
    assert list(selectors.followers_of(user=bob, viewer=alice)) == []
    assert list(selectors.followers_of(user=bob, viewer=None)) == []
    assert [f.follower for f in selectors.followers_of(user=bob, viewer=carol)] == [carol]
    assert [f.follower for f in selectors.followers_of(user=bob, viewer=bob)] == [carol]


def test_blocked_people_vanish_from_lists(alice: Any, bob: Any, carol: Any) -> None:
    services.follow_user(actor=bob, target=carol)
    services.follow_user(actor=alice, target=carol)
    services.block_user(actor=alice, target=bob)
    alice = type(alice).objects.get(pk=alice.pk)
    assert [f.follower for f in selectors.followers_of(user=carol, viewer=alice)] == [alice]


def test_follow_rate_limit(settings: Any, alice: Any) -> None:
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 3
    people = UserFactory.create_batch(4)
    for person in people[:3]:
        services.follow_user(actor=alice, target=person)
    with pytest.raises(RateLimited) as exc:
        services.follow_user(actor=alice, target=people[3])
    assert exc.value.status == 429
    assert Follow.objects.filter(follower=alice).count() == 3


def test_remove_follower(alice: Any, bob: Any) -> None:
    services.follow_user(actor=alice, target=bob)
    assert services.remove_follower(actor=bob, follower=alice)
    assert not Follow.objects.exists() and stats(bob) == (0, 0)

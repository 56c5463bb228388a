"""Likes, comments, reposts, share links and polls through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.core.errors import PermissionDenied, RateLimited
from agora.notifications.models import Notification
from agora.shops.models import Role
from agora.shops.tests.factories import MembershipFactory, shop_with_owner
from agora.social import selectors, services, signals
from agora.social.errors import (
    AlreadyVoted,
    BlockedError,
    CannotRepost,
    CommentInvalid,
    CommentRemoved,
    NotYourComment,
    PollClosed,
    PollInvalid,
    PostNotFound,
    PostRemoved,
    ShareInvalid,
)
from agora.social.models import Comment, Like, Poll, PollVote, Post, ShareLink, ShareOpen

pytestmark = pytest.mark.django_db


def fresh(post: Post) -> Post:
    return Post.objects.get(pk=post.pk)


# --- likes ----------------------------------------------------------------------------
def test_like_is_idempotent_and_counted(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    liked: list[int] = []
    signals.post_liked.connect(rec := (lambda sender, post, user_id, **kw: liked.append(user_id)), weak=False)
    try:
        assert services.like_post(actor=bob, post=post) is True
        assert services.like_post(actor=bob, post=post) is False
    finally:
        signals.post_liked.disconnect(rec)
    assert Like.objects.count() == 1 and fresh(post).likes_count == 1 and liked == [bob.pk]
    assert services.unlike_post(actor=bob, post=post) is True
    assert services.unlike_post(actor=bob, post=post) is False
    assert fresh(post).likes_count == 0


def test_likes_on_one_post_make_one_notification(alice: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    fans = UserFactory.create_batch(3)
    for fan in fans:
        services.like_post(actor=fan, post=post)
    notes = Notification.objects.filter(recipient=alice, kind="social.like")
    assert notes.count() == 1
    assert "2 others" in notes.get().title
    services.like_post(actor=alice, post=post)  # liking one's own post notifies nobody
    assert notes.count() == 1


def test_cannot_like_a_removed_or_invisible_post(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    services.delete_post(actor=alice, post=post)
    with pytest.raises(PostRemoved) as exc:
        services.like_post(actor=bob, post=fresh(post))
    assert exc.value.status == 409
    private = UserFactory(is_private=True)
    secret = services.create_post(actor=private, text="secret")
    with pytest.raises(PostNotFound):
        services.like_post(actor=bob, post=secret)


# --- comments -------------------------------------------------------------------------
def test_comments_thread_one_level(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    top = services.add_comment(actor=bob, post=post, text="Nice!")
    reply = services.add_comment(actor=carol, post=post, text="Agreed", parent_id=top.pk)
    with pytest.raises(CommentInvalid) as exc:
        services.add_comment(actor=alice, post=post, text="deeper", parent_id=reply.pk)
    assert exc.value.status == 422 and exc.value.field == "parent_id"
    other = services.create_post(actor=alice, text="other")
    with pytest.raises(Exception) as missing:
        services.add_comment(actor=alice, post=other, text="x", parent_id=top.pk)
    assert getattr(missing.value, "status", None) == 404
    assert fresh(post).comments_count == 2
    threads = list(selectors.comments_of(post=post, viewer=None))
    assert threads == [top] and threads[0].reply_list == [reply]  # type: ignore[attr-defined]
    kinds = set(Notification.objects.values_list("recipient__username", "kind"))
    assert ("alice", "social.comment") in kinds and ("bob", "social.reply") in kinds


def test_empty_or_long_comment(alice: Any, bob: Any, settings: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    for text in ("", "   ", "x" * (settings.AGORA_COMMENT_MAX_LENGTH + 1)):
        with pytest.raises(Exception) as exc:
            services.add_comment(actor=bob, post=post, text=text)
        assert getattr(exc.value, "status", None) == 422
    assert not Comment.objects.exists()


def test_commenting_on_a_hidden_or_deleted_post_is_a_409(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    services.hide_post(actor=UserFactory(is_staff=True), post=post)
    with pytest.raises(PostRemoved) as exc:
        services.add_comment(actor=bob, post=fresh(post), text="hello?")
    assert exc.value.status == 409
    assert not Comment.objects.exists()


def test_blocked_people_cannot_comment(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    top = services.add_comment(actor=UserFactory(), post=post, text="first")
    services.block_user(actor=alice, target=bob)
    bob = type(bob).objects.get(pk=bob.pk)
    # The post is not even visible to bob any more.
    with pytest.raises(PostNotFound):
        services.add_comment(actor=bob, post=post, text="let me in")
    # Replying to someone who blocked you is refused too, on a post you can see.
    shop, owner = shop_with_owner()
    shop_post = services.create_post(actor=owner, text="shop news", shop=shop)
    services.add_comment(actor=alice, post=shop_post, text="mine")
    thread = Comment.objects.get(post=shop_post)
    with pytest.raises(BlockedError):
        services.add_comment(actor=bob, post=shop_post, text="reply", parent_id=thread.pk)
    assert top.pk


def test_edit_and_delete_own_comment(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    comment = services.add_comment(actor=bob, post=post, text="typo")
    with pytest.raises(NotYourComment):
        services.edit_comment(actor=alice, comment=comment, text="changed")
    services.edit_comment(actor=bob, comment=comment, text="fixed")
    comment.refresh_from_db()
    assert comment.text == "fixed" and comment.edited_at is not None
    with pytest.raises(NotYourComment):
        services.delete_comment(actor=alice, comment=comment)
    services.delete_comment(actor=bob, comment=comment)
    services.delete_comment(actor=bob, comment=comment)
    assert fresh(post).comments_count == 0
    with pytest.raises(CommentRemoved):
        services.edit_comment(actor=bob, comment=comment, text="back")


def test_post_author_hides_and_unhides_comments(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    comment = services.add_comment(actor=bob, post=post, text="spam")
    with pytest.raises(PermissionDenied):
        services.hide_comment(actor=carol, comment=comment)
    services.hide_comment(actor=alice, comment=comment)
    assert fresh(post).comments_count == 0
    assert list(selectors.comments_of(post=post, viewer=carol)) == []
    with pytest.raises(CommentRemoved):
        services.add_comment(actor=carol, post=post, text="re", parent_id=comment.pk)
    services.unhide_comment(actor=alice, comment=comment)
    assert fresh(post).comments_count == 1


def test_shop_staff_with_moderation_hide_comments_on_shop_posts(bob: Any) -> None:
    shop, owner = shop_with_owner()
    post = services.create_post(actor=owner, text="Sale", shop=shop)
    comment = services.add_comment(actor=bob, post=post, text="rude")
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    services.hide_comment(actor=support, comment=comment)
    assert Comment.objects.get(pk=comment.pk).hidden_by == support


def test_comment_rate_limit(alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 2
    post = services.create_post(actor=alice, text="hi")
    services.add_comment(actor=bob, post=post, text="1")
    services.add_comment(actor=bob, post=post, text="2")
    with pytest.raises(RateLimited):
        services.add_comment(actor=bob, post=post, text="3")


def test_comment_mentions(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="hi")
    services.add_comment(actor=bob, post=post, text="@carol look! @alice")
    assert Notification.objects.filter(recipient=carol, kind="social.mention").count() == 1
    # alice is notified once, of the comment, not also of the mention
    assert Notification.objects.filter(recipient=alice).count() == 1


# --- reposts --------------------------------------------------------------------------
def test_repost_points_at_the_original_and_is_idempotent(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="original")
    shared: list[str] = []
    signals.post_shared.connect(rec := (lambda sender, kind, **kw: shared.append(kind)), weak=False)
    try:
        first = services.repost(actor=bob, post=post, text="look at this")
        again = services.repost(actor=bob, post=post)
        of_repost = services.repost(actor=carol, post=first)
    finally:
        signals.post_shared.disconnect(rec)
    assert first == again and first.repost_of == post and first.text == "look at this"
    assert of_repost.repost_of == post
    assert fresh(post).reposts_count == 2 and shared == ["repost", "repost"]
    assert Notification.objects.filter(recipient=alice, kind="social.repost").count() == 1
    services.delete_post(actor=bob, post=first)
    assert fresh(post).reposts_count == 1
    assert services.repost(actor=bob, post=post) != first  # a new one after deleting


def test_repost_rules(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="mine")
    with pytest.raises(CannotRepost):
        services.repost(actor=alice, post=post)
    private = UserFactory(is_private=True)
    services.follow_user(actor=bob, target=private)
    services.approve_request(actor=private, requester=bob)
    secret = services.create_post(actor=private, text="friends only")
    with pytest.raises(CannotRepost):
        services.repost(actor=bob, post=secret)


def test_repost_disappears_with_its_original(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="original")
    shared = services.repost(actor=bob, post=post)
    assert selectors.visible_posts(carol).filter(pk=shared.pk).exists()
    services.delete_post(actor=alice, post=post)
    assert not selectors.visible_posts(carol).filter(pk=shared.pk).exists()
    assert not selectors.can_view_post(carol, Post.objects.select_related("repost_of").get(pk=shared.pk))


# --- share links ----------------------------------------------------------------------
def test_share_link_for_a_post_records_opens(alice: Any, bob: Any, carol: Any) -> None:
    product = published_product()
    post = services.create_post(actor=alice, text="look", tags=[{"product_id": product.pk}])
    link = services.create_share_link(actor=bob, post=post, channel="WhatsApp")
    assert services.create_share_link(actor=bob, post=post, channel="whatsapp") == link
    assert len(link.code) == 8 and link.channel == "whatsapp"
    assert fresh(post).shares_count == 1
    services.open_share_link(code=link.code, viewer=carol, referrer="https://chat.example/")
    services.open_share_link(code=link.code, viewer=None, session_key="anon-session")
    services.open_share_link(code=link.code, viewer=bob)  # the sharer: not an open
    opens = list(ShareOpen.objects.order_by("id"))
    assert [(o.viewer, o.session_key, o.referrer) for o in opens] == [
        (carol, "", "https://chat.example/"),
        (None, "anon-session", ""),
    ]
    assert ShareLink.objects.get(pk=link.pk).opens_count == 2
    assert selectors.resolve_share_link(link.code) == link
    # Later issues attribute purchases: the product tagged in the shared post leads back to bob's link.
    assert selectors.attributed_share(product_id=product.pk, user=carol) == link
    assert selectors.attributed_share(product_id=product.pk, session_key="anon-session") == link
    assert selectors.attributed_share(product_id=product.pk, user=alice) is None


def test_share_link_for_a_product(bob: Any) -> None:
    product = published_product()
    link = services.create_share_link(actor=bob, product=product)
    assert link.target_kind == "product" and link.post is None
    from agora.catalog.models import ProductStatus

    product.status = ProductStatus.DRAFT
    product.save()
    with pytest.raises(ShareInvalid):
        services.create_share_link(actor=bob, product=product, channel="other")
    with pytest.raises(Exception) as exc:
        selectors.resolve_share_link("nope")
    assert getattr(exc.value, "status", None) == 404


# --- polls ----------------------------------------------------------------------------
def poll_post(author: Any, **extra: Any) -> Post:
    spec = {"question": "Which colour next?", "options": ["Red", "Green", "Blue"], **extra}
    return services.create_post(actor=author, text="Help us choose", poll=spec)


def test_one_vote_per_user(alice: Any, bob: Any, carol: Any) -> None:
    poll = poll_post(alice).poll  # type: ignore[attr-defined]
    red, green, _blue = poll.options.all()
    services.vote(actor=bob, poll=poll, option_id=red.pk)
    assert services.vote(actor=bob, poll=poll, option_id=red.pk).option == red  # same vote: accepted, idempotent
    with pytest.raises(AlreadyVoted) as exc:
        services.vote(actor=bob, poll=poll, option_id=green.pk)
    assert exc.value.status == 409
    services.vote(actor=carol, poll=poll, option_id=green.pk)
    with pytest.raises(PollInvalid):
        services.vote(actor=alice, poll=poll, option_id=999_999)
    results = selectors.poll_results(poll=Poll.objects.get(pk=poll.pk), viewer=bob)
    assert results.total == 2 and results.voted_option_id == red.pk
    assert [(o.text, o.votes, o.percent) for o in results.options] == [
        ("Red", 1, 50.0),
        ("Green", 1, 50.0),
        ("Blue", 0, 0.0),
    ]
    assert PollVote.objects.count() == 2


def test_closed_poll_refuses_votes_and_is_announced_once(alice: Any, bob: Any, carol: Any) -> None:
    poll = poll_post(alice).poll  # type: ignore[attr-defined]
    red = poll.options.first()
    services.vote(actor=bob, poll=poll, option_id=red.pk)
    services.vote(actor=carol, poll=poll, option_id=red.pk)
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    poll.refresh_from_db()
    with pytest.raises(PollClosed):
        services.vote(actor=UserFactory(), poll=poll, option_id=red.pk)
    assert services.close_due_polls() == 1
    assert services.close_due_polls() == 0
    announced = Notification.objects.filter(kind="social.poll_closed")
    assert sorted(announced.values_list("recipient__username", flat=True)) == ["alice", "bob", "carol"]
    assert "Red" in announced.first().body  # type: ignore[union-attr]


def test_close_polls_task_runs(alice: Any) -> None:
    from agora.social.tasks import close_due_polls

    poll = poll_post(alice).poll  # type: ignore[attr-defined]
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    assert close_due_polls.delay().get() == 1
    assert Poll.objects.get(pk=poll.pk).closed_notified_at is not None

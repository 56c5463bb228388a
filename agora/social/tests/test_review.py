"""Second read of the social features: each test here failed before its fix (privacy leaks through notifications
and share links, abuse through share links and NUL bytes) or covers a gap closed in the review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.notifications.models import Notification
from agora.social import services
from agora.social.models import Poll, Post, ShareLink, ShareOpen

pytestmark = pytest.mark.django_db


def kinds_of(user: Any) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def texts_of(user: Any) -> str:
    return " ".join(f"{n.title} {n.body}" for n in Notification.objects.filter(recipient=user))


# --- notifications never carry what the recipient may not see ------------------------------------
def test_a_reply_is_not_announced_to_someone_who_cannot_see_the_post(alice: Any, bob: Any, carol: Any) -> None:
    alice.is_private = True
    alice.save()
    for person in (bob, carol):
        services.follow_user(actor=person, target=alice)
        services.approve_request(actor=alice, requester=person)
    post = services.create_post(actor=alice, text="family only")
    comment = services.add_comment(actor=bob, post=post, text="nice")
    services.remove_follower(actor=alice, follower=bob)
    services.add_comment(actor=carol, post=post, text="secret reply", parent_id=comment.pk)
    assert "secret reply" not in texts_of(bob)
    assert "social.reply" not in kinds_of(bob)
    assert "secret reply" in texts_of(alice)  # control: the author still hears of it


def test_a_private_reposters_comment_is_not_shown_to_a_stranger(alice: Any, bob: Any) -> None:
    bob.is_private = True
    bob.save()
    original = services.create_post(actor=alice, text="public post")
    services.repost(actor=bob, post=original, text="only my followers read this")
    assert "social.repost" in kinds_of(alice)  # told that it was reposted...
    assert "only my followers read this" not in texts_of(alice)  # ...not what bob's followers read
    note = Notification.objects.get(recipient=alice, kind="social.repost")
    assert note.url == f"/p/{original.pk}/"


def test_poll_closed_is_announced_only_to_voters_who_can_still_see_it(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="vote", poll={"question": "Red or blue?", "options": ["Red", "Blue"]})
    poll = Poll.objects.get(post=post)
    services.vote(actor=bob, poll=poll, option_id=poll.options.first().pk)  # type: ignore[attr-defined]
    services.vote(actor=carol, poll=poll, option_id=poll.options.last().pk)  # type: ignore[attr-defined]
    services.block_user(actor=alice, target=bob)
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    assert services.close_due_polls() == 1
    assert "social.poll_closed" in kinds_of(carol)
    assert "social.poll_closed" not in kinds_of(bob)


def test_blocking_withdraws_what_each_was_told_about_the_other(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="hello @bob")
    services.like_post(actor=bob, post=post)
    services.add_comment(actor=bob, post=post, text="hi @alice")
    carols = services.create_post(actor=carol, text="control")
    services.like_post(actor=bob, post=carols)
    assert "social.mention" in kinds_of(bob) and "social.like" in kinds_of(alice)
    services.block_user(actor=alice, target=bob)
    assert Notification.objects.filter(recipient=bob, actor=alice).count() == 0
    assert Notification.objects.filter(recipient=alice, actor=bob).count() == 0
    assert Notification.objects.filter(recipient=carol, actor=bob).count() == 1  # nobody else's


def test_removed_posts_take_their_mentions_out_of_notifications(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="secret plan @bob")
    services.create_post(actor=alice, text="still here @bob")
    services.delete_post(actor=alice, post=post)
    assert "secret plan" not in texts_of(bob)
    assert "still here" in texts_of(bob)


def test_a_hidden_comment_takes_its_mention_out_of_notifications(alice: Any, bob: Any, carol: Any) -> None:
    post = services.create_post(actor=alice, text="a post")
    comment = services.add_comment(actor=carol, post=post, text="rude remark @bob")
    assert "rude remark" in texts_of(bob)
    services.hide_comment(actor=alice, comment=comment)
    assert "rude remark" not in texts_of(bob)


# --- share links ---------------------------------------------------------------------------------------------
def test_opening_a_link_again_counts_once(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="share me")
    link = services.create_share_link(actor=alice, post=post)
    for _i in range(5):
        services.open_share_link(code=link.code, viewer=bob)
        services.open_share_link(code=link.code, viewer=None, session_key="s1")
    link.refresh_from_db()
    assert link.opens_count == 2
    assert ShareOpen.objects.filter(link=link).count() == 2
    services.open_share_link(code=link.code, viewer=None, session_key="s2")
    link.refresh_from_db()
    assert link.opens_count == 3


def test_many_channels_do_not_inflate_the_share_count(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=alice, text="share me")
    for channel in ("whatsapp", "mail", "x", "telegram"):
        services.create_share_link(actor=bob, post=post, channel=channel)
    post.refresh_from_db()
    assert post.shares_count == 1
    assert ShareLink.objects.filter(post=post).count() == 4


def test_making_share_links_has_a_rate_limit(alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_SHARE_RATE_LIMIT = 3
    post = services.create_post(actor=alice, text="share me")
    for channel in ("a", "b", "c"):
        services.create_share_link(actor=bob, post=post, channel=channel)
    assert services.create_share_link(actor=bob, post=post, channel="a")  # the same link again is free
    with pytest.raises(Exception) as exc:
        services.create_share_link(actor=bob, post=post, channel="d")
    assert getattr(exc.value, "status", None) == 429


def test_share_link_api_says_nothing_about_a_post_the_caller_cannot_see(
    alice: Any, bob: Any, api: Any, api_as: Callable[[Any], Any]
) -> None:
    alice.is_private = True
    alice.save()
    services.follow_user(actor=bob, target=alice)
    services.approve_request(actor=alice, requester=bob)
    post = services.create_post(actor=alice, text="followers only")
    link = services.create_share_link(actor=bob, post=post)
    stranger = UserFactory(username="stranger")
    for client in (api, api_as(stranger)):
        assert client.call("GET", f"share/{link.code}").status_code == 404
        assert client.call("POST", f"share/{link.code}/open", {}).status_code == 404
    assert api_as(bob).call("GET", f"share/{link.code}").json()["post_id"] == post.pk  # control


def test_share_link_to_an_unpublished_product_is_gone(alice: Any, api: Any) -> None:
    product = published_product(title="Vase")
    link = services.create_share_link(actor=alice, product=product)
    assert api.call("GET", f"share/{link.code}").status_code == 200
    product.status = "draft"
    product.save()
    assert api.call("GET", f"share/{link.code}").status_code == 404


# --- NUL bytes and odd input never make a 500 ----------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["/tags/a%00b/", "/u/a%00b/", "/u/a%00b/posts/", "/u/a%00b/followers/", "/l/a%00b", "/l/a%00b/"],
)
def test_nul_in_a_web_address_is_a_404(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404


def test_nul_in_the_post_search_is_harmless(api: Any, alice: Any) -> None:
    services.create_post(actor=alice, text="hello world")
    response = api.call("GET", "posts", {"q": "hel\x00lo"})
    assert response.status_code in (200, 422)


# --- ids too large for the database are a clear 4xx, never a 500 ----------------------------------------------
HUGE = 99999999999999999999999


def test_huge_ids_in_the_api(alice: Any, bob: Any, api_as: Callable[[Any], Any]) -> None:
    post = services.create_post(actor=bob, text="vote", poll={"question": "Q?", "options": ["A", "B"]})
    client = api_as(alice)
    poll_id = Poll.objects.get(post=post).pk
    assert client.call("POST", f"polls/{poll_id}/vote", {"option_id": HUGE}).status_code == 422
    response = client.call("POST", f"posts/{post.pk}/comments", {"text": "hi", "parent_id": HUGE})
    assert response.status_code in (404, 422)
    response = client.post(
        "/api/v1/posts", {"text": "x", "tags": f'[{{"product_id": {HUGE}}}]'}, headers=client._headers(None)
    )
    assert response.status_code == 422
    response = client.post(
        "/api/v1/posts",
        {"text": "x", "poll": f'{{"question": "Q", "options": ["A", {{"product_id": {HUGE}}}]}}'},
        headers=client._headers(None),
    )
    assert response.status_code == 422
    response = client.call("PATCH", f"posts/{post.pk}", {"tags": [{"product_id": HUGE}]})
    assert response.status_code in (403, 422)


def test_huge_ids_on_the_web(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="vote", poll={"question": "Q?", "options": ["A", "B"]})
    client = Client()
    client.force_login(alice)
    assert client.post(f"/p/{post.pk}/vote/", {"option": str(HUGE)}).status_code == 422
    response = client.post(f"/p/{post.pk}/comments/", {"text": "hi", "parent_id": str(HUGE)})
    assert response.status_code in (302, 404, 422)
    response = client.post("/feed/post/", {"text": "x", "tag": str(HUGE)})
    assert response.status_code == 422


def test_a_repost_comment_the_form_refuses_is_not_dropped_silently(alice: Any, bob: Any) -> None:
    post = services.create_post(actor=bob, text="original")
    client = Client()
    client.force_login(alice)
    response = client.post(f"/p/{post.pk}/repost/", {"text": "bad\x00text"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert not Post.objects.filter(repost_of=post).exists()


# --- everything a person types is escaped ----------------------------------------------------------------------
def test_markup_in_every_field_is_escaped(alice: Any, bob: Any, image_bytes: Callable[..., bytes]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    alice.display_name = "Al<b>ice</b>"
    alice.save()
    product = published_product(title=f"Mug {evil}")
    post = services.create_post(
        actor=alice,
        text=f"{evil} #tag{evil} @bob{evil}",
        photos=[SimpleUploadedFile("p.jpg", image_bytes(), content_type="image/jpeg")],
        photo_alts=[evil],
        tags=[{"product_id": product.pk, "photo": 0, "x": 0.5, "y": 0.5}],
        poll={"question": f"Q {evil}", "options": [f"A {evil}", f"B {evil}"]},
    )
    comment = services.add_comment(actor=bob, post=post, text=f"{evil} @alice")
    services.add_comment(actor=alice, post=post, text=f"reply {evil}", parent_id=comment.pk)
    client = Client()
    client.force_login(bob)
    services.follow_user(actor=bob, target=alice)
    pages = [
        client.get(f"/p/{post.pk}/").content.decode(),
        client.get("/feed/").content.decode(),
        client.get(f"/p/{post.pk}/comments/", HTTP_HX_REQUEST="true").content.decode(),
        client.get("/u/alice/").content.decode(),
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>ice" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    api_post = Client().get(f"/api/v1/posts/{post.pk}").json()
    assert "<script>" not in api_post["text_html"] and "&lt;script&gt;" in api_post["text_html"]


def test_anonymous_opens_from_one_address_are_counted_up_to_a_limit(alice: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_SHARE_OPEN_RATE_LIMIT = 2
    post = services.create_post(actor=alice, text="share me")
    link = services.create_share_link(actor=alice, post=post)
    for session in ("s1", "s2", "s3", "s4"):
        assert services.open_share_link(code=link.code, viewer=None, session_key=session, ip="10.0.0.1") == link
    services.open_share_link(code=link.code, viewer=None, session_key="s5", ip="10.0.0.2")
    link.refresh_from_db()
    assert link.opens_count == 3


def test_an_open_again_keeps_attribution_fresh(alice: Any, bob: Any) -> None:
    from agora.social.models import ShareOpen
    from agora.social.selectors import attributed_share

    product = published_product(title="Vase")
    link = services.create_share_link(actor=alice, product=product)
    services.open_share_link(code=link.code, viewer=bob)
    ShareOpen.objects.update(opened_at=timezone.now() - timedelta(days=6, hours=23))
    services.open_share_link(code=link.code, viewer=bob)  # more than a day later: a new open
    assert ShareOpen.objects.count() == 2
    services.open_share_link(code=link.code, viewer=bob)
    assert ShareOpen.objects.count() == 2
    assert attributed_share(product_id=product.pk, user=bob) == link


# --- private accounts: set_private ------------------------------------------------------------------------------
def test_set_private_sends_the_signal_once_per_change(alice: Any) -> None:
    from agora.social import signals

    seen: list[tuple[int, bool]] = []

    def receiver(sender: Any, user_id: int, is_private: bool, **kwargs: Any) -> None:
        seen.append((user_id, is_private))

    signals.account_privacy_changed.connect(receiver, dispatch_uid="test.privacy")
    try:
        services.set_private(user=alice, private=True)
        services.set_private(user=alice, private=True)  # already private: nothing
        services.set_private(user=alice, private=False)
    finally:
        signals.account_privacy_changed.disconnect(dispatch_uid="test.privacy")
    assert seen == [(alice.pk, True), (alice.pk, False)]
    alice.refresh_from_db()
    assert alice.is_private is False


def test_going_public_approves_pending_requests(alice: Any, bob: Any, carol: Any) -> None:
    from agora.social.models import Follow, FollowRequest

    services.set_private(user=alice, private=True)
    services.follow_user(actor=bob, target=alice)
    services.follow_user(actor=carol, target=alice)
    assert FollowRequest.objects.filter(target=alice).count() == 2
    services.set_private(user=alice, private=False)
    assert not FollowRequest.objects.exists()
    assert set(Follow.objects.filter(target_user=alice).values_list("follower__username", flat=True)) == {
        "bob",
        "carol",
    }
    assert type(alice).objects.get(pk=alice.pk).social_stats.followers_count == 2
    assert "social.follow_approved" in kinds_of(bob) and "social.follow_approved" in kinds_of(carol)


def test_going_private_takes_back_what_strangers_were_told(alice: Any, bob: Any, carol: Any) -> None:
    services.follow_user(actor=carol, target=alice)  # carol follows: she keeps hers
    post = services.create_post(actor=alice, text="public thoughts @bob @carol")
    comment = services.add_comment(actor=bob, post=post, text="first")
    dave = UserFactory(username="dave")
    services.add_comment(actor=dave, post=post, text="answer to bob", parent_id=comment.pk)
    assert "public thoughts" in texts_of(bob) and "answer to bob" in texts_of(bob)
    services.set_private(user=alice, private=True)
    assert "public thoughts" not in texts_of(bob) and "answer to bob" not in texts_of(bob)
    assert "public thoughts" in texts_of(carol)  # an approved follower keeps it
    assert "commented on your post" in texts_of(alice)  # and alice keeps hers


def test_privacy_through_the_api_and_the_web_goes_through_set_private(
    alice: Any, bob: Any, api_as: Callable[[Any], Any]
) -> None:
    from agora.social.models import Follow

    client = api_as(alice)
    assert client.call("PATCH", "me", {"is_private": True, "display_name": "Alice A."}).json()["is_private"] is True
    alice.refresh_from_db()
    services.follow_user(actor=bob, target=alice)
    assert not Follow.objects.exists()
    web = Client()
    web.force_login(alice)
    response = web.post("/accounts/privacy/", {}, follow=True)
    assert "pending follow request was approved" in response.content.decode()
    assert Follow.objects.filter(follower=bob, target_user=alice).exists()
    alice.refresh_from_db()
    assert alice.display_name == "Alice A." and alice.is_private is False


# --- live results --------------------------------------------------------------------------------------------
@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, dict[str, Any]]]:
    sent: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(services, "send_to_user", lambda uid, event, payload: sent.append((uid, event, payload)))
    return sent


def test_a_vote_pushes_the_results_to_the_author_and_voters_who_may_see_them(
    alice: Any,
    bob: Any,
    carol: Any,
    pushed: list[tuple[int, str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = services.create_post(actor=alice, text="vote", poll={"question": "Q?", "options": ["A", "B"]})
    poll = Poll.objects.get(post=post)
    first, second = poll.options.order_by("position")  # type: ignore[attr-defined]
    dave = UserFactory(username="dave")
    services.vote(actor=dave, poll=poll, option_id=first.pk)
    services.block_user(actor=alice, target=dave)  # dave voted, then was blocked: no more results for him
    services.vote(actor=carol, poll=poll, option_id=first.pk)
    pushed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.vote(actor=bob, poll=poll, option_id=second.pk)
    polls = [(uid, payload) for uid, event, payload in pushed if event == "poll"]
    assert {uid for uid, _p in polls} == {alice.pk, bob.pk, carol.pk}
    payload = polls[0][1]
    assert payload["poll_id"] == poll.pk and payload["post_id"] == post.pk and payload["total"] == 3
    assert [(o["id"], o["votes"]) for o in payload["options"]] == [(first.pk, 2), (second.pk, 1)]
    assert payload["options"][0]["percent"] == pytest.approx(66.7)


def test_the_same_vote_again_pushes_nothing(
    alice: Any, bob: Any, pushed: list[tuple[int, str, dict[str, Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    post = services.create_post(actor=alice, text="vote", poll={"question": "Q?", "options": ["A", "B"]})
    poll = Poll.objects.get(post=post)
    option = poll.options.first()  # type: ignore[attr-defined]
    services.vote(actor=bob, poll=poll, option_id=option.pk)
    pushed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.vote(actor=bob, poll=poll, option_id=option.pk)
    assert [e for _u, e, _p in pushed if e == "poll"] == []


def test_likes_push_the_new_count_to_the_author(
    alice: Any, bob: Any, carol: Any, pushed: list[tuple[int, str, dict[str, Any]]]
) -> None:
    post = services.create_post(actor=alice, text="like me")
    services.like_post(actor=bob, post=post)
    services.like_post(actor=carol, post=post)
    services.like_post(actor=carol, post=post)  # again: nothing new
    services.unlike_post(actor=bob, post=post)
    likes = [(uid, payload) for uid, event, payload in pushed if event == "like"]
    assert likes == [
        (alice.pk, {"post_id": post.pk, "likes": 1}),
        (alice.pk, {"post_id": post.pk, "likes": 2}),
        (alice.pk, {"post_id": post.pk, "likes": 1}),
    ]


# --- who may see, for many people at once ---------------------------------------------------------------------
def test_who_may_see_agrees_with_can_view_post(alice: Any, bob: Any, carol: Any) -> None:
    from agora.accounts.models import User
    from agora.social import selectors

    dave, erin = UserFactory(username="dave"), UserFactory(username="erin", is_active=False)
    services.follow_user(actor=bob, target=alice)
    services.set_private(user=alice, private=True)
    services.block_user(actor=carol, target=alice)
    private_post = services.create_post(actor=alice, text="mine")
    public_post = services.create_post(actor=dave, text="public")
    repost = services.repost(actor=bob, post=public_post)
    everyone = User.objects.all()
    for post in (private_post, public_post, repost):
        expected = {u.pk for u in everyone if u.is_active and selectors.can_view_post(u, post)}
        assert set(selectors.who_may_see(post, everyone).values_list("pk", flat=True)) == expected
    assert set(selectors.who_may_see(private_post, everyone).values_list("username", flat=True)) == {"alice", "bob"}
    assert erin.pk not in set(selectors.who_may_see(public_post, everyone).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "poll",
    [
        '{"question": 123, "options": ["A", "B"]}',
        '{"question": "Q", "options": [{"text": 5}, "B"]}',
        '{"question": ["Q"], "options": ["A", "B"]}',
        '{"question": "Q", "options": [null, "B"]}',
        '{"question": "Q", "options": "AB"}',
    ],
)
def test_a_poll_with_values_of_the_wrong_type_is_a_422(alice: Any, api_as: Callable[[Any], Any], poll: str) -> None:
    client = api_as(alice)
    response = client.post("/api/v1/posts", {"text": "x", "poll": poll}, headers=client._headers(None))
    assert response.status_code == 422, response.content
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    "tags",
    [
        "[1]",
        '[{"product_id": "7"}]',
        '[{"product_id": true}]',
        '[{"product_id": PID, "photo": "0"}]',
        '[{"product_id": PID, "variant_id": "1"}]',
        '[{"product_id": PID, "x": "0.5", "y": 0.5, "photo": 0}]',
        '[{"product_id": PID, "x": 0.5, "y": 0.5}]',
        '{"product_id": PID}',
        '"PID"',
        "[[PID]]",
    ],
)
def test_product_tags_of_the_wrong_shape_are_a_422(alice: Any, api_as: Callable[[Any], Any], tags: str) -> None:
    product = published_product(title="Vase")
    client = api_as(alice)
    tags = tags.replace("PID", str(product.pk))
    response = client.post("/api/v1/posts", {"text": "x", "tags": tags}, headers=client._headers(None))
    assert response.status_code == 422, response.content
    assert not Post.objects.exists()


# --- rate limits on likes and edits ---------------------------------------------------------------------------
def test_new_likes_have_a_rate_limit_repeats_do_not_count(alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_LIKE_RATE_LIMIT = 2
    posts = [services.create_post(actor=alice, text=f"post {i}") for i in range(3)]
    services.like_post(actor=bob, post=posts[0])
    for _i in range(5):
        assert services.like_post(actor=bob, post=posts[0]) is False  # already liked: free
    services.like_post(actor=bob, post=posts[1])
    with pytest.raises(Exception) as exc:
        services.like_post(actor=bob, post=posts[2])
    assert getattr(exc.value, "status", None) == 429


def test_edits_have_a_rate_limit(alice: Any, bob: Any, settings: Any) -> None:
    settings.AGORA_SOCIAL_EDIT_RATE_LIMIT = 2
    post = services.create_post(actor=alice, text="post")
    comment = services.add_comment(actor=alice, post=post, text="comment")
    services.update_post(actor=alice, post=post, text="post @bob")
    services.edit_comment(actor=alice, comment=comment, text="comment @bob")
    with pytest.raises(Exception) as exc:
        services.update_post(actor=alice, post=post, text="post again")
    assert getattr(exc.value, "status", None) == 429
    post.refresh_from_db()
    assert post.text == "post @bob"


def test_a_block_drops_the_mentions_between_the_two(alice: Any, bob: Any, carol: Any) -> None:
    from agora.social.models import Mention

    post = services.create_post(actor=alice, text="hi @bob and @carol")
    bobs = services.create_post(actor=bob, text="hi @alice")
    services.add_comment(actor=bob, post=services.create_post(actor=carol, text="x"), text="@alice look")
    services.block_user(actor=bob, target=alice)
    assert set(Mention.objects.values_list("post_id", "user__username")) == {(post.pk, "carol")}
    assert bobs.pk  # bob's post stays, without the link
    api_post = Client().get(f"/api/v1/posts/{post.pk}").json()
    assert api_post["mentions"] == ["carol"] and 'href="/u/bob/"' not in api_post["text_html"]


def test_own_hidden_comment_on_own_post_can_be_unhidden(alice: Any) -> None:
    post = services.create_post(actor=alice, text="post")
    comment = services.add_comment(actor=alice, post=post, text="oops")
    services.hide_comment(actor=alice, comment=comment)
    client = Client()
    client.force_login(alice)
    thread = client.get(f"/p/{post.pk}/comments/", HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-post="/comments/{comment.pk}/unhide/"' in thread
    assert f'hx-get="/comments/{comment.pk}/edit/"' not in thread


# --- who may change what ----------------------------------------------------------------------------------------
def test_shop_roles_on_shop_posts_and_their_comments(alice: Any, bob: Any, api_as: Callable[[Any], Any]) -> None:
    from agora.shops.models import Role
    from agora.shops.tests.factories import MembershipFactory, shop_with_owner

    shop, owner = shop_with_owner(name="Clay", slug="clay")
    other, _other_owner = shop_with_owner(name="Other", slug="other")
    MembershipFactory(shop=shop, user=alice, role=Role.SUPPORT)
    MembershipFactory(shop=other, user=bob, role=Role.OWNER)
    post = services.create_post(actor=owner, shop=shop, text="From the shop")
    comment = services.add_comment(actor=UserFactory(), post=post, text="spam")
    support, stranger = api_as(alice), api_as(bob)
    # Support moderates comments but does not speak for the shop.
    assert support.call("PATCH", f"posts/{post.pk}", {"text": "x"}).status_code == 403
    assert support.call("DELETE", f"posts/{post.pk}").status_code == 403
    assert support.call("POST", f"posts/{post.pk}/hide").status_code == 403
    assert stranger.call("POST", f"comments/{comment.pk}/hide").status_code == 403
    assert stranger.call("DELETE", f"comments/{comment.pk}").status_code == 403
    assert support.call("DELETE", f"comments/{comment.pk}").status_code == 403  # hide, not delete, others' words
    assert support.call("POST", f"comments/{comment.pk}/hide").status_code == 204
    listing = support.call("GET", f"posts/{post.pk}/comments").json()
    assert [c["hidden"] for c in listing["items"]] == [True]
    assert stranger.call("GET", f"posts/{post.pk}/comments").json()["count"] == 0
    assert stranger.call("POST", f"comments/{comment.pk}/unhide").status_code == 403
    assert support.call("POST", f"comments/{comment.pk}/unhide").status_code == 204
    post.refresh_from_db()
    assert post.text == "From the shop" and post.deleted_at is None and post.comments_count == 1

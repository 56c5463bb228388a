from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.notifications import services
from agora.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_notify_creates_and_pushes_after_commit(django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    pushed: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(services, "send_to_users", lambda events: pushed.extend(events))
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        item = services.notify(user, "order.paid", title="Your order is paid", url="/orders/1/", email=True)
    assert item is not None and item.kind == "order.paid"
    assert pushed == [
        (
            user.pk,
            "notification",
            {"unread": 1, "id": item.pk, "kind": "order.paid", "title": "Your order is paid", "url": "/orders/1/"},
        )
    ]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Your order is paid"
    assert "/orders/1/" in mail.outbox[0].body


def test_no_notification_for_own_action_or_closed_account() -> None:
    user = UserFactory()
    assert services.notify(user, "social.like", title="x", actor=user) is None
    closed = UserFactory(is_active=False)
    assert services.notify(closed, "social.like", title="x") is None
    assert not Notification.objects.exists()


def test_dedupe_key_collapses_a_burst_while_unread() -> None:
    user, a, b = UserFactory(), UserFactory(), UserFactory()
    first = services.notify(user, "social.like", title="a liked", actor=a, dedupe_key="like:post:1")
    second = services.notify(user, "social.like", title="a and b liked", actor=b, dedupe_key="like:post:1")
    assert first is not None and second is not None and first.pk == second.pk
    assert Notification.objects.get().title == "a and b liked"
    services.mark_read(user=user, notification_id=first.pk)
    third = services.notify(user, "social.like", title="c liked", dedupe_key="like:post:1")
    assert third is not None and third.pk != first.pk


def test_send_email_for_guests(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.send_email("guest@example.com", "Order confirmed", "Thanks")
    assert mail.outbox[0].to == ["guest@example.com"]


def test_api_lists_counts_and_marks_read(api_as: Any) -> None:
    user, other = UserFactory(), UserFactory()
    for i in range(3):
        services.notify(user, "x", title=f"n{i}")
    theirs = services.notify(other, "x", title="private")
    assert theirs is not None
    client = api_as(user)
    body = client.call("GET", "notifications").json()
    assert [n["title"] for n in body["items"]] == ["n2", "n1", "n0"]
    assert client.call("GET", "notifications/unread-count").json() == {"unread": 3}
    first = body["items"][0]["id"]
    assert client.call("POST", f"notifications/{first}/read").json()["read"] is True
    assert client.call("GET", "notifications", {"unread": "true"}).json()["count"] == 2
    # someone else's notification does not exist for the caller
    assert client.call("POST", f"notifications/{theirs.pk}/read").status_code == 404
    assert client.call("POST", "notifications/read-all").json() == {"unread": 0}
    assert client.call("GET", "notifications/unread-count").json() == {"unread": 0}
    assert api_as(other).call("GET", "notifications/unread-count").json() == {"unread": 1}


def test_api_needs_a_user(api: Any) -> None:
    assert api.call("GET", "notifications").status_code == 401


def test_api_list_query_budget(api_as: Any, django_assert_max_num_queries: Any) -> None:
    user = UserFactory()
    for i in range(25):
        services.notify(user, "x", title=f"n{i}", actor=UserFactory())
    client = api_as(user)
    with django_assert_max_num_queries(5):
        assert client.call("GET", "notifications").status_code == 200


def test_web_page_badge_and_open(client: Any, django_assert_max_num_queries: Any) -> None:
    user = UserFactory()
    item = services.notify(user, "order.shipped", title="Your parcel is on its way", url="/orders/7/")
    for i in range(10):
        services.notify(user, "x", title=f"n{i}", actor=UserFactory())
    assert item is not None
    assert client.get(reverse("web:notifications")).status_code == 302  # sign in first
    client.login(username=user.username, password=PASSWORD)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("web:notifications"))
    html = page.content.decode()
    assert "Your parcel is on its way" in html
    assert "data-unread-count>11<" in html
    response = client.post(reverse("web:notification_open", args=[item.pk]))
    assert response.status_code == 302 and response["Location"] == "/orders/7/"
    assert Notification.objects.get(pk=item.pk).read_at is not None
    client.post(reverse("web:notifications_read_all"))
    assert not Notification.objects.filter(recipient=user, read_at=None).exists()


def test_open_never_redirects_off_site(client: Any) -> None:
    user = UserFactory()
    item = services.notify(user, "x", title="t", url="https://evil.example/")
    assert item is not None
    client.login(username=user.username, password=PASSWORD)
    response = client.post(reverse("web:notification_open", args=[item.pk]))
    assert response["Location"] == reverse("web:notifications")


def test_cannot_open_someone_elses(client: Any) -> None:
    item = services.notify(UserFactory(), "x", title="t")
    assert item is not None
    intruder = UserFactory()
    client.login(username=intruder.username, password=PASSWORD)
    assert client.post(reverse("web:notification_open", args=[item.pk])).status_code == 404


def test_a_repeated_notification_is_not_emailed_twice(django_capture_on_commit_callbacks: Any) -> None:
    user = UserFactory()
    for _ in range(2):  # a Celery task redelivered after a crash
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(user, "order.paid", title="Paid", email=True, dedupe_key="order-event:1")
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user, "order.shipped", title="Shipped", email=True, dedupe_key="order-event:1")
    assert len(mail.outbox) == 2
    assert Notification.objects.count() == 1


def test_notify_many_in_a_few_queries_whatever_their_number(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pushed: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(services, "send_to_users", lambda events: pushed.extend(events))

    def send(count: int) -> int:
        people = [UserFactory() for _ in range(count)]
        notices = [services.Notice(p, "team_failed", title="Team failed", email=True, dedupe_key="t:1") for p in people]
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            sent = services.notify_many(notices)
        assert all(item is not None and item.pk for item in sent)
        return len(queries)

    assert send(2) == send(12)
    assert Notification.objects.filter(kind="team_failed").count() == 14
    assert len(mail.outbox) == 14 and len(pushed) == 14
    assert all(payload["unread"] == 1 for _uid, _event, payload in pushed)


def test_notify_many_skips_like_notify_and_collapses_repeats() -> None:
    ann, ben = UserFactory(), UserFactory()
    closed = UserFactory(is_active=False)
    earlier = services.notify(ann, "social.like", title="ben liked", dedupe_key="like:1")
    assert earlier is not None
    sent = services.notify_many(
        [
            services.Notice(ann, "social.like", title="ben and cat liked", dedupe_key="like:1"),
            services.Notice(ben, "social.like", title="own", actor=ben),
            services.Notice(closed, "social.like", title="closed"),
            services.Notice(ben, "social.like", title="dan liked", dedupe_key="like:2"),
            services.Notice(ben, "social.like", title="dan and eve liked", dedupe_key="like:2"),
        ]
    )
    assert sent[0] is not None and sent[0].pk == earlier.pk and sent[1] is None and sent[2] is None
    assert sent[3] is sent[4]
    assert Notification.objects.get(pk=earlier.pk).title == "ben and cat liked"
    assert list(Notification.objects.filter(recipient=ben).values_list("title", flat=True)) == ["dan and eve liked"]

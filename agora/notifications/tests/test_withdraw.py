"""Taking notifications back when what they tell is no longer the recipient's to see (``services.withdraw``)."""

from __future__ import annotations

from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.notifications import services
from agora.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_withdraw_by_url_actor_recipient_and_key_and_badges_follow(
    monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(services, "send_to_user", lambda uid, event, payload: pushed.append((uid, payload)))
    ann, ben, cat = UserFactory(), UserFactory(), UserFactory()
    services.notify(ann, "social.like", title="liked", url="/p/1/", actor=ben)
    services.notify(cat, "social.mention", title="mentioned", url="/p/1/", actor=ben, dedupe_key="mention:1:0")
    services.notify(cat, "social.like", title="other post", url="/p/2/", actor=ben)
    services.notify(ann, "order.paid", title="paid", url="/p/1/")  # another app's: never touched
    pushed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.withdraw(kind_prefix="social.", urls=["/p/1/"], keep_recipient_ids=[ann.pk]) == 1
    assert not Notification.objects.filter(recipient=cat, url="/p/1/").exists()
    assert pushed == [(cat.pk, {"unread": 1})]
    assert services.withdraw(kind_prefix="social.", recipient_id=ann.pk, actor_id=ben.pk) == 1
    assert services.withdraw(kind_prefix="social.", dedupe_key="mention:1:0") == 0
    assert list(Notification.objects.values_list("title", flat=True).order_by("title")) == ["other post", "paid"]


def test_withdraw_needs_a_narrow_filter() -> None:
    with pytest.raises(ValueError):
        services.withdraw(kind_prefix="social.")
    with pytest.raises(ValueError):
        services.withdraw(kind_prefix="", recipient_id=1)


def test_withdraw_many_urls_in_slices() -> None:
    ann = UserFactory()
    for i in range(3):
        services.notify(ann, "social.like", title=f"{i}", url=f"/p/{i}/")
    urls = [f"/p/{i}/" for i in range(1200)]
    assert services.withdraw(kind_prefix="social.", urls=urls) == 3

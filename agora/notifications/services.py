"""Telling people what happened: in-app notifications, a live badge over the websocket, and e-mail."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from agora.accounts.models import User
from agora.core.realtime import send_to_user, send_to_users
from agora.notifications import tasks
from agora.notifications.models import Notification
from agora.notifications.selectors import get_notification, unread_count

# An unread notification with the same dedupe key inside this window is refreshed instead of repeated.
DEDUPE_WINDOW = timedelta(hours=1)


def _push_count(user_id: int, item: Notification | None = None) -> None:
    payload: dict[str, object] = {"unread": Notification.objects.filter(recipient_id=user_id, read_at=None).count()}
    if item is not None:
        payload.update({"id": item.pk, "kind": item.kind, "title": item.title, "url": item.url})
    send_to_user(user_id, "notification", payload)


@dataclass(frozen=True)
class Notice:
    """One notification for ``notify_many`` (the arguments of ``notify``)."""

    recipient: User
    kind: str
    title: str
    body: str = ""
    url: str = ""
    actor: User | None = None
    email: bool = False
    dedupe_key: str = ""


def notify(
    recipient: User,
    kind: str,
    *,
    title: str,
    body: str = "",
    url: str = "",
    actor: User | None = None,
    email: bool = False,
    dedupe_key: str = "",
) -> Notification | None:
    """Notify ``recipient``; nothing when they are the actor themselves or their account is closed.

    With ``dedupe_key``, an unread notification with that key from the last hour is updated and moved to the top
    rather than repeated. E-mail and the live push go out only once the caller's transaction commits.
    """
    return notify_many([Notice(recipient, kind, title, body, url, actor, email, dedupe_key)])[0]


def notify_many(notices: Sequence[Notice]) -> list[Notification | None]:
    """``notify`` for each notice, in a few queries whatever their number (a sweep telling thousands of team
    members at once): one to find the unread ones a dedupe key refreshes, one insert, one count of the badges,
    one e-mail task per 200. Returns the notification of each notice (None where ``notify`` sends none)."""
    results: list[Notification | None] = [None] * len(notices)
    wanted = [
        (i, n)
        for i, n in enumerate(notices)
        if n.recipient.is_active and not (n.actor is not None and n.actor.pk == n.recipient.pk)
    ]
    if not wanted:
        return results
    now = timezone.now()
    with transaction.atomic():
        found: dict[tuple[int, str], Notification] = {}
        keyed = [n for _i, n in wanted if n.dedupe_key]
        if keyed:
            for row in Notification.objects.select_for_update().filter(
                recipient_id__in={n.recipient.pk for n in keyed},
                dedupe_key__in={n.dedupe_key for n in keyed},
                read_at__isnull=True,
                created_at__gte=now - DEDUPE_WINDOW,
            ):
                found.setdefault((row.recipient_id, row.dedupe_key), row)  # the newest first (default ordering)
        new: list[Notification] = []
        refreshed: dict[int, Notification] = {}
        emailed: dict[int, Notification] = {}  # by identity: new items have no id yet
        for i, notice in wanted:
            title, body, url = notice.title[:200], notice.body[:2000], notice.url[:500]
            key = (notice.recipient.pk, notice.dedupe_key)
            item = found.get(key) if notice.dedupe_key else None
            # A repeat of the very same notification (a task redelivered by the broker) is not e-mailed twice.
            changed = item is None or (item.title, item.body, item.url) != (title, body, url)
            if item is not None:
                item.title, item.body, item.url, item.actor = title, body, url, notice.actor
                item.created_at = now
                if item.pk is not None:
                    refreshed[item.pk] = item
            else:
                item = Notification(
                    recipient=notice.recipient,
                    kind=notice.kind,
                    title=title,
                    body=body,
                    url=url,
                    actor=notice.actor,
                    dedupe_key=notice.dedupe_key,
                    created_at=now,
                )
                new.append(item)
                if notice.dedupe_key:
                    found[key] = item
            results[i] = item
            if notice.email and notice.recipient.email and changed:
                emailed.setdefault(id(item), item)
        for item in refreshed.values():
            item.save(update_fields=["title", "body", "url", "actor", "created_at"])
        Notification.objects.bulk_create(new)
        unread = dict(
            Notification.objects.filter(recipient_id__in={n.recipient.pk for _i, n in wanted}, read_at=None)
            .values_list("recipient_id")
            .annotate(count=Count("pk"))
            .values_list("recipient_id", "count")
        )
        pushes = []
        for i, _notice in wanted:
            item = results[i]
            assert item is not None
            badge = {"unread": unread.get(item.recipient_id, 0), "id": item.pk, "kind": item.kind}
            pushes.append((item.recipient_id, "notification", {**badge, "title": item.title, "url": item.url}))
        send_to_users(pushes)
        if emailed:
            email_ids = [item.pk for item in emailed.values()]
            transaction.on_commit(lambda: tasks.email_notifications(email_ids))
    return results


def send_email(to: str, subject: str, body: str) -> None:
    """E-mail someone without an account (a guest shopper), after the caller's transaction commits."""
    transaction.on_commit(lambda: tasks.send_plain_email.delay(to, subject, body))


def mark_read(*, user: User, notification_id: int) -> Notification:
    item = get_notification(user, notification_id)
    if item.read_at is None:
        Notification.objects.filter(pk=item.pk, read_at=None).update(read_at=timezone.now())
        item.refresh_from_db(fields=["read_at"])
        _push_count(user.pk)
    return item


def mark_all_read(*, user: User) -> int:
    """Mark every unread notification read; returns how many were."""
    count = Notification.objects.filter(recipient=user, read_at=None).update(read_at=timezone.now())
    if count:
        _push_count(user.pk)
    return count


# url__in lists are sent in slices of this size (SQLite allows 999 parameters per query).
_WITHDRAW_CHUNK = 500


def withdraw(
    *,
    kind_prefix: str,
    recipient_id: int | None = None,
    actor_id: int | None = None,
    urls: Collection[str] = (),
    dedupe_key: str = "",
    keep_recipient_ids: Iterable[int] | None = None,
) -> int:
    """Delete notifications whose content the recipient should no longer see (a post deleted or made private, a
    person blocked), read or not. Returns how many went; the badges of the recipients affected are pushed again.

    ``kind_prefix`` ("social.") keeps one app from touching another's notifications. At least one of
    ``recipient_id``, ``actor_id``, ``urls`` or ``dedupe_key`` narrows the deletion (never "all of a kind").
    ``keep_recipient_ids`` (a collection or a values_list queryset) spares those recipients.
    """
    if not kind_prefix or (recipient_id is None and actor_id is None and not urls and not dedupe_key):
        raise ValueError("withdraw needs a kind prefix and a narrower filter")
    base = Notification.objects.filter(kind__startswith=kind_prefix)
    if recipient_id is not None:
        base = base.filter(recipient_id=recipient_id)
    if actor_id is not None:
        base = base.filter(actor_id=actor_id)
    if dedupe_key:
        base = base.filter(dedupe_key=dedupe_key)
    if keep_recipient_ids is not None:
        base = base.exclude(recipient_id__in=keep_recipient_ids)
    url_list = list(urls)
    slices = [base.filter(url__in=url_list[i : i + _WITHDRAW_CHUNK]) for i in range(0, len(url_list), _WITHDRAW_CHUNK)]
    removed = 0
    recipients: set[int] = set()
    for items in slices or [base]:
        unread_of = set(items.filter(read_at__isnull=True).values_list("recipient_id", flat=True))
        count, _by_model = items.delete()
        removed += count
        recipients |= unread_of
    for user_id in recipients:
        _push_count(user_id)
    return removed


__all__ = ["mark_all_read", "mark_read", "notify", "send_email", "unread_count", "withdraw"]

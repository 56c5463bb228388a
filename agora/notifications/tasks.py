from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.utils import translation

from agora.notifications.models import Notification

logger = logging.getLogger(__name__)

# Notifications e-mailed per task (and per SMTP connection).
EMAIL_BATCH = 200


def _message(item: Notification) -> EmailMessage | None:
    if not item.recipient.email or not item.recipient.is_active:
        return None
    with translation.override(item.recipient.language):
        body = item.body
        if item.url:
            link = item.url if item.url.startswith("http") else settings.SITE_URL + item.url
            body = f"{body}\n\n{link}" if body else link
    return EmailMessage(item.title, body, None, [item.recipient.email])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(notification_id: int) -> None:
    item = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    message = _message(item) if item is not None else None
    if message is not None:
        message.send()


@shared_task
def send_notification_emails(notification_ids: list[int]) -> None:
    """Many notifications' e-mails through one connection. Not retried as a whole (what was sent would be sent
    twice): from the first one that fails, each goes to ``send_notification_email``, which retries on its own."""
    items = list(Notification.objects.select_related("recipient").filter(pk__in=notification_ids).order_by("pk"))
    connection = get_connection()
    try:
        for n, item in enumerate(items):
            message = _message(item)
            if message is None:
                continue
            message.connection = connection
            try:
                message.send()
            except OSError:
                logger.warning("notifications: e-mail of %s failed, each left retries alone", item.pk, exc_info=True)
                for rest in items[n:]:
                    send_notification_email.apply_async((rest.pk,), countdown=30)
                return
    finally:
        connection.close()


def email_notifications(notification_ids: Sequence[int]) -> None:
    """Queue the e-mails of these notifications: one task for one, one task per EMAIL_BATCH for many."""
    ids = list(notification_ids)
    if len(ids) == 1:
        send_notification_email.delay(ids[0])
        return
    for start in range(0, len(ids), EMAIL_BATCH):
        send_notification_emails.delay(ids[start : start + EMAIL_BATCH])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_plain_email(to: str, subject: str, body: str) -> None:
    send_mail(subject, body, None, [to])

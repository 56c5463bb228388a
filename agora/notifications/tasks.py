from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation

from agora.notifications.models import Notification


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(notification_id: int) -> None:
    item = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if item is None or not item.recipient.email or not item.recipient.is_active:
        return
    with translation.override(item.recipient.language):
        body = item.body
        if item.url:
            link = item.url if item.url.startswith("http") else settings.SITE_URL + item.url
            body = f"{body}\n\n{link}" if body else link
        send_mail(item.title, body, None, [item.recipient.email])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_plain_email(to: str, subject: str, body: str) -> None:
    send_mail(subject, body, None, [to])

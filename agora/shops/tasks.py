from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from agora.accounts.models import User
from agora.shops.models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_staff_invitation(invitation_id: int) -> None:
    invitation = Invitation.objects.select_related("shop", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return
    # A worker has no request language: write in the invitee's language when they have an account, else the inviter's.
    reader = User.objects.filter(email__iexact=invitation.email).first() or invitation.invited_by
    with translation.override(reader.language if reader else settings.LANGUAGE_CODE):
        context = {
            "invitation": invitation,
            "link": settings.SITE_URL + reverse("web:invitation", args=[invitation.token]),
        }
        subject = render_to_string("shops/email/invitation_subject.txt", context).strip()
        body = render_to_string("shops/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])

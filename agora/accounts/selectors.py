"""Reads for people, with what the caller may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agora.accounts.models import ApiToken, User
from agora.core.errors import NotFound


def get_user_by_username(username: str) -> User:
    # A NUL (from /u/%00/) would reach PostgreSQL, which refuses it: no such user rather than a 500.
    user = None if "\x00" in username else User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise NotFound(_("No user '%(username)s'.") % {"username": username})
    return user


def list_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)

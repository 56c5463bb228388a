"""Accounts through their services: sign-up, sign-in, tokens, profile, passwords."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import resolve
from django.utils import timezone
from PIL import Image

from agora import settings as production_settings
from agora.accounts import services
from agora.accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidResetLink,
    LoginRateLimited,
    SignupError,
    UsernameTaken,
)
from agora.accounts.models import ApiToken, User
from agora.accounts.tests.factories import PASSWORD, UserFactory
from agora.core.errors import NotFound, RateLimited, ValidationFailed

pytestmark = pytest.mark.django_db

GOOD = "a-long-pass-phrase"


# --- sign-up ---------------------------------------------------------------------------
def test_signup_creates_a_user_with_a_normalised_email_and_a_hashed_password():
    user = services.signup(username="Anna.O", email="  Anna@Example.COM ", password=GOOD, display_name="Anna")

    assert user.pk and user.username == "Anna.O"
    assert user.email == "anna@example.com"
    assert user.password != GOOD and user.check_password(GOOD)


@pytest.mark.parametrize("username", ["ab", "x" * 31, "anna ozola", "anna@home", "анна", "", "   "])
def test_signup_refuses_usernames_outside_the_rules(username):
    with pytest.raises(ValidationFailed) as exc:
        services.signup(username=username, email="a@example.com", password=GOOD)

    assert exc.value.field == "username"
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["admin", "Admin", "API", "support", "agora"])
def test_signup_refuses_reserved_usernames(username):
    with pytest.raises(UsernameTaken, match="reserved"):
        services.signup(username=username, email="a@example.com", password=GOOD)


def test_signup_refuses_a_taken_username_in_any_letter_case():
    UserFactory(username="anna")

    with pytest.raises(UsernameTaken) as exc:
        services.signup(username="ANNA", email="new@example.com", password=GOOD)

    assert exc.value.status == 409
    assert User.objects.count() == 1


def test_signup_refuses_a_taken_email_in_any_letter_case():
    UserFactory(email="anna@example.com")

    with pytest.raises(EmailTaken):
        services.signup(username="anna2", email="ANNA@Example.com", password=GOOD)

    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "anna-ozola"])
def test_signup_refuses_weak_passwords(password):
    with pytest.raises(ValidationFailed) as exc:
        services.signup(username="anna-ozola", email="anna@example.com", password=password)

    assert exc.value.code == "weak_password"
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "an\x00na"},
        {"email": "anna\x00@example.com"},
        {"display_name": "Anna\x00"},
    ],
)
def test_signup_refuses_nul_characters_with_a_clear_error(fields):
    data = {"username": "anna", "email": "anna@example.com", "password": GOOD, **fields}

    with pytest.raises(ValidationFailed) as exc:
        services.signup(**data)

    assert exc.value.status == 422
    assert not User.objects.exists()


def test_signup_refuses_a_malformed_email():
    with pytest.raises(SignupError) as exc:
        services.signup(username="anna", email="not-an-address", password=GOOD)

    assert exc.value.field == "email"


def test_argon2_is_the_production_hasher(settings):
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS

    user = services.signup(username="anna", email="anna@example.com", password=GOOD)

    assert user.password.startswith("argon2")
    assert services.authenticate(identifier="anna", password=GOOD) == user


# --- sign-in ---------------------------------------------------------------------------
@pytest.mark.parametrize("identifier", ["anna", "ANNA", "anna@example.com", "Anna@EXAMPLE.com", "  anna  "])
def test_login_by_username_or_email_in_any_case(identifier):
    anna = UserFactory(username="anna", email="anna@example.com")

    assert services.authenticate(identifier=identifier, password=PASSWORD) == anna


def test_login_with_a_wrong_password_is_refused():
    UserFactory(username="anna")

    with pytest.raises(InvalidCredentials) as exc:
        services.authenticate(identifier="anna", password="wrong")

    assert exc.value.status == 401


def test_login_of_an_unknown_user_says_the_same_as_a_wrong_password():
    with pytest.raises(InvalidCredentials) as exc:
        services.authenticate(identifier="nobody", password="wrong")

    assert exc.value.message == "The username/e-mail or the password is wrong."


def test_inactive_user_cannot_sign_in():
    UserFactory(username="anna", is_active=False)

    with pytest.raises(InvalidCredentials):
        services.authenticate(identifier="anna", password=PASSWORD)


def test_login_is_rate_limited_after_five_failures_even_with_the_right_password():
    UserFactory(username="anna")
    for _ in range(settings.AGORA_LOGIN_RATE_LIMIT):
        with pytest.raises(InvalidCredentials):
            services.authenticate(identifier="anna", password="wrong")

    with pytest.raises(LoginRateLimited) as exc:
        services.authenticate(identifier="ANNA", password=PASSWORD)

    assert exc.value.status == 429
    assert exc.value.extra["retry_after"] == settings.AGORA_LOGIN_RATE_WINDOW


def test_a_successful_login_resets_the_failure_count():
    UserFactory(username="anna")
    for _ in range(settings.AGORA_LOGIN_RATE_LIMIT - 1):
        with pytest.raises(InvalidCredentials):
            services.authenticate(identifier="anna", password="wrong")

    services.authenticate(identifier="anna", password=PASSWORD)

    for _ in range(settings.AGORA_LOGIN_RATE_LIMIT - 1):
        with pytest.raises(InvalidCredentials):
            services.authenticate(identifier="anna", password="wrong")
    assert services.authenticate(identifier="anna", password=PASSWORD).username == "anna"


def test_failures_from_one_address_are_limited_across_identifiers():
    UserFactory(username="anna")
    for i in range(settings.AGORA_LOGIN_RATE_LIMIT * 4):
        with pytest.raises(InvalidCredentials):
            services.authenticate(identifier=f"guess{i}", password="wrong", client_ip="203.0.113.9")

    with pytest.raises(LoginRateLimited):
        services.authenticate(identifier="anna", password=PASSWORD, client_ip="203.0.113.9")
    assert services.authenticate(identifier="anna", password=PASSWORD, client_ip="198.51.100.1")


# --- API tokens ------------------------------------------------------------------------
def test_issued_token_resolves_to_its_user_and_only_its_hash_is_stored():
    anna = UserFactory()

    token, raw = services.issue_token(user=anna, name="laptop")

    assert raw.startswith("agora_") and raw not in {token.key_hash, token.prefix}
    assert raw.startswith(token.prefix)
    assert services.user_for_token(raw) == (anna, token)
    assert services.user_for_token(raw + "x") is None
    assert services.user_for_token("not-a-token") is None


def test_token_use_is_recorded_at_most_every_few_minutes():
    token, raw = services.issue_token(user=UserFactory())

    services.user_for_token(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    services.user_for_token(raw)

    assert first is not None
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_revoked_token_no_longer_resolves():
    anna = UserFactory()
    token, raw = services.issue_token(user=anna)

    revoked = services.revoke_token(user=anna, token_id=token.pk)

    assert revoked.revoked_at is not None
    assert services.user_for_token(raw) is None


def test_a_user_cannot_revoke_someone_elses_token():
    token, raw = services.issue_token(user=UserFactory())

    with pytest.raises(NotFound):
        services.revoke_token(user=UserFactory(), token_id=token.pk)

    assert services.user_for_token(raw) is not None


def test_expired_token_no_longer_resolves():
    token, raw = services.issue_token(user=UserFactory(), ttl=timedelta(minutes=5))
    assert services.user_for_token(raw) is not None

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert services.user_for_token(raw) is None


def test_token_of_a_deactivated_user_no_longer_resolves():
    anna = UserFactory()
    _, raw = services.issue_token(user=anna)

    User.objects.filter(pk=anna.pk).update(is_active=False)

    assert services.user_for_token(raw) is None


def test_revoke_all_tokens_revokes_only_that_users_active_tokens():
    anna, kenji = UserFactory(), UserFactory()
    raws = [services.issue_token(user=anna)[1] for _ in range(3)]
    _, other = services.issue_token(user=kenji)

    assert services.revoke_all_tokens(user=anna) == 3
    assert services.revoke_all_tokens(user=anna) == 0

    assert all(services.user_for_token(raw) is None for raw in raws)
    assert services.user_for_token(other) is not None


# --- profile ---------------------------------------------------------------------------
def test_update_profile_changes_only_what_is_given():
    anna = UserFactory(display_name="Anna", bio="Knits.", language="en", currency="USD")

    services.update_profile(user=anna, bio="Knits and bakes.", currency="eur")

    anna.refresh_from_db()
    assert (anna.display_name, anna.bio, anna.language, anna.currency) == ("Anna", "Knits and bakes.", "en", "EUR")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"language": "xx"}, "language"),
        ({"currency": "XYZ"}, "currency"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"bio": "x" * 501}, "bio"),
        ({"bio": "nul\x00"}, "bio"),
    ],
)
def test_update_profile_refuses_bad_values_and_saves_nothing(fields, field):
    anna = UserFactory(display_name="Anna", bio="Knits.")

    with pytest.raises(ValidationFailed) as exc:
        services.update_profile(user=anna, **{"display_name": "Changed", **fields})

    assert exc.value.field == field
    anna.refresh_from_db()
    assert (anna.display_name, anna.bio) == ("Anna", "Knits.")


def test_avatar_is_stored_re_encoded_with_a_small_thumbnail(image_bytes):
    anna = UserFactory()

    services.set_avatar(user=anna, upload=ContentFile(image_bytes((1200, 900)), name="me.jpg"))

    anna.refresh_from_db()
    with Image.open(anna.avatar.path) as avatar, Image.open(anna.avatar_thumbnail.path) as thumb:
        assert max(avatar.size) == 800  # the avatar is capped
        assert max(thumb.size) == 160


def test_a_new_avatar_replaces_the_old_files(image_bytes, django_capture_on_commit_callbacks):
    anna = UserFactory()
    services.set_avatar(user=anna, upload=ContentFile(image_bytes(), name="one.jpg"))
    old = [anna.avatar.path, anna.avatar_thumbnail.path]

    with django_capture_on_commit_callbacks(execute=True):
        services.set_avatar(user=anna, upload=ContentFile(image_bytes(color="red"), name="two.jpg"))

    assert all(not os.path.exists(path) for path in old)


def test_a_non_image_avatar_is_refused_and_nothing_changes():
    anna = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.set_avatar(user=anna, upload=ContentFile(b"just text", name="me.jpg"))

    assert exc.value.code == "invalid_image"
    anna.refresh_from_db()
    assert not anna.avatar


# --- passwords -------------------------------------------------------------------------
def test_change_password_needs_the_current_one():
    anna = UserFactory()

    with pytest.raises(InvalidCredentials):
        services.change_password(user=anna, old_password="wrong", new_password=GOOD)

    anna.refresh_from_db()
    assert anna.check_password(PASSWORD)


def test_change_password_refuses_a_weak_new_one():
    anna = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.change_password(user=anna, old_password=PASSWORD, new_password="123")

    assert exc.value.code == "weak_password"


def test_change_password():
    anna = UserFactory()

    services.change_password(user=anna, old_password=PASSWORD, new_password=GOOD)

    anna.refresh_from_db()
    assert anna.check_password(GOOD) and not anna.check_password(PASSWORD)


def _reset_link(body: str) -> tuple[str, str]:
    link = re.search(r"https?://\S+", body)
    assert link, body
    match = resolve(urlsplit(link.group(0)).path)
    assert match.view_name == "web:password_reset_confirm"
    return match.kwargs["uidb64"], match.kwargs["token"]


def test_password_reset_sends_one_mail_with_a_working_link(django_capture_on_commit_callbacks):
    anna = UserFactory(email="anna@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        services.request_password_reset(email="ANNA@example.com")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anna@example.com"]
    uid, token = _reset_link(mail.outbox[0].body)
    assert services.user_for_reset_link(uidb64=uid, token=token) == anna


def test_password_reset_mail_is_sent_only_after_commit(django_capture_on_commit_callbacks):
    UserFactory(email="anna@example.com")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_password_reset(email="anna@example.com")

    assert len(callbacks) == 1
    assert mail.outbox == []


def test_password_reset_for_an_unknown_address_says_nothing_and_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.request_password_reset(email="nobody@example.com")

    assert result is None
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["", "   ", "a\x00@example.com"])
def test_password_reset_needs_an_address(email):
    with pytest.raises(ValidationFailed):
        services.request_password_reset(email=email)


def test_password_reset_changes_the_password_revokes_tokens_and_uses_the_link_up(django_capture_on_commit_callbacks):
    anna = UserFactory(email="anna@example.com")
    _, raw = services.issue_token(user=anna)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_password_reset(email="anna@example.com")
    uid, token = _reset_link(mail.outbox[0].body)

    services.reset_password(uidb64=uid, token=token, new_password=GOOD)

    anna.refresh_from_db()
    assert anna.check_password(GOOD)
    assert services.user_for_token(raw) is None
    with pytest.raises(InvalidResetLink):
        services.reset_password(uidb64=uid, token=token, new_password="another-long-phrase")


def test_password_reset_refuses_a_weak_password_and_keeps_tokens(django_capture_on_commit_callbacks):
    anna = UserFactory(email="anna@example.com")
    _, raw = services.issue_token(user=anna)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_password_reset(email="anna@example.com")
    uid, token = _reset_link(mail.outbox[0].body)

    with pytest.raises(ValidationFailed):
        services.reset_password(uidb64=uid, token=token, new_password="123")

    assert services.user_for_token(raw) is not None


@pytest.mark.parametrize(("uid", "token"), [("garbage", "x"), ("MQ", "bad-token"), ("", "")])
def test_bad_reset_links_are_refused(uid, token):
    UserFactory()

    with pytest.raises(InvalidResetLink):
        services.user_for_reset_link(uidb64=uid, token=token)


@pytest.mark.django_db
def test_sign_ups_from_one_address_are_limited_per_hour(settings):
    settings.AGORA_SIGNUP_RATE_LIMIT = 3
    for n in range(3):
        services.signup(
            username=f"bulk{n}", email=f"bulk{n}@example.com", password="a-long-pass-phrase", client_ip="203.0.113.7"
        )
    with pytest.raises(RateLimited):
        services.signup(
            username="bulk9", email="bulk9@example.com", password="a-long-pass-phrase", client_ip="203.0.113.7"
        )
    assert not User.objects.filter(username="bulk9").exists()
    # Another address is not affected.
    services.signup(
        username="other", email="other@example.com", password="a-long-pass-phrase", client_ip="198.51.100.1"
    )

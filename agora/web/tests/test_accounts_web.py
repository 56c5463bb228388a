"""Account pages on the web: sign-up, sign-in, sign-out, password reset and change, profile, API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agora.accounts import services as account_services
from agora.accounts.models import ApiToken, User
from agora.accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new secret phrase"


def html(response: Any) -> str:
    return response.content.decode()


def session_user_id(client: Client) -> int | None:
    raw = client.session.get("_auth_user_id")
    return int(raw) if raw else None


# --- sign-up ----------------------------------------------------------------------------------
def test_signup_creates_the_account_and_signs_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "maria",
            "email": "Maria@Example.com",
            "display_name": "Maria",
            "password": "pottery wheel 42x",
            "password_confirm": "pottery wheel 42x",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="maria")
    assert user.email == "maria@example.com"
    assert session_user_id(client) == user.pk
    assert "Welcome to Agora, Maria!" in html(client.get("/"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "taken"}, "is taken"),
        ({"email": "taken@example.com"}, "An account with this e-mail address exists"),
        ({"username": "a b"}, "A username has 3 to 30 letters"),
        ({"password": "123", "password_confirm": "123"}, "This password is too short"),
        ({"password_confirm": "something else"}, "The two passwords differ."),
    ],
)
def test_signup_shows_why_it_failed_and_creates_nothing(client: Client, data: dict[str, str], message: str) -> None:
    UserFactory(username="taken", email="taken@example.com")
    form = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "pottery wheel 42x",
        "password_confirm": "pottery wheel 42x",
    } | data

    response = client.post("/accounts/signup/", form)

    assert response.status_code == 200
    assert message in html(response).replace("&#x27;", "'")
    assert User.objects.count() == 1
    assert session_user_id(client) is None


# --- sign-in and sign-out -------------------------------------------------------------------
@pytest.mark.parametrize("identifier", ["ivan", "IVAN", "ivan@example.com"])
def test_login_with_username_or_email_and_safe_next(client: Client, identifier: str) -> None:
    user = UserFactory(username="ivan", email="ivan@example.com")

    response = client.post("/accounts/login/", {"identifier": identifier, "password": PASSWORD, "next": "/s/"})

    assert response.status_code == 302
    assert response["Location"] == "/s/"
    assert session_user_id(client) == user.pk


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client: Client, target: str) -> None:
    UserFactory(username="ivan")

    response = client.post(f"/accounts/login/?next={target}", {"identifier": "ivan", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_wrong_password_says_so_without_telling_which_part(client: Client) -> None:
    UserFactory(username="ivan")

    response = client.post("/accounts/login/", {"identifier": "ivan", "password": "nope"})

    assert response.status_code == 200
    assert "The username/e-mail or the password is wrong." in html(response)
    assert session_user_id(client) is None


def test_login_is_rate_limited_after_five_failures_even_with_the_right_password(client: Client) -> None:
    UserFactory(username="ivan")
    for _ in range(5):
        client.post("/accounts/login/", {"identifier": "ivan", "password": "nope"})

    response = client.post("/accounts/login/", {"identifier": "ivan", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in html(response)
    assert session_user_id(client) is None


def test_logout_is_post_only(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)

    assert client.get("/accounts/logout/").status_code == 405
    assert session_user_id(client) == user.pk
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert session_user_id(client) is None


def test_header_shows_the_user_menu_when_signed_in(client: Client) -> None:
    user = UserFactory(display_name="Olga")
    client.force_login(user)

    page = html(client.get("/"))

    assert "Olga" in page
    assert 'href="/accounts/settings/"' in page and 'href="/accounts/tokens/"' in page
    assert 'action="/accounts/logout/"' in page
    assert "Sign up" not in page


def test_account_pages_need_a_signed_in_user(client: Client) -> None:
    for url in ["/accounts/settings/", "/accounts/password/", "/accounts/tokens/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


# --- password reset -------------------------------------------------------------------------
def test_password_reset_end_to_end(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    user = UserFactory(username="ivan", email="ivan@example.com")
    _token, raw = account_services.issue_token(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "IVAN@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = "/" + link.group(0).split("/", 3)[3]

    opened = client.get(path)  # the token moves into the session, out of the address bar
    assert opened.status_code == 302
    form_url = opened["Location"]
    assert "set-password" in form_url
    assert "Set a new password" in html(client.get(form_url))
    done = client.post(form_url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/"

    login = client.post("/accounts/login/", {"identifier": "ivan", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert session_user_id(client) == user.pk
    assert account_services.user_for_token(raw) is None  # old API tokens stop working
    # The link works once.
    client.post("/accounts/logout/")
    client.get(path)
    assert "has expired or was already used" in html(client.get(form_url))


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_a_forged_reset_link_is_refused(client: Client) -> None:
    user = UserFactory()
    client.get(f"/accounts/reset/{user.pk}/not-a-token/")

    response = client.get("/accounts/reset/MQ/set-password/")

    assert response.status_code == 400
    assert "Ask for a new link" in html(response)


# --- password change ------------------------------------------------------------------------
def test_password_change_keeps_the_session(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)

    wrong = client.post(
        "/accounts/password/",
        {"old_password": "nope", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert "The current password is wrong." in html(wrong)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/accounts/settings/").status_code == 200


# --- profile settings -----------------------------------------------------------------------
def _settings_form(**changes: Any) -> dict[str, Any]:
    return {"display_name": "Olga K.", "bio": "I knit.", "language": "en", "currency": "EUR"} | changes


def test_profile_edit_with_avatar(client: Client, image_bytes: Callable[..., bytes]) -> None:
    user = UserFactory()
    client.force_login(user)
    avatar = SimpleUploadedFile("me.png", image_bytes(size=(300, 200), fmt="PNG"), content_type="image/png")

    response = client.post("/accounts/settings/", _settings_form(avatar=avatar))

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.currency) == ("Olga K.", "I knit.", "EUR")
    assert user.avatar and user.avatar_thumbnail
    page = html(client.get("/accounts/settings/"))
    assert "Your profile has been saved." in page
    assert user.avatar_thumbnail.url in page
    assert user.avatar_thumbnail.url in html(client.get(f"/u/{user.username}/"))


def test_a_bad_avatar_is_a_form_error_and_changes_nothing(client: Client) -> None:
    user = UserFactory(display_name="Before")
    client.force_login(user)
    fake = SimpleUploadedFile("me.png", b"this is not a picture", content_type="image/png")

    response = client.post("/accounts/settings/", _settings_form(avatar=fake))

    assert response.status_code == 200
    assert "The file is not an image we can read." in html(response)
    user.refresh_from_db()
    assert user.display_name == "Before"
    assert not user.avatar


def test_saving_the_language_switches_the_ui(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)

    response = client.post("/accounts/settings/", _settings_form(language="ru"), follow=True)

    assert '<html lang="ru">' in html(response)
    user.refresh_from_db()
    assert user.language == "ru"
    assert '<html lang="ru">' in html(client.get("/"))
    # And back again, although the language cookie now says Russian.
    client.post("/accounts/settings/", _settings_form(language="en"))
    assert '<html lang="en">' in html(client.get("/"))


def test_the_footer_language_switcher(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/s/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/s/"
    assert '<html lang="ru">' in html(response)


# --- API tokens -------------------------------------------------------------------------------
def test_create_and_revoke_an_api_token(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)

    response = client.post("/accounts/tokens/", {"name": "inventory sync"})

    page = html(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    secret = re.search(r'value="(agora_[^"]+)"', page)
    assert secret
    token = ApiToken.objects.get(user=user)
    assert token.name == "inventory sync"
    assert account_services.user_for_token(secret.group(1)) is not None
    listing = html(client.get("/accounts/tokens/"))
    assert token.prefix in listing and "inventory sync" in listing
    assert secret.group(1) not in listing  # shown once only

    revoked = client.post(f"/accounts/tokens/{token.pk}/revoke/")

    assert revoked.status_code == 302
    assert account_services.user_for_token(secret.group(1)) is None
    assert "Revoked" in html(client.get("/accounts/tokens/"))


def test_nobody_revokes_another_persons_token(client: Client) -> None:
    token, raw = account_services.issue_token(user=UserFactory())
    client.force_login(UserFactory())

    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    assert account_services.user_for_token(raw) is not None

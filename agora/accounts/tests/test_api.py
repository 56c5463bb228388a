"""Accounts over the API: sign-up, sign-in, tokens, profiles, password reset and change."""

import re

import pytest
from django.core import mail

from agora.accounts.models import ApiToken, User
from agora.accounts.tests.factories import PASSWORD, UserFactory
from conftest import ApiClient

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "anna", "email": "Anna@Example.com", "password": "a-long-pass-phrase", "display_name": "Anna K"}


def signup(api: ApiClient, **overrides: str):
    return api.call("POST", "auth/signup", {**SIGNUP, **overrides})


# --- sign-up -------------------------------------------------------------------------
def test_signup_returns_the_user_and_a_working_token(api):
    response = signup(api)

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "anna"
    assert body["user"]["email"] == "anna@example.com"
    assert body["token"].startswith("agora_")
    assert ApiClient(token=body["token"]).call("GET", "me").json()["username"] == "anna"


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"username": "a"}, 422, "signup_invalid", "username"),
        ({"username": "admin"}, 409, "username_taken", "username"),
        ({"email": "not-an-address"}, 422, "signup_invalid", "email"),
        ({"password": "123"}, 422, "weak_password", "password"),
        ({"display_name": "Anna\x00"}, 422, "invalid", "display_name"),
    ],
)
def test_signup_refuses_bad_input_and_creates_nobody(api, overrides, status, code, field):
    response = signup(api, **overrides)

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert User.objects.count() == 0


def test_signup_with_a_taken_username_or_address_is_a_conflict(api):
    UserFactory(username="Anna", email="other@example.com")
    UserFactory(username="someone", email="anna@example.com")

    assert signup(api).json()["code"] == "username_taken"
    response = signup(api, username="anna2")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert User.objects.count() == 2


def test_signup_with_missing_fields_names_them(api):
    response = api.call("POST", "auth/signup", {"username": "anna"})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert "email: Field required" in body["detail"]
    assert "password: Field required" in body["detail"]


# --- sign-in, sign-out, token lifecycle ----------------------------------------------
def test_login_by_username_or_email_issues_a_token(api):
    user = UserFactory(username="boris")

    by_name = api.call("POST", "auth/login", {"username": "BORIS", "password": PASSWORD})
    by_mail = api.call("POST", "auth/login", {"username": user.email, "password": PASSWORD, "token_name": "phone"})

    assert by_name.status_code == by_mail.status_code == 200
    assert by_name.json()["user"]["username"] == "boris"
    assert by_name.json()["token"] != by_mail.json()["token"]
    assert sorted(user.api_tokens.values_list("name", flat=True)) == ["login", "phone"]


def test_login_with_a_wrong_password_is_401(api):
    UserFactory(username="boris")

    response = api.call("POST", "auth/login", {"username": "boris", "password": "wrong"})

    assert response.status_code == 401
    assert response.json() == {"detail": "The username/e-mail or the password is wrong.", "code": "invalid_credentials"}
    assert ApiToken.objects.count() == 0


def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_429(api):
    UserFactory(username="boris")
    for _ in range(5):
        assert api.call("POST", "auth/login", {"username": "boris", "password": "wrong"}).status_code == 401

    response = api.call("POST", "auth/login", {"username": "boris", "password": PASSWORD})

    assert response.status_code == 429
    assert response.json()["code"] == "login_rate_limited"
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    assert ApiToken.objects.count() == 0


def test_token_lifecycle_signup_me_logout_then_401(api):
    token = signup(api).json()["token"]
    client = ApiClient(token=token)
    assert client.call("GET", "me").status_code == 200

    assert client.call("POST", "auth/logout").status_code == 204

    response = client.call("GET", "me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "revoked" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_logout_revokes_only_the_token_used(api, api_as):
    user = UserFactory()
    first, second = api_as(user), api_as(user)

    first.call("POST", "auth/logout")

    assert first.call("GET", "me").status_code == 401
    assert second.call("GET", "me").status_code == 200


@pytest.mark.parametrize("header", ["Bearer agora_nonsense", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz"])
def test_bad_credentials_are_401_even_on_public_endpoints(api, header):
    assert api.call("GET", "me", headers={"Authorization": header}).status_code == 401
    response = api.call("GET", "products", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_anonymous_caller_of_a_private_endpoint_gets_401(api):
    response = api.call("GET", "me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_tokens_list_create_and_revoke(api_as):
    user = UserFactory()
    client = api_as(user)

    created = client.call("POST", "auth/tokens", {"name": "ci"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith(created.json()["prefix"])
    listed = client.call("GET", "auth/tokens").json()
    assert listed["count"] == 2
    assert {t["name"] for t in listed["items"]} == {"test", "ci"}
    assert all("token" not in t and "key_hash" not in t for t in listed["items"])

    assert client.call("DELETE", f"auth/tokens/{created.json()['id']}").status_code == 204
    assert ApiClient(token=secret).call("GET", "me").status_code == 401
    revoked = next(t for t in client.call("GET", "auth/tokens").json()["items"] if t["name"] == "ci")
    assert revoked["is_active"] is False
    assert revoked["revoked_at"] is not None


def test_a_user_cannot_see_or_revoke_another_users_tokens(api_as):
    owner, intruder = UserFactory(), UserFactory()
    owner_client = api_as(owner)
    token_id = owner.api_tokens.get().pk

    intruder_client = api_as(intruder)
    listed = intruder_client.call("GET", "auth/tokens").json()
    assert [t["id"] for t in listed["items"]] == [intruder.api_tokens.get().pk]
    response = intruder_client.call("DELETE", f"auth/tokens/{token_id}")

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token_id).revoked_at is None
    assert owner_client.call("GET", "me").status_code == 200


def test_a_token_of_a_deactivated_user_stops_working(api_as):
    user = UserFactory()
    client = api_as(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert client.call("GET", "me").status_code == 401


# --- profiles ------------------------------------------------------------------------
def test_me_shows_and_edits_the_private_profile(api_as):
    user = UserFactory(username="anna")
    client = api_as(user)

    response = client.call(
        "PATCH", "me", {"display_name": "Anna K", "bio": "Knitter", "language": "ru", "currency": "eur"}
    )

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("username", "display_name", "bio", "language", "currency", "email")} == {
        "username": "anna",
        "display_name": "Anna K",
        "bio": "Knitter",
        "language": "ru",
        "currency": "EUR",
        "email": user.email,
    }
    user.refresh_from_db()
    assert (user.language, user.currency) == ("ru", "EUR")


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"currency": "XXX"}, "unknown_currency", "currency"),
        ({"language": "tlh"}, "unknown_language", "language"),
        ({"bio": "x" * 501}, "too_long", "bio"),
        ({"bio": "a\x00b"}, "invalid", "bio"),
    ],
)
def test_profile_bad_input_is_422_and_changes_nothing(api_as, payload, code, field):
    user = UserFactory(bio="before")
    response = api_as(user).call("PATCH", "me", payload)

    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    user.refresh_from_db()
    assert (user.bio, user.currency, user.language) == ("before", "USD", "en")


def test_public_profile_has_no_private_fields(api, api_as):
    user = UserFactory(username="anna", bio="Knitter", language="ru", currency="EUR")

    for client in (api, api_as(UserFactory())):
        response = client.call("GET", "users/anna")
        assert response.status_code == 200
        body = response.json()
        assert body["username"] == "anna"
        assert body["bio"] == "Knitter"
        assert set(body) == {"username", "display_name", "bio", "avatar", "avatar_thumbnail", "date_joined"}
        assert user.email not in response.content.decode()


def test_unknown_user_is_404(api):
    response = api.call("GET", "users/nobody")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_avatar_upload_makes_a_thumbnail(api_as, image_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory()
    upload = SimpleUploadedFile("me.png", image_bytes(fmt="PNG"), content_type="image/png")

    response = api_as(user).call("POST", "me/avatar", {"avatar": upload}, multipart=True)

    assert response.status_code == 200, response.json()
    assert response.json()["avatar"].startswith("http://testserver/media/avatars/")
    assert response.json()["avatar_thumbnail"].startswith("http://testserver/media/avatars/thumbs/")


def test_avatar_that_is_not_an_image_is_refused(api_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory()
    upload = SimpleUploadedFile("me.png", b"#!/bin/sh\necho hi\n", content_type="image/png")

    response = api_as(user).call("POST", "me/avatar", {"avatar": upload}, multipart=True)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_image"
    user.refresh_from_db()
    assert not user.avatar


# --- passwords -----------------------------------------------------------------------
def test_password_reset_answers_the_same_for_unknown_addresses(api, django_capture_on_commit_callbacks):
    UserFactory(email="anna@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        known = api.call("POST", "auth/password/reset", {"email": "ANNA@example.com"})
        unknown = api.call("POST", "auth/password/reset", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]


def test_password_reset_link_works_once_and_revokes_every_token(api, api_as, django_capture_on_commit_callbacks):
    user = UserFactory(email="anna@example.com")
    old_client = api_as(user)
    with django_capture_on_commit_callbacks(execute=True):
        api.call("POST", "auth/password/reset", {"email": "anna@example.com"})
    uid, token = re.search(r"/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]+)/?\s", mail.outbox[0].body).groups()

    response = api.call(
        "POST", "auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "a-brand-new-phrase"}
    )

    assert response.status_code == 200, response.json()
    assert old_client.call("GET", "me").status_code == 401
    assert (
        api.call("POST", "auth/login", {"username": user.username, "password": "a-brand-new-phrase"}).status_code == 200
    )
    again = api.call(
        "POST", "auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "yet-another-one"}
    )
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_reset_link"


def test_password_reset_confirm_with_a_forged_link_is_422(api):
    user = UserFactory()

    response = api.call(
        "POST", "auth/password/reset/confirm", {"uid": "MQ", "token": "abc-def", "new_password": "a-brand-new-phrase"}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_reset_link"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_the_current_password(api_as):
    user = UserFactory()
    client = api_as(user)

    wrong = client.call("POST", "auth/password/change", {"old_password": "nope", "new_password": "a-brand-new-phrase"})
    assert wrong.status_code == 401
    assert wrong.json()["field"] == "old_password"
    weak = client.call("POST", "auth/password/change", {"old_password": PASSWORD, "new_password": "123"})
    assert weak.status_code == 422
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    ok = client.call("POST", "auth/password/change", {"old_password": PASSWORD, "new_password": "a-brand-new-phrase"})

    assert ok.status_code == 200
    user.refresh_from_db()
    assert user.check_password("a-brand-new-phrase")


def test_session_auth_needs_csrf_for_unsafe_methods():
    user = UserFactory()
    browser = ApiClient(enforce_csrf_checks=True)
    browser.force_login(user)

    assert browser.call("GET", "me").json()["username"] == user.username
    refused = browser.call("PATCH", "me", {"bio": "changed"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    user.refresh_from_db()
    assert user.bio == ""

    browser.get("/api/v1/docs")  # any page that sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    allowed = browser.call("PATCH", "me", {"bio": "changed"}, headers={"X-CSRFToken": csrf})
    assert allowed.status_code == 200

"""The back office for people and API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from agora.accounts.models import ApiToken, User
from agora.accounts.services import issue_token, revoke_token, user_for_token
from agora.accounts.tests.factories import UserFactory
from agora.core.tests.adminform import listed, queries

pytestmark = pytest.mark.django_db


def test_user_pages_load_with_tokens(admin_client):
    anna = UserFactory(username="anna", display_name="Anna Ozola")
    token, _ = issue_token(user=anna, name="phone")

    assert admin_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    html = admin_client.get(reverse("admin:accounts_user_change", args=[anna.pk])).content.decode()

    assert token.prefix in html and "phone" in html  # the read-only token inline
    assert admin_client.get(reverse("admin:accounts_apitoken_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).status_code == 200


def test_user_search_by_username_email_and_display_name(admin_client):
    anna = UserFactory(username="anna", email="anna@riga.example", display_name="Anna Ozola")
    kenji = UserFactory(username="kenji", email="k@tokyo.example", display_name="Kenji Sato")
    url = reverse("admin:accounts_user_changelist")

    assert listed(admin_client, url + "?q=ANNA") == {anna.pk}
    assert listed(admin_client, url + "?q=tokyo.example") == {kenji.pk}
    assert listed(admin_client, url + "?q=sato") == {kenji.pk}


def test_user_filters(admin_client, admin_user):
    ru = UserFactory(language="ru", currency="RUB")
    old = UserFactory(date_joined=timezone.now() - timedelta(days=400), is_active=False)
    url = reverse("admin:accounts_user_changelist")

    assert listed(admin_client, url + "?is_staff__exact=1") == {admin_user.pk}
    assert listed(admin_client, url + "?is_active__exact=0") == {old.pk}
    assert listed(admin_client, url + "?language__exact=ru") == {ru.pk}
    assert listed(admin_client, url + "?currency__exact=RUB") == {ru.pk}
    recent = urlencode({"date_joined__gte": str(timezone.now() - timedelta(days=7))})
    assert listed(admin_client, f"{url}?{recent}") == {admin_user.pk, ru.pk}


def test_user_list_queries_do_not_grow(admin_client):
    url = reverse("admin:accounts_user_changelist")
    UserFactory.create_batch(2)
    few = queries(admin_client, url)

    UserFactory.create_batch(15)

    assert queries(admin_client, url) == few


def test_user_change_page_queries_do_not_grow_with_tokens(admin_client):
    anna = UserFactory()
    url = reverse("admin:accounts_user_change", args=[anna.pk])
    issue_token(user=anna)
    few = queries(admin_client, url)

    for _ in range(6):
        issue_token(user=anna)

    assert queries(admin_client, url) == few


def test_token_list_queries_do_not_grow(admin_client):
    url = reverse("admin:accounts_apitoken_changelist")
    issue_token(user=UserFactory())
    few = queries(admin_client, url)

    for user in UserFactory.create_batch(8):
        issue_token(user=user)

    assert queries(admin_client, url) == few


def test_revoke_all_tokens_action_on_users(admin_client):
    anna, kenji = UserFactory(), UserFactory()
    _, raw_a = issue_token(user=anna)
    _, raw_b = issue_token(user=anna)
    _, raw_k = issue_token(user=kenji)

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "revoke_api_tokens", "_selected_action": [anna.pk]},
        follow=True,
    )

    assert "2 tokens revoked." in [str(m) for m in response.context["messages"]]
    assert user_for_token(raw_a) is None and user_for_token(raw_b) is None
    assert user_for_token(raw_k) is not None  # someone else's token is untouched


def test_token_state_filter_and_revoke_action(admin_client):
    anna = UserFactory()
    active, raw = issue_token(user=anna)
    revoked, _ = issue_token(user=anna)
    revoke_token(user=anna, token_id=revoked.pk)
    expired, _ = issue_token(user=anna, ttl=timedelta(seconds=-1))
    url = reverse("admin:accounts_apitoken_changelist")

    assert listed(admin_client, url + "?state=active") == {active.pk}
    assert listed(admin_client, url + "?state=revoked") == {revoked.pk}
    assert listed(admin_client, url + "?state=expired") == {expired.pk}
    assert listed(admin_client, url + f"?q={active.prefix}") == {active.pk}

    admin_client.post(url, {"action": "revoke", "_selected_action": [active.pk]})

    assert user_for_token(raw) is None


def test_tokens_are_not_created_in_the_back_office(admin_client):
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    assert ApiToken.objects.count() == 0


def test_operator_adds_a_user_with_a_unique_email_in_any_case(admin_client):
    UserFactory(email="taken@example.com")
    url = reverse("admin:accounts_user_add")
    data = {
        "username": "newbie",
        "email": "TAKEN@example.com",
        "usable_password": "true",
        "password1": "a-long-pass-phrase",
        "password2": "a-long-pass-phrase",
    }

    assert admin_client.post(url, data).status_code == 200
    assert not User.objects.filter(username="newbie").exists()

    data["email"] = "Newbie@Example.com"
    assert admin_client.post(url, data).status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.email == "newbie@example.com" and newbie.check_password("a-long-pass-phrase")


def test_username_is_unique_in_any_case(admin_client):
    UserFactory(username="anna")
    data = {
        "username": "ANNA",
        "email": "other@example.com",
        "usable_password": "true",
        "password1": "a-long-pass-phrase",
        "password2": "a-long-pass-phrase",
    }

    assert admin_client.post(reverse("admin:accounts_user_add"), data).status_code == 200
    assert User.objects.filter(username__iexact="anna").count() == 1


def test_non_staff_cannot_open_the_back_office(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_the_database(client: Client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    # A proxy must never serve a stale "ok" for a process that has died since.
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_named_for_reverse() -> None:
    assert reverse("healthz") == "/healthz"


@pytest.mark.django_db
def test_healthz_answers_head_and_refuses_writes(client: Client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405

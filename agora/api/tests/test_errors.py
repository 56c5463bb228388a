"""Every error is JSON {"detail", "code"} with the right status, and nothing leaks from a crash."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from agora.accounts.tests.factories import UserFactory
from agora.api.schemas import ERROR_STATUSES
from agora.shops.models import Shop

pytestmark = pytest.mark.django_db


def test_unknown_endpoint_is_a_json_404(api):
    response = api.call("GET", "no/such/thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such endpoint: /api/v1/no/such/thing", "code": "not_found"}


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ('{"name": "x",', "malformed_json", 400),
        ("not json at all", "malformed_json", 400),
        (b'{"name": "\xff\xfe"}', "malformed_json", 400),
        ("[1, 2, 3]", "invalid", 422),
        ('"just a string"', "invalid", 422),
    ],
)
def test_bodies_that_are_not_a_json_object(api_as, body, code, status):
    response = api_as(UserFactory()).call("POST", "shops", body, content_type="application/json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert Shop.objects.count() == 0


def test_validation_errors_name_every_field(api_as):
    response = api_as(UserFactory()).call("POST", "shops", {"name": 5})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["field"] == "name"
    assert {e["field"] for e in body["errors"]} == {"name", "currency", "country"}
    assert "currency: Field required" in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "shops?q=a%00b",
        "shops/a%00b",
        "users/a%00b",
        "products?tag=%00",
        "products?q=%00",
        "products?category=x%00",
        "shops/x%00/products",
    ],
)
def test_nul_characters_in_paths_and_queries_are_422(api, path):
    response = api.get(f"/api/v1/{path}")

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid"
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", ["products/0", "products/-1", "products/abc", f"products/{2**64}"])
def test_ids_out_of_range_are_422(api, path):
    response = api.get(f"/api/v1/{path}")

    assert response.status_code == 422
    assert response.json()["field"] == "product_id"


def test_an_unexpected_error_is_a_500_without_a_traceback(api, monkeypatch, caplog):
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/agora/settings.py")

    monkeypatch.setattr("agora.catalog.selectors.category_tree", boom)

    response = api.call("GET", "categories")

    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on our side. Try again later.", "code": "server_error"}
    assert "secret" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "secret internals" in caplog.text  # but the log has it


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [(Http404("gone"), 404, "not_found"), (DjangoPermissionDenied("No."), 403, "permission_denied")],
)
def test_django_exceptions_are_mapped(api, monkeypatch, exc, status, code):
    def fail() -> None:
        raise exc

    monkeypatch.setattr("agora.catalog.selectors.category_tree", fail)

    response = api.call("GET", "categories")

    assert response.status_code == status
    assert response.json()["code"] == code


def test_openapi_documents_error_responses_for_every_operation(api):
    schema = api.call("GET", "openapi.json").json()

    assert schema["info"]["title"] == "Agora API"
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) > 30
    for operation in operations:
        for status in ERROR_STATUSES:
            content = operation["responses"][str(status)]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorOut"}, operation["operationId"]
    assert set(schema["components"]["securitySchemes"]) == {"BearerAuth", "SessionAuth"}


def test_docs_page_loads_its_assets_from_our_own_static_files(api):
    response = api.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert "/static/ninja/swagger-ui.css" in assets
    assert all(url.startswith("/static/") for url in assets), assets
    assert "cdn" not in html.lower()
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not shipped"


def test_a_method_the_path_does_not_have_is_a_json_405(api):
    response = api.call("DELETE", "products")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"detail": "The DELETE method is not allowed here.", "code": "method_not_allowed"}


def test_the_api_root_points_to_the_docs(api):
    response = api.call("GET", "/api/v1/")

    assert response.status_code == 200
    assert response.json() == {
        "docs": "http://testserver/api/v1/docs",
        "openapi": "http://testserver/api/v1/openapi.json",
    }
    assert api.call("POST", "/api/v1/").status_code == 405

"""Schemathesis throws generated requests at the public reads and the auth endpoints, in-process.

Every answer must be a documented status with a body that matches the schema, and never a 500:
this is how NUL characters, huge integers and odd JSON are kept from reaching the database
(PostgreSQL refuses some inputs that SQLite accepts, so the suite runs on both).
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from agora.catalog.tests.factories import CategoryFactory, published_product
from agora.shops.tests.factories import shop_with_owner

app = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

PUBLIC_READS = (
    r"^/api/v1/(products|products/\{product_id\}|shops|shops/\{slug\}|shops/\{slug\}/products"
    r"|categories|users/\{username\})$"
)
AUTH = r"^/api/v1/auth/(signup|login|password/reset|password/reset/confirm)$"

public_reads = schema.include(method="GET", path_regex=PUBLIC_READS)
auth_endpoints = schema.include(method="POST", path_regex=AUTH)

FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: a request must not close the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def catalog(db: None) -> None:
    """A little real data, so that some generated requests find something."""
    shop, _owner = shop_with_owner(slug="riga-knits")
    category = CategoryFactory(slug="scarves")
    for _ in range(3):
        published_product(shop=shop, category=category)


def test_the_fuzzed_operations_exist() -> None:
    # Guards against a regex that silently matches nothing.
    assert len(list(public_reads.get_all_operations())) == 7
    assert len(list(auth_endpoints.get_all_operations())) == 4


@public_reads.parametrize()
@FUZZ
def test_public_reads_never_fail(case: schemathesis.Case, catalog: None) -> None:
    case.call_and_validate()


@auth_endpoints.parametrize()
@FUZZ
@pytest.mark.django_db
def test_auth_endpoints_never_fail(case: schemathesis.Case) -> None:
    # A schema-valid sign-up may still break a business rule (a reserved name, a common password,
    # an address already taken): that 422/409 is right, so the "valid data is accepted" check is off here.
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

"""Schemathesis against the feed's public reads, in-process: documented statuses and bodies only, never a 500
(odd hashtags, NUL characters, cursors that are not ours, huge limits)."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from agora.catalog.tests.factories import CategoryFactory, published_product
from agora.feed.tests import factories as f
from agora.social.models import ProductTag

app = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
FEED_READS = r"^/api/v1/(explore|trending/products|hashtags/\{tag\}/posts)$"
feed_reads = schema.include(method="GET", path_regex=FEED_READS)

FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def social(db: None) -> None:
    category = CategoryFactory(slug="scarves")
    author = f.user()
    for i in range(3):
        post = f.post(author, hashtags=("linen",), text=f"post {i} #linen")
        ProductTag.objects.create(post=post, product=published_product(category=category))
        f.like(f.user(), post)


def test_the_fuzzed_operations_exist() -> None:
    assert len(list(feed_reads.get_all_operations())) == 3


@feed_reads.parametrize()
@FUZZ
def test_feed_reads_never_fail(case: schemathesis.Case, social: None) -> None:
    # A cursor is opaque: any string fits the schema, and one we did not issue is rightly a 422.
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])


home_feed = schema.include(method="GET", path_regex=r"^/api/v1/feed$")


@pytest.fixture
def token(social: None) -> str:
    from agora.accounts.services import issue_token

    reader = f.user()
    f.follow(reader, f.user())
    return issue_token(user=reader, name="fuzz")[1]


@home_feed.parametrize()
@FUZZ
def test_home_feed_never_fails(case: schemathesis.Case, token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )

"""Social tests: rate limits high enough for the tests (the limits have their own tests), and a few people."""

from __future__ import annotations

from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _social_limits(settings: Any) -> None:
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 1000
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 1000


@pytest.fixture
def alice(db: Any) -> Any:
    return UserFactory(username="alice")


@pytest.fixture
def bob(db: Any) -> Any:
    return UserFactory(username="bob")


@pytest.fixture
def carol(db: Any) -> Any:
    return UserFactory(username="carol")

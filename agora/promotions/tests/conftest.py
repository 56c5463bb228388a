from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agora.ledger.selectors import ledger_is_balanced


@pytest.fixture
def balanced() -> Iterator[Any]:
    """Asserts after the test that the ledger balances."""
    yield ledger_is_balanced
    assert ledger_is_balanced()

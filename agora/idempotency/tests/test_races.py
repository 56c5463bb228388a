"""20 identical requests at once with one Idempotency-Key: the work runs once, all 20 get its answer (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from agora.core.tests.test_races import assert_only, race, split
from agora.idempotency.errors import IdempotencyKeyReused
from agora.idempotency.models import IdempotencyRecord
from agora.idempotency.services import IdempotentResult, run_idempotent
from agora.payments import services as payments
from agora.payments.models import Payment, SandboxCharge

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]


def test_twenty_concurrent_identical_requests_run_the_work_once() -> None:
    executions: list[int] = []
    lock = threading.Lock()

    def work() -> tuple[int, Any]:
        with lock:
            executions.append(1)
        time.sleep(0.3)  # long enough for every duplicate to arrive while it runs
        payment = payments.start_payment(
            amount=Decimal("25.00"),
            currency="EUR",
            method="sandbox_card",
            reference="checkout:race",
            payer=None,
            payer_email="guest@example.com",
            idempotency_key="checkout:race:payment",
        )
        return 201, {"payment": payment.public_id, "status": payment.status}

    outcomes = race(
        20, lambda i: lambda: run_idempotent(scope="guest:cart-1", key="same-key", fingerprint="f", work=work)
    )
    results, errors = split(outcomes)

    assert errors == []
    assert len(executions) == 1
    assert all(isinstance(r, IdempotentResult) for r in results)
    assert [r.replayed for r in results].count(False) == 1
    assert {(r.status, r.body["payment"], r.body["status"]) for r in results} == {
        (201, Payment.objects.get().public_id, "captured")
    }
    assert SandboxCharge.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_concurrent_requests_with_one_key_and_different_bodies_run_one_of_them() -> None:
    executions: list[int] = []

    def prepare(i: int) -> Callable[[], Any]:
        def work() -> tuple[int, Any]:
            executions.append(i)
            time.sleep(0.2)
            return 200, {"body": i % 2}

        return lambda: run_idempotent(scope="user:1", key="k", fingerprint=f"body-{i % 2}", work=work)

    results, errors = split(race(12, prepare))

    assert len(executions) == 1
    assert_only(errors, IdempotencyKeyReused)
    assert len(results) == 6  # the winner's body, first run or replayed
    assert len(errors) == 6

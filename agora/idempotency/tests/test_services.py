"""Idempotency-Key: the first request runs, retries replay its answer, a reused key with another body is refused."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.core.errors import Conflict
from agora.idempotency.api import idempotent_api_call, scope_of
from agora.idempotency.errors import IdempotencyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused
from agora.idempotency.models import IdempotencyRecord, RecordState
from agora.idempotency.services import fingerprint_of, purge_expired, run_idempotent
from agora.idempotency.tasks import purge_expired_keys

pytestmark = pytest.mark.django_db


class Counter:
    def __init__(self, result: tuple[int, Any] = (201, {"id": 1})) -> None:
        self.calls = 0
        self.result = result

    def __call__(self) -> tuple[int, Any]:
        self.calls += 1
        return self.result


def test_the_first_call_runs_and_a_retry_replays_its_answer():
    work = Counter((201, {"order": 7, "total": Decimal("19.90")}))

    first = run_idempotent(scope="user:1", key="abc", fingerprint="f1", work=work)
    retry = run_idempotent(scope="user:1", key="abc", fingerprint="f1", work=work)

    assert work.calls == 1
    assert (first.status, first.body, first.replayed) == (201, {"order": 7, "total": "19.90"}, False)
    assert (retry.status, retry.body, retry.replayed) == (201, {"order": 7, "total": "19.90"}, True)
    record = IdempotencyRecord.objects.get()
    assert record.state == RecordState.DONE
    assert record.expires_at - record.created_at == timedelta(hours=24)


def test_the_same_key_with_another_body_is_refused():
    run_idempotent(scope="user:1", key="abc", fingerprint="f1", work=Counter())
    work = Counter()

    with pytest.raises(IdempotencyKeyReused) as exc:
        run_idempotent(scope="user:1", key="abc", fingerprint="f2", work=work)

    assert exc.value.status == 422
    assert work.calls == 0


def test_keys_belong_to_their_scope():
    work = Counter()
    run_idempotent(scope="user:1", key="abc", fingerprint="f1", work=work)
    run_idempotent(scope="user:2", key="abc", fingerprint="f2", work=work)
    assert work.calls == 2


def test_a_domain_error_is_stored_and_replayed_without_running_again():
    calls = []

    def sold_out() -> tuple[int, Any]:
        calls.append(1)
        raise Conflict("Sold out.", code="sold_out")

    first = run_idempotent(scope="s", key="k", fingerprint="f", work=sold_out)
    retry = run_idempotent(scope="s", key="k", fingerprint="f", work=sold_out)

    assert len(calls) == 1
    assert (first.status, first.body) == (409, {"detail": "Sold out.", "code": "sold_out"})
    assert (retry.status, retry.body, retry.replayed) == (409, first.body, True)


def test_an_unexpected_error_forgets_the_key_so_the_client_can_retry():
    def crash() -> tuple[int, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_idempotent(scope="s", key="k", fingerprint="f", work=crash)

    assert not IdempotencyRecord.objects.exists()
    assert run_idempotent(scope="s", key="k", fingerprint="f", work=Counter()).replayed is False


def test_a_duplicate_that_finds_the_first_still_running_gets_409_after_waiting(settings):
    settings.AGORA_IDEMPOTENCY_WAIT_SECONDS = 0.1
    IdempotencyRecord.objects.create(scope="s", key="k", fingerprint="f", expires_at=timezone.now() + timedelta(days=1))
    work = Counter()

    with pytest.raises(IdempotencyInProgress) as exc:
        run_idempotent(scope="s", key="k", fingerprint="f", work=work)

    assert exc.value.status == 409
    assert work.calls == 0


def test_an_expired_key_is_new_again_and_purged_by_the_task():
    run_idempotent(scope="s", key="k", fingerprint="f", work=Counter())
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    work = Counter((200, {"again": True}))

    result = run_idempotent(scope="s", key="k", fingerprint="other", work=work)

    assert (work.calls, result.replayed) == (1, False)
    IdempotencyRecord.objects.create(
        scope="s", key="old", fingerprint="f", expires_at=timezone.now() - timedelta(hours=1)
    )
    assert purge_expired_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k"]
    assert purge_expired(now=timezone.now() + timedelta(days=2)) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "with space", "nul\x00", "ключ"])
def test_a_malformed_key_is_refused(key):
    with pytest.raises(IdempotencyKeyInvalid) as exc:
        run_idempotent(scope="s", key=key, fingerprint="f", work=Counter())
    assert exc.value.field == "Idempotency-Key"


def test_the_fingerprint_covers_method_path_and_body_but_not_key_order():
    base = fingerprint_of(method="POST", path="/api/v1/checkout", payload={"a": 1, "b": [1, 2]})
    assert base == fingerprint_of(method="post", path="/api/v1/checkout", payload={"b": [1, 2], "a": 1})
    assert base != fingerprint_of(method="POST", path="/api/v1/checkout", payload={"a": 2, "b": [1, 2]})
    assert base != fingerprint_of(method="PUT", path="/api/v1/checkout", payload={"a": 1, "b": [1, 2]})
    assert base != fingerprint_of(method="POST", path="/api/v1/other", payload={"a": 1, "b": [1, 2]})


# --- the API helper -----------------------------------------------------------------------------
def _request(body: dict[str, Any], key: str | None = None, user: Any = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    request = RequestFactory().post("/api/v1/checkout", json.dumps(body), content_type="application/json", **headers)
    request.user = user or AnonymousUser()
    request.auth = user
    return request


def test_the_api_helper_replays_with_a_header_and_refuses_another_body():
    user = UserFactory()
    work = Counter((201, {"order": 1}))

    first = idempotent_api_call(_request({"x": 1}, "key-1", user), payload={"x": 1}, work=work)
    retry = idempotent_api_call(_request({"x": 1}, "key-1", user), payload={"x": 1}, work=work)

    assert (first.status_code, json.loads(first.content)) == (201, {"order": 1})
    assert "Idempotent-Replayed" not in first
    assert (retry.status_code, json.loads(retry.content), retry["Idempotent-Replayed"]) == (201, {"order": 1}, "true")
    assert work.calls == 1
    assert IdempotencyRecord.objects.get().scope == f"user:{user.pk}"
    with pytest.raises(IdempotencyKeyReused):
        idempotent_api_call(_request({"x": 2}, "key-1", user), payload={"x": 2}, work=work)


def test_the_api_helper_without_a_header_just_runs_the_work():
    work = Counter((200, {"ok": True}))
    for _ in range(2):
        response = idempotent_api_call(_request({}), payload={}, work=work)
        assert response.status_code == 200
    assert work.calls == 2
    assert not IdempotencyRecord.objects.exists()


def test_scopes_of_users_sessions_and_addresses():
    user = UserFactory()
    assert scope_of(_request({}, user=user)) == f"user:{user.pk}"
    request = _request({})
    request.session = SessionStore()
    request.session.create()
    assert scope_of(request) == f"session:{request.session.session_key}"
    assert scope_of(_request({})) == "ip:127.0.0.1"


def test_a_schema_body_is_stored_as_ninja_renders_it():
    from agora.payments.schemas import RefundOut

    class Row:
        public_id = "re_1"
        amount = Decimal("5.00")
        currency = "EUR"
        status = "succeeded"
        reason = ""
        created_at = timezone.now()

    result = run_idempotent(scope="s", key="k", fingerprint="f", work=lambda: (200, RefundOut.from_orm(Row())))
    assert result.body["id"] == "re_1"
    assert result.body["amount"] == "5.00"
    assert run_idempotent(scope="s", key="k", fingerprint="f", work=Counter()).body == result.body


def test_a_server_side_domain_error_is_not_stored_so_a_retry_runs_again():
    from agora.payments.errors import PaymentGatewayFailed

    def gateway_down() -> tuple[int, Any]:
        raise PaymentGatewayFailed("The payment provider did not answer.")

    with pytest.raises(PaymentGatewayFailed):
        run_idempotent(scope="s", key="k", fingerprint="f", work=gateway_down)

    assert not IdempotencyRecord.objects.exists()
    assert run_idempotent(scope="s", key="k", fingerprint="f", work=Counter()).replayed is False

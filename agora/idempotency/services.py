"""Idempotent requests: a retry with the same ``Idempotency-Key`` gets the first result and does nothing new.

The first request claims (scope, key) by inserting a row before it runs its work, then stores the work's
result (HTTP status and JSON body) in that row. A retry finds the row and replays the result; a duplicate
that arrives while the first is still running waits for it (bounded) instead of running the work twice.
The unique constraint on (scope, key) settles who is first, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel

from agora.core.errors import DomainError
from agora.idempotency.errors import IdempotencyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused
from agora.idempotency.models import IdempotencyRecord, RecordState

MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"
# How often a waiting duplicate looks whether the first request has finished (seconds).
POLL_INTERVAL = 0.05

Work = Callable[[], tuple[int, Any]]


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: Any
    replayed: bool = False


def check_key(key: str) -> str:
    """A key is 1 to 255 visible ASCII characters (a UUID is the usual choice)."""
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise IdempotencyKeyInvalid(
            _("The Idempotency-Key header must be 1 to %(max)d visible ASCII characters, such as a UUID.")
            % {"max": MAX_KEY_LENGTH},
            field=HEADER,
        )
    return key


def jsonable(body: Any) -> Any:
    """``body`` as it reads back from JSON, so the first answer and its replays are byte for byte the same."""
    if isinstance(body, BaseModel):
        # As ninja renders a response schema: by field name (an output field aliased to an attribute keeps its name).
        body = body.model_dump(mode="json")
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def fingerprint_of(*, method: str, path: str, payload: Any) -> str:
    """A hash of what was asked: the same key sent with another body, path or method is a different request."""
    canonical = json.dumps(jsonable(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def _claim(*, scope: str, key: str, fingerprint: str) -> tuple[IdempotencyRecord | None, bool]:
    """Insert the in-progress row: (row, True) for the first request; (existing row or None, False) otherwise."""
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                created_at=now,
                expires_at=now + timedelta(hours=settings.AGORA_IDEMPOTENCY_TTL_HOURS),
            )
        return record, True
    except IntegrityError:
        pass
    # On PostgreSQL the losing INSERT waited for the winner's commit, so its row is visible now.
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is not None and existing.expires_at <= now:
        # A key older than its lifetime is forgotten: the request is new again.
        IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
        return None, False
    return existing, False


def run_idempotent(*, scope: str, key: str, fingerprint: str, work: Work) -> IdempotentResult:
    """Run ``work`` once per (scope, key); retries get the stored (status, body) with ``replayed=True``.

    ``work`` returns (HTTP status, JSON-able body); a DomainError it raises is stored as its error response
    (a retry of a sold-out checkout is told "sold out" again, without trying again). A 5xx DomainError or any
    other exception forgets the key, so that the client may retry: the services roll back what they did on an
    error, and a payment started inside ``work`` is found again by its own idempotency key.
    """
    key = check_key(key)
    deadline = time.monotonic() + settings.AGORA_IDEMPOTENCY_WAIT_SECONDS
    while True:
        record, created = _claim(scope=scope, key=key, fingerprint=fingerprint)
        if created:
            break
        if record is not None:
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    _(
                        "This Idempotency-Key was already used for a different request. "
                        "Send a new key for a new request."
                    ),
                    field=HEADER,
                )
            if record.state == RecordState.DONE:
                return IdempotentResult(int(record.response_status or 200), record.response_body, replayed=True)
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress(
                _("A request with this Idempotency-Key is still being processed. Retry in a few seconds."),
                field=HEADER,
            )
        time.sleep(POLL_INTERVAL)

    assert record is not None
    try:
        status, body = work()
    except DomainError as exc:
        if exc.status >= 500:
            # A passing trouble on our side (a gateway that did not answer): the retry should try again.
            IdempotencyRecord.objects.filter(pk=record.pk, state=RecordState.IN_PROGRESS).delete()
            raise
        status, body = exc.status, exc.as_dict()
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk, state=RecordState.IN_PROGRESS).delete()
        raise
    body = jsonable(body)
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=RecordState.DONE, response_status=status, response_body=body, completed_at=timezone.now()
    )
    return IdempotentResult(status, body, replayed=False)


def purge_expired(*, now: Any = None) -> int:
    """Forget keys past their lifetime (24 hours by default). Returns how many were deleted."""
    deleted, _by_model = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted

"""``Idempotency-Key`` for ninja endpoints: ``return idempotent_api_call(request, payload=payload, work=...)``."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse

from agora.accounts.models import User
from agora.core.http import client_ip
from agora.idempotency.services import HEADER, Work, fingerprint_of, jsonable, run_idempotent

REPLAYED_HEADER = "Idempotent-Replayed"


def scope_of(request: HttpRequest) -> str:
    """Whose keys these are: the signed-in user, else the browser session, else the client address."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        return f"session:{session.session_key}"
    return f"ip:{client_ip(request)}"


def _response(status: int, body: Any) -> HttpResponse:
    if body is None:
        return HttpResponse(status=status)
    return JsonResponse(body, status=status, safe=False, encoder=DjangoJSONEncoder)


def idempotent_api_call(request: HttpRequest, *, payload: Any, work: Work, scope: str | None = None) -> HttpResponse:
    """Run ``work`` (returns (status, body)) once per Idempotency-Key header; without the header just run it.

    The fingerprint covers the method, the path and ``payload``, so a retry must send the same body.
    A replay carries ``Idempotent-Replayed: true``. ``scope`` defaults to :func:`scope_of`; guest checkouts
    pass their cart token ("guest:<token>").
    """
    key = request.headers.get(HEADER)
    if key is None:
        status, body = work()
        return _response(status, jsonable(body))
    result = run_idempotent(
        scope=scope or scope_of(request),
        key=key,
        fingerprint=fingerprint_of(method=request.method or "POST", path=request.get_full_path(), payload=payload),
        work=work,
    )
    response = _response(result.status, result.body)
    if result.replayed:
        response[REPLAYED_HEADER] = "true"
    return response

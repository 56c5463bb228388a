"""A local stand-in for the parts of Stripe's API that Agora uses, served over HTTP inside the test process.

The real ``stripe`` package talks to it (``STRIPE_API_BASE``), so the tests exercise the package's request
encoding, error classes and retries, never the network. It speaks Stripe's JSON for PaymentIntents (create
with or without confirm, retrieve, capture, cancel) and refunds (create, list), honours ``Idempotency-Key``
like Stripe (a retry replays the stored answer), and keeps every request it received for assertions.

Test payment methods, as in Stripe's test mode: ``pm_card_visa`` approves, ``pm_card_chargeDeclined`` and
``pm_card_chargeDeclinedInsufficientFunds`` decline, ``pm_card_authenticationRequired`` needs 3-D Secure.
``pm_card_slow`` (ours) approves but answers only after ``slow_seconds``: the client times out first.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[payment]=x``, ``expand[0]=y``) back into dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    for name, value in list(out.items()):
        if isinstance(value, dict) and value and all(k.isdigit() for k in value):
            out[name] = [value[k] for k in sorted(value, key=int)]
    return out


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class StripeStandIn:
    url: str = ""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    slow_seconds: float = 3.0
    # What a new refund answers: "succeeded" (cards, at once) or "pending" (settled later by ``settle_refund``).
    refund_status: str = "succeeded"
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_standin{next(self._ids):06d}"

    # --- what tests look at ---------------------------------------------------------------
    def mutating(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST"]

    def intent(self, intent_id: str, *, expand_charge: bool = False) -> dict[str, Any]:
        intent = json.loads(json.dumps(self.intents[intent_id]))
        if expand_charge and intent.get("latest_charge"):
            intent["latest_charge"] = json.loads(json.dumps(self.charges[intent["latest_charge"]]))
        return intent

    def refund_outside(self, intent_id: str, amount: int) -> dict[str, Any]:
        """A refund made in Stripe's dashboard: Agora learns of it from the charge.refunded webhook."""
        with self._lock:
            return self._refund({"payment_intent": intent_id, "amount": str(amount)})[1]

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> dict[str, Any]:
        """A pending refund settles at Stripe: Agora learns of it from the charge.refund.updated webhook."""
        with self._lock:
            refund = self.refunds[refund_id]
            if refund["status"] == "pending" and status != "succeeded":
                charge = self.charges[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            refund["status"] = status
            return json.loads(json.dumps(refund))

    # --- the API --------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], params: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Received(method, path, headers, params))
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self._answers:
                return self._answers[key]
            answer = self._route(method, path, params)
            if method == "POST" and key:
                self._answers[key] = answer
        slow = params.get("payment_method") == "pm_card_slow"
        if slow:
            time.sleep(self.slow_seconds)
        return answer

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and path == "/v1/payment_intents":
            return self._create(params)
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)(/capture|/cancel)?", path)
        if match:
            intent_id, action = match.groups()
            if intent_id not in self.intents:
                return self._error(
                    404, "invalid_request_error", "resource_missing", f"No such payment_intent: '{intent_id}'"
                )
            expand = "latest_charge" in (params.get("expand") or [])
            if action == "/capture":
                return self._capture(intent_id, params, expand)
            if action == "/cancel":
                return self._cancel(intent_id, expand)
            return 200, self.intent(intent_id, expand_charge=expand)
        if path == "/v1/refunds" and method == "POST":
            return self._refund(params)
        if path == "/v1/refunds" and method == "GET":
            data = [r for r in self.refunds.values() if r["payment_intent"] == params.get("payment_intent")]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        return self._error(404, "invalid_request_error", "resource_missing", f"Unrecognized request URL ({path})")

    @staticmethod
    def _error(status: int, kind: str, code: str, message: str, **extra: Any) -> tuple[int, Any]:
        return status, {"error": {"type": kind, "code": code, "message": message, **extra}}

    def _charge(self, intent: dict[str, Any]) -> None:
        charge_id = self.new_id("ch")
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "refunded": False,
        }
        intent["latest_charge"] = charge_id

    def _create(self, params: dict[str, Any]) -> tuple[int, Any]:
        intent_id = self.new_id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": params["currency"],
            "capture_method": params.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_standin",
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "receipt_email": params.get("receipt_email"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        payment_method = params.get("payment_method")
        if params.get("confirm") != "true" or not payment_method:
            return 200, self.intent(intent_id)
        if payment_method in DECLINES:
            code, decline_code, message = DECLINES[payment_method]
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
            }
            return self._error(
                402, "card_error", code, message, decline_code=decline_code, payment_intent=self.intent(intent_id)
            )
        if payment_method == "pm_card_authenticationRequired":
            intent["status"] = "requires_action"
            return 200, self.intent(intent_id)
        self._charge(intent)
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
        return 200, self.intent(intent_id)

    def _capture(self, intent_id: str, params: dict[str, Any], expand: bool) -> tuple[int, Any]:
        intent = self.intents[intent_id]
        if intent["status"] != "requires_capture":
            return self._error(
                400,
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"This PaymentIntent could not be captured because it has a status of {intent['status']}.",
            )
        amount = int(params.get("amount_to_capture") or intent["amount"])
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self.charges[intent["latest_charge"]]["amount"] = amount
        return 200, self.intent(intent_id, expand_charge=expand)

    def _cancel(self, intent_id: str, expand: bool) -> tuple[int, Any]:
        intent = self.intents[intent_id]
        if intent["status"] in ("succeeded", "canceled"):
            return self._error(
                400,
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
            )
        intent.update(status="canceled", amount_capturable=0)
        return 200, self.intent(intent_id, expand_charge=expand)

    def _refund(self, params: dict[str, Any]) -> tuple[int, Any]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return self._error(400, "invalid_request_error", "charge_not_refundable", "This charge cannot be refunded.")
        charge = self.charges[intent["latest_charge"]]
        amount = int(params.get("amount") or intent["amount_received"] - charge["amount_refunded"])
        if amount > intent["amount_received"] - charge["amount_refunded"]:
            return self._error(
                400,
                "invalid_request_error",
                "charge_already_refunded" if charge["refunded"] else "amount_too_large",
                "Refund amount is greater than unrefunded amount on charge.",
            )
        refund_id = self.new_id("re")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "metadata": params.get("metadata") or {},
            "reason": params.get("reason"),
            "status": self.refund_status,
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= intent["amount_received"]
        return 200, refund

    # --- webhooks -------------------------------------------------------------------------
    def event(self, event_type: str, obj: dict[str, Any], *, event_id: str = "") -> bytes:
        return json.dumps(
            {
                "id": event_id or self.new_id("evt"),
                "object": "event",
                "type": event_type,
                "api_version": "2026-10-28.endive",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": obj},
            }
        ).encode()


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload.decode()}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def serve() -> tuple[StripeStandIn, ThreadingHTTPServer]:
    standin = StripeStandIn()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = _nest(parse_qsl(split.query) + parse_qsl(body))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = standin.handle(self.command, split.path, headers, params)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{hashlib.sha1(data).hexdigest()[:12]}")  # noqa: S324
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the slow card)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="stripe-standin", daemon=True).start()
    return standin, server

"""Stripe through the official ``stripe`` package: PaymentIntents, manual capture, cancel, refunds.

Every mutating call sends Stripe's own ``Idempotency-Key`` (derived from the Agora payment or refund), so
a call retried after a lost answer returns what Stripe did the first time. ``STRIPE_API_BASE`` points the
client elsewhere (the tests' local stand-in); production leaves it empty.

Methods: "stripe_card" creates a PaymentIntent that the shopper confirms in the browser with Stripe.js
(status "requires_action" with a ``client_secret``; the webhook tells the outcome). "stripe_card:pm_..."
confirms at once on the server with a PaymentMethod the client created with Stripe.js (or a test one such
as ``pm_card_visa``); 3-D Secure then still needs the browser ("requires_action").
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any, NoReturn

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from agora.core.money import CURRENCIES
from agora.payments.gateways.base import (
    AuthorizeRequest,
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    GatewayTimeout,
    PaymentGateway,
    PaymentMethodOption,
)
from agora.payments.models import PaymentStatus, RefundStatus

CARD = "stripe_card"
PAYMENT_METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,100}$")
_ACTION = {"requires_action", "requires_confirmation", "requires_payment_method"}
_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def to_minor(amount: Decimal, currency: str) -> int:
    """Stripe counts in the currency's smallest unit: 19.90 EUR is 1990, 1500 JPY is 1500."""
    exponent = CURRENCIES[currency][0]
    return int((amount * (10**exponent)).to_integral_value())


def from_minor(value: int | None, currency: str) -> Decimal:
    exponent = CURRENCIES[currency.upper()][0]
    return Decimal(int(value or 0)).scaleb(-exponent)


def intent_result(intent: dict[str, Any]) -> GatewayPayment:
    """A PaymentIntent (as a dict: an API answer or a webhook's snapshot) in Agora's terms."""
    currency = str(intent["currency"]).upper()
    status = intent.get("status", "")
    error = intent.get("last_payment_error") or {}
    charge = intent.get("latest_charge")
    refunded = from_minor(charge.get("amount_refunded"), currency) if isinstance(charge, dict) else Decimal(0)
    common: dict[str, Any] = {
        "reference": intent["id"],
        "amount": from_minor(intent.get("amount"), currency),
        "captured_amount": from_minor(intent.get("amount_received"), currency),
        "refunded_amount": refunded,
    }
    if status == "succeeded":
        return GatewayPayment(status=PaymentStatus.CAPTURED, **common)
    if status == "requires_capture":
        return GatewayPayment(status=PaymentStatus.AUTHORIZED, **common)
    if status == "canceled":
        return GatewayPayment(status=PaymentStatus.VOIDED, **common)
    if status == "processing":
        return GatewayPayment(status=PaymentStatus.PENDING, **common)
    if status == "requires_payment_method" and error:
        # The last attempt was declined; in the browser flow the shopper may still try another card.
        return GatewayPayment(
            status=PaymentStatus.FAILED,
            failure_code=str(error.get("decline_code") or error.get("code") or "card_declined"),
            failure_message=str(error.get("message") or _("The card was declined."))[:500],
            client_secret=intent.get("client_secret") or "",
            retryable=True,
            **common,
        )
    if status in _ACTION:
        return GatewayPayment(
            status=PaymentStatus.REQUIRES_ACTION, client_secret=intent.get("client_secret") or "", **common
        )
    raise GatewayError(f"stripe: unexpected PaymentIntent status {status!r}", code="unexpected_status")


def _refund_result(refund: dict[str, Any]) -> GatewayRefund:
    currency = str(refund["currency"]).upper()
    return GatewayRefund(
        reference=refund["id"],
        amount=from_minor(refund.get("amount"), currency),
        status=_REFUND_STATUS.get(refund.get("status") or "", RefundStatus.PENDING),
        refund_id=str((refund.get("metadata") or {}).get("refund", "")),
        failure_message=str(refund.get("failure_reason") or ""),
    )


def _raise(exc: stripe.StripeError) -> NoReturn:
    """Stripe's exceptions in gateway terms: was anything done (GatewayTimeout: maybe) or not (GatewayError)."""
    message = f"stripe: {exc.user_message or type(exc).__name__}"
    if isinstance(exc, stripe.APIConnectionError):
        raise GatewayTimeout(message) from exc
    if isinstance(exc, stripe.InvalidRequestError) and exc.code == "idempotency_key_in_use":
        # The same call is still running on Stripe's side: its outcome is not known yet.
        raise GatewayTimeout(message) from exc
    if isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        # Stripe says a 500 leaves the result indeterminate; retrieve tells.
        raise GatewayTimeout(message) from exc
    if isinstance(exc, stripe.RateLimitError):
        raise GatewayError(message, code="rate_limited") from exc
    raise GatewayError(message, code=str(exc.code or "invalid_request")) from exc


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway(PaymentGateway):
    name = "stripe"
    # Stripe keeps idempotency keys for 24 hours: a lost create is replayed with its key only inside that window.
    replay_window = timedelta(hours=23)

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str = "",
        api_base: str = "",
        timeout: float = 20,
        max_network_retries: int = 1,
    ) -> None:
        if not secret_key:
            raise ImproperlyConfigured("AGORA_PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY.")
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    _cache: dict[tuple[Any, ...], StripeGateway] = {}

    @classmethod
    def from_settings(cls) -> StripeGateway:
        """One client per configuration, so its keep-alive connections are reused between payments."""
        config = (
            settings.STRIPE_SECRET_KEY,
            settings.STRIPE_PUBLISHABLE_KEY,
            settings.STRIPE_API_BASE,
            settings.STRIPE_TIMEOUT,
            settings.STRIPE_MAX_NETWORK_RETRIES,
        )
        gateway = cls._cache.get(config)
        if gateway is None:
            gateway = cls(
                secret_key=config[0],
                publishable_key=config[1],
                api_base=config[2],
                timeout=config[3],
                max_network_retries=config[4],
            )
            cls._cache[config] = gateway
        return gateway

    # --- methods ------------------------------------------------------------------------------
    def methods(self) -> list[PaymentMethodOption]:
        return [
            PaymentMethodOption(
                CARD,
                _("Card"),
                _("Visa, Mastercard, American Express and more, through Stripe."),
                self.name,
                test=self.secret_key.startswith("sk_test_"),
                publishable_key=self.publishable_key,
            )
        ]

    def supports(self, method: str) -> bool:
        base, _sep, payment_method = method.partition(":")
        return base == CARD and (not _sep or bool(PAYMENT_METHOD_ID.match(payment_method)))

    # --- calls --------------------------------------------------------------------------------
    def authorize(self, request: AuthorizeRequest) -> GatewayPayment:
        params: dict[str, Any] = {
            "amount": to_minor(request.amount, request.currency),
            "currency": request.currency.lower(),
            "capture_method": "automatic" if request.capture else "manual",
            "payment_method_types": ["card"],
            "metadata": dict(request.metadata),
        }
        if request.description:
            params["description"] = request.description[:1000]
        if request.payer_email:
            params["receipt_email"] = request.payer_email
        payment_method = request.method.partition(":")[2]
        if payment_method:
            params["payment_method"] = payment_method
            params["confirm"] = True
        try:
            intent = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            return self._declined(exc, request)
        except stripe.StripeError as exc:
            _raise(exc)
        return intent_result(_as_dict(intent))

    def _declined(self, exc: stripe.CardError, request: AuthorizeRequest) -> GatewayPayment:
        error = (exc.json_body or {}).get("error", {}) if isinstance(exc.json_body, dict) else {}
        intent = error.get("payment_intent") or {}
        return GatewayPayment(
            reference=str(intent.get("id", "")),
            status=PaymentStatus.FAILED,
            amount=request.amount,
            failure_code=str(error.get("decline_code") or exc.code or "card_declined"),
            failure_message=str(error.get("message") or _("The card was declined."))[:500],
        )

    def capture(self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayPayment:
        try:
            intent = self.client.v1.payment_intents.capture(
                reference,
                params={"amount_to_capture": to_minor(amount, currency), "expand": ["latest_charge"]},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            _raise(exc)
        return intent_result(_as_dict(intent))

    def void(self, *, reference: str, idempotency_key: str) -> GatewayPayment:
        try:
            intent = self.client.v1.payment_intents.cancel(
                reference, params={"expand": ["latest_charge"]}, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            _raise(exc)
        return intent_result(_as_dict(intent))

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, reason: str, refund_id: str, idempotency_key: str
    ) -> GatewayRefund:
        try:
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": reference,
                    "amount": to_minor(amount, currency),
                    "reason": "requested_by_customer",
                    "metadata": {"refund": refund_id, "reason": reason[:500]},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            _raise(exc)
        return _refund_result(_as_dict(refund))

    def retrieve(self, *, reference: str, request: AuthorizeRequest | None = None) -> GatewayPayment | None:
        if not reference:
            if request is None:
                return None
            # Replaying the create with its key returns what Stripe did then, or does it now if it never arrived.
            return self.authorize(request)
        try:
            intent = self.client.v1.payment_intents.retrieve(reference, params={"expand": ["latest_charge"]})
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return None
            _raise(exc)
        except stripe.StripeError as exc:
            _raise(exc)
        return intent_result(_as_dict(intent))

    def refunds(self, *, reference: str) -> list[GatewayRefund]:
        try:
            page = self.client.v1.refunds.list(params={"payment_intent": reference, "limit": 100})
            return [_refund_result(_as_dict(refund)) for refund in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            _raise(exc)

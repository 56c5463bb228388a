"""What every payment gateway offers the payments services, and what it answers.

The services own the Payment rows; a gateway only talks to the payment provider (or, for the sandbox, to
its own tables). Every mutating call carries an idempotency key, so a call retried after a timeout never
charges or refunds twice. Results use the statuses of :class:`agora.payments.models.PaymentStatus`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


class GatewayError(Exception):
    """The gateway refused the call (bad request, configuration, rate limit): nothing happened."""

    def __init__(self, message: str, *, code: str = "gateway_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayTimeout(GatewayError):
    """No answer, or an answer that does not say what happened: the outcome is unknown until retrieved."""

    def __init__(self, message: str, *, code: str = "gateway_timeout") -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class PaymentMethodOption:
    """One way to pay that checkout offers."""

    code: str
    label: str
    description: str
    gateway: str
    test: bool = False
    # Stripe: the publishable key Stripe.js needs in the browser.
    publishable_key: str = ""


@dataclass(frozen=True)
class AuthorizeRequest:
    amount: Decimal
    currency: str
    method: str
    capture: bool
    idempotency_key: str
    description: str = ""
    payer_email: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayPayment:
    """What the gateway says about a payment."""

    reference: str
    status: str
    amount: Decimal
    captured_amount: Decimal = ZERO
    refunded_amount: Decimal = ZERO
    failure_code: str = ""
    failure_message: str = ""
    client_secret: str = ""
    # A failed attempt the shopper may retry on the same payment (Stripe: another card in the browser).
    retryable: bool = False


@dataclass(frozen=True)
class GatewayRefund:
    reference: str
    amount: Decimal
    status: str  # "succeeded", "pending" or "failed" (RefundStatus)
    # The Agora Refund.public_id it was made for; empty for a refund made outside Agora.
    refund_id: str = ""
    failure_message: str = ""


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def methods(self) -> list[PaymentMethodOption]:
        """The methods this gateway offers at checkout."""

    def supports(self, method: str) -> bool:
        return method in {option.code for option in self.methods()}

    @abstractmethod
    def authorize(self, request: AuthorizeRequest) -> GatewayPayment:
        """Authorise ``request.amount`` (and capture it when ``request.capture``).

        A decline is a result with status "failed", not an exception. Raises GatewayTimeout when the outcome
        is unknown, GatewayError when the gateway refused the request itself.
        """

    @abstractmethod
    def capture(self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayPayment:
        """Capture ``amount`` (at most the authorised amount) of an authorised payment."""

    @abstractmethod
    def void(self, *, reference: str, idempotency_key: str) -> GatewayPayment:
        """Release an authorisation (or cancel a payment the shopper has not confirmed yet)."""

    @abstractmethod
    def refund(
        self, *, reference: str, amount: Decimal, currency: str, reason: str, refund_id: str, idempotency_key: str
    ) -> GatewayRefund:
        """Give back ``amount`` of a captured payment. A retry with the same key returns the same refund."""

    @abstractmethod
    def retrieve(self, *, reference: str, request: AuthorizeRequest | None = None) -> GatewayPayment | None:
        """What really happened to a payment; None when the gateway never received it.

        Without a ``reference`` (the authorise call timed out before one came back), ``request`` (the original
        call, same idempotency key) is what the gateway looks the payment up by.
        """

    @abstractmethod
    def refunds(self, *, reference: str) -> list[GatewayRefund]:
        """Every refund the gateway made on a payment, including those made outside Agora."""

from agora.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class PaymentInvalid(ValidationFailed):
    """Bad amount, currency, method or key given to a payment service."""

    code = "payment_invalid"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class PaymentStateError(Conflict):
    """The payment is not in a state that allows this (e.g. capturing a voided payment)."""

    code = "payment_state"


class PaymentKeyReused(Conflict):
    """The idempotency key was used before for a different payment or refund."""

    code = "payment_key_reused"


class RefundTooLarge(ValidationFailed):
    code = "refund_too_large"


class PaymentGatewayFailed(DomainError):
    """The gateway refused or did not answer an operation that is not a shopper's decline."""

    status = 502
    code = "gateway_error"

from agora.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class CartInvalid(ValidationFailed):
    code = "cart_invalid"


class CartEmpty(ValidationFailed):
    code = "cart_empty"


class CartNotFound(NotFound):
    code = "cart_not_found"


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"


class ItemUnavailable(ValidationFailed):
    """The variant does not exist, is switched off, its product is not published or its shop is closed."""

    code = "item_unavailable"


class QuantityInvalid(ValidationFailed):
    """A quantity below 1, above the stock or above the cart's limit."""

    code = "quantity_invalid"


class SoldOut(Conflict):
    """Not enough stock left when the order was placed (someone else was faster)."""

    code = "sold_out"


class CartChanged(Conflict):
    """Prices went up since the shopper last saw the cart: they see the new prices and confirm again."""

    code = "cart_changed"


class CurrencyMismatch(ValidationFailed):
    code = "currency_mismatch"


class CheckoutInvalid(ValidationFailed):
    code = "checkout_invalid"


class CheckoutNotFound(NotFound):
    code = "checkout_not_found"


class PaymentDeclined(DomainError):
    """The gateway declined the payment; the orders were cancelled and their stock returned."""

    status = 402
    code = "payment_declined"


class OrderNotFound(NotFound):
    code = "order_not_found"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class OrderInvalid(ValidationFailed):
    code = "order_invalid"


class RefundInvalid(ValidationFailed):
    code = "refund_invalid"


class ReturnWindowClosed(Conflict):
    code = "return_window_closed"


class ClaimInvalid(ValidationFailed):
    code = "claim_invalid"

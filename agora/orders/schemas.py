"""API shapes for carts, checkout, orders and a shop's money. Amounts are decimal strings next to their currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import Strict, model_validator

from agora.api.schemas import Id, InputSchema
from agora.catalog.schemas import Price, money_str
from agora.ledger.models import LedgerTransaction
from agora.orders import selectors, states
from agora.orders.models import Order, OrderStatus
from agora.shops.schemas import ShopRefOut

Quantity = Annotated[int, Strict(), Field(description="How many, 1 up to the stock left.")]


class Body(InputSchema):
    """A request body: a JSON object. (ninja reads a schema from any object's attributes, so a body whose fields
    all have defaults would otherwise take `[]` or `null` for an empty object.)"""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        inner = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(inner, dict):
            raise ValueError(_("The body must be a JSON object."))
        return data


ShortText = Annotated[str, Field(max_length=2000)]
# JSON integers only: pydantic's lax mode would read `true` as 1.
WholeNumber = Annotated[int, Strict()]


# --- cart ------------------------------------------------------------------------------
class CartLineOut(Schema):
    variant_id: int
    product_id: int
    title: str
    variant_name: str
    sku: str
    shop_slug: str
    product_slug: str
    currency: str
    unit_price: str
    quantity: int
    line_total: str
    available: int = Field(..., description="Units in stock now.")
    problem: str = Field(..., description='"" when fine, "sold_out" or "less_available".')
    image: str | None

    @staticmethod
    def resolve_product_id(obj: Any) -> int:
        return int(obj.product.pk)

    @staticmethod
    def resolve_shop_slug(obj: Any) -> str:
        return str(obj.shop.slug)

    @staticmethod
    def resolve_product_slug(obj: Any) -> str:
        return str(obj.product.slug)

    @staticmethod
    def resolve_unit_price(obj: Any) -> str | None:
        return money_str(obj.unit_price, obj.currency)

    @staticmethod
    def resolve_line_total(obj: Any) -> str | None:
        return money_str(obj.line_total, obj.currency)

    @staticmethod
    def resolve_image(obj: Any, context: Any) -> str | None:
        if obj.image is None:
            return None
        request = (context or {}).get("request")
        url = obj.image.thumbnail_small.url
        return request.build_absolute_uri(url) if request is not None else str(url)


class CartGroupOut(Schema):
    shop: ShopRefOut
    currency: str
    subtotal: str
    lines: list[CartLineOut]

    @staticmethod
    def resolve_subtotal(obj: Any) -> str | None:
        return money_str(obj.subtotal, obj.currency)


class CartChangeOut(Schema):
    kind: str = Field(..., description='"price_up", "price_down", "sold_out", "less_available" or "removed".')
    variant_id: int | None
    title: str
    message: str
    currency: str
    old_price: str | None
    new_price: str | None
    quantity: int
    available: int | None

    @staticmethod
    def resolve_old_price(obj: Any) -> str | None:
        return money_str(obj.old_price, obj.currency)

    @staticmethod
    def resolve_new_price(obj: Any) -> str | None:
        return money_str(obj.new_price, obj.currency)


class TotalOut(Schema):
    currency: str
    subtotal: str


class CartOut(Schema):
    token: str | None = Field(
        ..., description="A guest cart's token: send it back as the X-Cart-Token header. Null for a user's cart."
    )
    count: int = Field(..., description="Units in the cart.")
    currencies: list[str]
    totals: list[TotalOut]
    groups: list[CartGroupOut] = Field(..., description="The lines, grouped by shop.")
    changes: list[CartChangeOut] = Field(..., description="What changed since you last looked.")
    coupon: str
    coupon_message: str
    has_problems: bool = Field(..., description="Some quantities exceed the stock: fix them before checkout.")

    @staticmethod
    def resolve_token(obj: Any) -> str | None:
        return obj.cart.token if obj.cart is not None else None

    @staticmethod
    def resolve_totals(obj: Any) -> list[dict[str, Any]]:
        return [{"currency": c, "subtotal": money_str(v, c)} for c, v in sorted(obj.totals.items())]

    @staticmethod
    def resolve_coupon(obj: Any) -> str:
        return str(obj.coupon_code)


class CartItemIn(Body):
    variant_id: Id
    quantity: Quantity = 1


class QuantityIn(Body):
    quantity: Quantity


class PrefillIn(Body):
    items: str = Field(..., max_length=2000, description="variant:quantity pairs, e.g. `12:2,15:1`.")
    coupon: str = Field("", max_length=40)


class CouponIn(Body):
    code: str = Field(..., max_length=40, description='A coupon code; "" removes it.')


class TokenIn(Body):
    token: str = Field(..., min_length=1, max_length=500)


# --- checkout --------------------------------------------------------------------------
class AddressIn(Body):
    name: str = Field("", max_length=120)
    line1: str = Field("", max_length=200)
    line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    postcode: str = Field("", max_length=20)
    country: str = Field("", max_length=2, description="ISO 3166 alpha-2, e.g. LV.")
    phone: str = Field("", max_length=32)


class CheckoutIn(Body):
    address: AddressIn
    payment_method: str = Field(..., max_length=40, description="A `code` from GET /payments/methods.")
    delivery: dict[str, WholeNumber] = Field(
        default_factory=dict,
        description="Shop id → delivery method id. A shop left out gets its cheapest option.",
    )
    email: str = Field("", max_length=254, description="Required for guests (no account): the confirmation goes there.")
    currency: str | None = Field(None, max_length=3, description="With items in several currencies: which to pay.")


class PreviewIn(Body):
    country: str = Field("", max_length=2)
    delivery: dict[str, WholeNumber] = Field(default_factory=dict)
    currency: str | None = Field(None, max_length=3)


class PayIn(Body):
    payment_method: str = Field(..., max_length=40)


class DeliveryQuoteOut(Schema):
    method_id: int
    name: str
    cost: str
    currency: str
    min_days: int
    max_days: int
    is_free: bool

    @staticmethod
    def resolve_cost(obj: Any) -> str | None:
        return money_str(obj.cost, obj.currency)


class PreviewGroupOut(Schema):
    shop: ShopRefOut
    currency: str
    lines: list[CartLineOut]
    subtotal: str
    options: list[DeliveryQuoteOut]
    delivery: DeliveryQuoteOut | None
    delivery_error: str
    total: str

    @staticmethod
    def resolve_subtotal(obj: Any) -> str | None:
        return money_str(obj.subtotal, obj.currency)

    @staticmethod
    def resolve_total(obj: Any) -> str | None:
        return money_str(obj.total, obj.currency)


class PreviewOut(Schema):
    currency: str
    currencies: list[str]
    country: str
    groups: list[PreviewGroupOut]
    subtotal: str
    delivery_total: str
    total: str
    changes: list[CartChangeOut]
    problems: list[str]
    ready: bool

    @staticmethod
    def resolve_subtotal(obj: Any) -> str:
        return money_str(obj.subtotal, obj.currency) or "0"

    @staticmethod
    def resolve_delivery_total(obj: Any) -> str:
        return money_str(obj.delivery_total, obj.currency) or "0"

    @staticmethod
    def resolve_total(obj: Any) -> str:
        return money_str(obj.total, obj.currency) or "0"


class CheckoutPaymentOut(Schema):
    id: str
    status: str
    method: str
    amount: str
    failure_code: str
    failure_message: str
    client_secret: str = Field(..., description="Stripe: confirm the payment with Stripe.js while requires_action.")

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(obj.public_id)

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_str(obj.amount, obj.currency)


# --- orders ----------------------------------------------------------------------------
class OrderLineOut(Schema):
    id: int
    product_id: int | None
    variant_id: int | None
    title: str
    variant_name: str
    sku: str
    unit_price: str
    price_note: str = Field("", description='Why the price differs from the catalogue\'s ("Team price", "Flash deal").')
    quantity: int
    refunded_quantity: int
    line_total: str

    @staticmethod
    def resolve_unit_price(obj: Any) -> str | None:
        return money_str(obj.unit_price, obj.order.currency)

    @staticmethod
    def resolve_line_total(obj: Any) -> str | None:
        return money_str(obj.line_total, obj.order.currency)


class DeliveryOut(Schema):
    method_id: int | None
    name: str
    cost: str
    min_days: int | None
    max_days: int | None


class OrderOut(Schema):
    number: str
    status: str
    status_label: str
    shop: ShopRefOut
    currency: str
    subtotal: str
    delivery_cost: str
    total: str
    refunded_amount: str
    delivery: DeliveryOut
    tracking_number: str
    shipping_address: dict[str, str]
    placed_at: datetime
    reserved_until: datetime | None = Field(..., description="Unpaid orders: when the reservation ends.")
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    return_until: datetime | None = Field(..., description="Delivered orders: the end of the return window.")
    checkout_id: str
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_status_label(obj: Order) -> str:
        return str(OrderStatus(obj.status).label)

    @staticmethod
    def resolve_subtotal(obj: Order) -> str:
        return money_str(obj.subtotal, obj.currency) or "0"

    @staticmethod
    def resolve_delivery_cost(obj: Order) -> str:
        return money_str(obj.delivery_cost, obj.currency) or "0"

    @staticmethod
    def resolve_total(obj: Order) -> str:
        return money_str(obj.total, obj.currency) or "0"

    @staticmethod
    def resolve_refunded_amount(obj: Order) -> str:
        return money_str(obj.refunded_amount, obj.currency) or "0"

    @staticmethod
    def resolve_delivery(obj: Order) -> dict[str, Any]:
        return {
            "method_id": obj.delivery_method_id,
            "name": obj.delivery_method_name,
            "cost": money_str(obj.delivery_cost, obj.currency) or "0",
            "min_days": obj.delivery_min_days,
            "max_days": obj.delivery_max_days,
        }

    @staticmethod
    def resolve_shipping_address(obj: Order) -> dict[str, str]:
        return dict(obj.checkout.shipping_address)

    @staticmethod
    def resolve_reserved_until(obj: Order) -> datetime | None:
        return obj.reserved_until if obj.status == OrderStatus.PLACED else None

    @staticmethod
    def resolve_return_until(obj: Order) -> datetime | None:
        return selectors.return_deadline(obj) if obj.delivered_at else None

    @staticmethod
    def resolve_checkout_id(obj: Order) -> str:
        return obj.checkout.public_id

    @staticmethod
    def resolve_lines(obj: Order) -> list[Any]:
        lines = list(obj.lines.all())  # type: ignore[attr-defined]
        for line in lines:
            line.order = obj  # the prefetched lines know their order without a query each
        return lines


class EventOut(Schema):
    from_status: str
    to_status: str
    actor: str | None = Field(..., description="Who acted (username), null for the system or a guest.")
    actor_role: str = Field(..., description='"buyer", "staff" or "system".')
    note: str
    amount: str | None
    created_at: datetime

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor_id else None

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_str(obj.amount, obj.order.currency) if obj.amount is not None else None


class OrderDetailOut(OrderOut):
    actions: list[str] = Field(..., description="Statuses you may move the order to now.")
    timeline: list[EventOut]

    @staticmethod
    def resolve_actions(obj: Order) -> list[str]:
        return selectors.buyer_actions(obj)

    @staticmethod
    def resolve_timeline(obj: Order) -> list[Any]:
        events = selectors.order_timeline(obj)
        for event in events:
            event.order = obj
        return events


class StaffOrderOut(OrderOut):
    buyer: str | None = Field(..., description="The buyer's username; null for a guest.")
    email: str
    commission_rate: str
    commission: str

    @staticmethod
    def resolve_buyer(obj: Order) -> str | None:
        return obj.buyer.username if obj.buyer_id and obj.buyer is not None else None

    @staticmethod
    def resolve_commission_rate(obj: Order) -> str:
        return str(obj.commission_rate)

    @staticmethod
    def resolve_commission(obj: Order) -> str:
        return money_str(obj.commission, obj.currency) or "0"


class StaffOrderDetailOut(StaffOrderOut):
    actions: list[str]
    timeline: list[EventOut]
    refund_pending: bool = Field(
        ..., description="A refund was sent to the payment gateway and is not settled yet (the order changes then)."
    )

    @staticmethod
    def resolve_refund_pending(obj: Order) -> bool:
        return selectors.has_pending_refund(obj)

    @staticmethod
    def resolve_actions(obj: Order) -> list[str]:
        return states.next_statuses(obj, states.STAFF)

    @staticmethod
    def resolve_timeline(obj: Order) -> list[Any]:
        events = selectors.order_timeline(obj)
        for event in events:
            event.order = obj
        return events


class CheckoutOut(Schema):
    id: str
    status: str = Field(
        ..., description='"paid", "awaiting_payment" (placed, not paid yet), "cancelled" or "expired", from the orders.'
    )
    email: str
    currency: str
    total: str
    reserved_until: datetime
    purpose: str = Field("", description='"" (the cart), "team" or "flash" (a deal bought outside the cart).')
    authorise_only: bool = Field(
        False, description="The payment is only authorised; it is captured later (a team purchase when it completes)."
    )
    payment: CheckoutPaymentOut | None
    orders: list[OrderOut]

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(obj.public_id)

    @staticmethod
    def resolve_total(obj: Any) -> str | None:
        return money_str(obj.total, obj.currency)

    @staticmethod
    def resolve_status(obj: Any) -> str:
        statuses = {o.status for o in obj.orders.all()}
        if OrderStatus.PLACED in statuses:
            return "awaiting_payment"
        if statuses <= {OrderStatus.CANCELLED}:
            return "cancelled"
        if statuses <= {OrderStatus.EXPIRED, OrderStatus.CANCELLED}:
            return "expired"
        return "paid"

    @staticmethod
    def resolve_orders(obj: Any) -> list[Any]:
        orders = list(obj.orders.all())
        for order in orders:
            order.checkout = obj
        return orders


class ReasonIn(Body):
    reason: ShortText = ""


class ShipIn(Body):
    tracking_number: str = Field(..., max_length=80)
    note: ShortText = ""


class NoteIn(Body):
    note: ShortText = ""


class PayoutIn(Body):
    amount: Price
    currency: str = Field(..., min_length=3, max_length=3)
    reference: ShortText = ""


class RefundIn(Body):
    lines: dict[str, WholeNumber] | None = Field(None, description="Order line id → quantity to refund.")
    amount: Price | None = Field(None, description="An amount instead of (or with) lines.")
    reason: ShortText = ""
    restock: bool | None = Field(None, description="Put refunded units back in stock (default: if not shipped).")


class AcceptReturnIn(Body):
    lines: dict[str, WholeNumber] | None = Field(None, description="Only these lines came back (default: everything).")
    note: ShortText = ""


class ClaimOut(Schema):
    orders: list[OrderOut]


# --- a shop's money --------------------------------------------------------------------
class BalanceOut(Schema):
    currency: str
    pending: str = Field(..., description="Earned on orders not delivered yet (net of commission and refunds).")
    payable: str = Field(..., description="Payout due: delivered orders, net of commission, refunds and payouts.")
    total: str

    @staticmethod
    def resolve_pending(obj: Any) -> str | None:
        return money_str(obj.pending, obj.currency)

    @staticmethod
    def resolve_payable(obj: Any) -> str | None:
        return money_str(obj.payable, obj.currency)

    @staticmethod
    def resolve_total(obj: Any) -> str | None:
        return money_str(obj.total, obj.currency)


class LedgerEntryOut(Schema):
    account: str
    amount: str = Field(..., description="Debit positive, credit negative.")

    @staticmethod
    def resolve_amount(obj: Any) -> str | None:
        return money_str(obj.amount, obj.currency)


class LedgerMovementOut(Schema):
    id: int
    kind: str
    order_id: int | None
    currency: str
    memo: str
    created_at: datetime
    entries: list[LedgerEntryOut]

    @staticmethod
    def resolve_entries(obj: LedgerTransaction) -> list[Any]:
        return list(obj.entries.all())  # type: ignore[attr-defined]


class SalesPolicyOut(Schema):
    return_window_days: int
    commission_rate: str
    commission_rate_is_default: bool


class SalesPolicyIn(Body):
    return_window_days: Annotated[int, Strict()] | None = Field(None, ge=0, le=365)
    commission_rate: str | None = Field(
        None, max_length=10, description='Operator staff only: a fraction such as "0.08".'
    )
    clear_commission_rate: bool = False


class OrderFilters(Schema):
    status: str = Field("", max_length=24, description='A status, or "open" (paid, refund or return requested).')

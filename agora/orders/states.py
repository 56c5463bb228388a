"""The order state machine, in one table.

    placed ──paid──▶ paid ──ship──▶ shipped ──deliver──▶ delivered ──return request──▶ return_requested ──▶ returned
      │                │  ╲                                   │                          (declined: back)
      ├─▶ cancelled    │   ╲─▶ cancelled (full refund,         └──▶ refund_requested ◀── paid / shipped / delivered
      └─▶ expired      │        stock back)                          (declined: back)      / partially_refunded
                       └──refund (lines/amount)──▶ partially_refunded ──▶ refunded

A partially refunded order keeps moving (shipped, delivered, returned) as long as goods remain; the guards read
its timestamps to know how far it got. Who may fire a transition: "buyer", "staff" or "system" (payments, expiry).
Services check the staff member's shop role on top (fulfil vs refund).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agora.orders.models import Order
from agora.orders.models import OrderStatus as S

BUYER, STAFF, SYSTEM = "buyer", "staff", "system"
Guard = Callable[[Order], bool]


def _always(order: Order) -> bool:
    return True


def _not_shipped(order: Order) -> bool:
    return order.shipped_at is None


def _shipped_not_delivered(order: Order) -> bool:
    return order.shipped_at is not None and order.delivered_at is None


def _delivered(order: Order) -> bool:
    return order.delivered_at is not None


def _has_goods_left(order: Order) -> bool:
    return order.refunded_amount < order.total


@dataclass(frozen=True)
class Rule:
    actors: frozenset[str]
    guard: Guard = _always


def _rule(*actors: str, guard: Guard = _always) -> Rule:
    return Rule(frozenset(actors), guard)


REFUNDABLE_FROM = (S.PAID, S.SHIPPED, S.DELIVERED, S.REFUND_REQUESTED, S.PARTIALLY_REFUNDED, S.RETURN_REQUESTED)

TRANSITIONS: dict[tuple[str, str], Rule] = {
    (S.PLACED, S.PAID): _rule(SYSTEM),
    (S.PLACED, S.CANCELLED): _rule(BUYER, STAFF, SYSTEM),
    (S.PLACED, S.EXPIRED): _rule(SYSTEM),
    (S.PAID, S.SHIPPED): _rule(STAFF),
    (S.PAID, S.CANCELLED): _rule(BUYER, STAFF),
    (S.SHIPPED, S.DELIVERED): _rule(STAFF, SYSTEM),
    (S.PARTIALLY_REFUNDED, S.SHIPPED): _rule(STAFF, guard=_not_shipped),
    (S.PARTIALLY_REFUNDED, S.DELIVERED): _rule(STAFF, SYSTEM, guard=_shipped_not_delivered),
    # Refund requests (the shopper, with a reason); declining one puts the order back where it was.
    (S.PAID, S.REFUND_REQUESTED): _rule(BUYER),
    (S.SHIPPED, S.REFUND_REQUESTED): _rule(BUYER),
    (S.DELIVERED, S.REFUND_REQUESTED): _rule(BUYER),
    (S.PARTIALLY_REFUNDED, S.REFUND_REQUESTED): _rule(BUYER, guard=_has_goods_left),
    (S.REFUND_REQUESTED, S.PAID): _rule(STAFF, guard=_not_shipped),
    (S.REFUND_REQUESTED, S.SHIPPED): _rule(STAFF, guard=_shipped_not_delivered),
    (S.REFUND_REQUESTED, S.DELIVERED): _rule(STAFF, guard=_delivered),
    (S.REFUND_REQUESTED, S.PARTIALLY_REFUNDED): _rule(STAFF),
    # Returns (within the shop's window after delivery, checked by the service).
    (S.DELIVERED, S.RETURN_REQUESTED): _rule(BUYER),
    (S.PARTIALLY_REFUNDED, S.RETURN_REQUESTED): _rule(BUYER, guard=_delivered),
    (S.RETURN_REQUESTED, S.DELIVERED): _rule(STAFF),
    (S.RETURN_REQUESTED, S.PARTIALLY_REFUNDED): _rule(STAFF, guard=_delivered),
    (S.RETURN_REQUESTED, S.RETURNED): _rule(STAFF),
}
# Refunds by the shop's staff, from any state where money was taken; the system records one that went through
# while the order moved on (a cancellation refunded as the parcel left).
for _source in REFUNDABLE_FROM:
    TRANSITIONS.setdefault((_source, S.PARTIALLY_REFUNDED), _rule(STAFF, SYSTEM))
    TRANSITIONS.setdefault((_source, S.REFUNDED), _rule(STAFF, SYSTEM))
# The same status again (a second partial refund) is not a transition but is allowed as one.
TRANSITIONS[(S.PARTIALLY_REFUNDED, S.PARTIALLY_REFUNDED)] = _rule(STAFF, SYSTEM)

# Orders in these states have been paid for and not (fully) given back: "bought".
BOUGHT = (S.PAID, S.SHIPPED, S.DELIVERED, S.REFUND_REQUESTED, S.PARTIALLY_REFUNDED, S.RETURN_REQUESTED)
# No transition leaves these.
FINAL = (S.CANCELLED, S.EXPIRED, S.REFUNDED, S.RETURNED)


def allowed(order: Order, to_status: str, actor_role: str) -> bool:
    rule = TRANSITIONS.get((order.status, to_status))
    return rule is not None and actor_role in rule.actors and rule.guard(order)


def next_statuses(order: Order, actor_role: str) -> list[str]:
    """Where ``actor_role`` may move the order now (for buttons and the API's `actions`)."""
    return [to for (source, to) in TRANSITIONS if source == order.status and allowed(order, to, actor_role)]

"""Signals orders sends to other apps (deals react to them without orders knowing about deals)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent INSIDE the transaction when placed (unpaid) orders become cancelled or expired, whatever the path
# (payment declined, buyer or staff cancelled, expiry, ``cancel_placed_orders``). kwargs: orders=list[Order] (one
# or more, all moved to the same status in that transaction), status=str, role=str (who closes them: "buyer",
# "staff" or "system"). A receiver may refuse a buyer's or staff's close by raising a DomainError: the whole
# transaction rolls back and the caller gets that error.
order_closed_unpaid = Signal()

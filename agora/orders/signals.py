"""Signals orders sends to other apps (deals react to them without orders knowing about deals)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent INSIDE the transaction when a placed (unpaid) order becomes cancelled or expired, whatever the path
# (payment declined, buyer or staff cancelled, expiry, ``cancel_placed_order``). kwargs: order=Order, status=str.
order_closed_unpaid = Signal()

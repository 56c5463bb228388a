"""Signals of the payments app. Both are sent INSIDE the transaction that made the change, so a receiver's
writes (an order marked paid, a ledger entry) commit or roll back together with it."""

from django.dispatch import Signal

# sender=Payment, payment=Payment, previous=str: the payment's status changed from ``previous``.
payment_status_changed = Signal()

# sender=Refund, refund=Refund, previous=str: a refund reached "succeeded" or "failed" (from "pending", or
# directly when created already settled). A refund made outside Agora (Stripe dashboard) arrives here too.
refund_status_changed = Signal()

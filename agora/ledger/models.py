"""Double-entry money movements of the marketplace.

Every movement is a ``LedgerTransaction`` whose ``LedgerEntry`` rows sum to zero per currency: a debit is a
positive amount, a credit a negative one. Balances are sums of entries, never stored totals.

Accounts (``Account``):
- ``gateway``: money the payment gateway holds for the platform (debited when a shopper pays, credited on refunds
  and payouts);
- ``shop_pending``: owed to a shop for orders not delivered yet;
- ``shop_payable``: payout due to the shop (its delivered orders, net of commission and refunds);
- ``commission``: the operator's revenue.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.core.money import CURRENCY_CHOICES
from agora.shops.models import Shop


class Account(models.TextChoices):
    GATEWAY = "gateway", _("Payment gateway")
    SHOP_PENDING = "shop_pending", _("Shop: pending delivery")
    SHOP_PAYABLE = "shop_payable", _("Shop: payout due")
    COMMISSION = "commission", _("Operator commission")


class Kind(models.TextChoices):
    ORDER_PAID = "order_paid", _("Order paid")
    COMMISSION = "commission", _("Commission")
    REFUND = "refund", _("Refund")
    COMMISSION_REFUND = "commission_refund", _("Commission given back")
    PAYOUT_DUE = "payout_due", _("Payout due to the shop")
    PAYOUT = "payout", _("Payout to the shop")


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # Makes recording idempotent: a retried or repeated call with the same key records nothing new.
    key = models.CharField(max_length=120, unique=True)
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="ledger_transactions")
    # The order (agora.orders.Order) by id: the ledger does not depend on the orders app.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.CASCADE, related_name="entries")
    account = models.CharField(max_length=24, choices=Account.choices)
    # The shop whose account this is (for shop_pending / shop_payable); empty for platform accounts.
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Positive: debit; negative: credit.
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["shop", "account", "currency"])]

    def __str__(self) -> str:
        return f"{self.account} {self.amount} {self.currency}"

"""Reads of the ledger: a shop's balance and movements, and the check that everything balances."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from agora.ledger.models import Account, LedgerEntry, LedgerTransaction
from agora.ledger.services import round_money
from agora.shops.models import Shop


@dataclass(frozen=True)
class ShopBalance:
    """What the platform owes a shop in one currency: ``pending`` (orders not delivered yet) and ``payable``
    (payout due: delivered orders net of commission and refunds, minus payouts made)."""

    currency: str
    pending: Decimal
    payable: Decimal

    @property
    def total(self) -> Decimal:
        return self.pending + self.payable


def shop_balance(shop: Shop) -> list[ShopBalance]:
    """The shop's balance per currency (one query), in currency order; empty before its first paid order."""
    rows = (
        LedgerEntry.objects.filter(shop=shop, account__in=[Account.SHOP_PENDING, Account.SHOP_PAYABLE])
        .values("currency")
        .annotate(
            pending=Sum("amount", filter=Q(account=Account.SHOP_PENDING)),
            payable=Sum("amount", filter=Q(account=Account.SHOP_PAYABLE)),
        )
        .order_by("currency")
    )
    # Shop accounts hold credits (negative amounts): the balance owed is their opposite.
    return [
        ShopBalance(
            currency=row["currency"],
            pending=round_money(-(row["pending"] or Decimal(0)), row["currency"]),
            payable=round_money(-(row["payable"] or Decimal(0)), row["currency"]),
        )
        for row in rows
    ]


def shop_movements(shop: Shop) -> QuerySet[LedgerTransaction]:
    """The shop's ledger movements, newest first, with their entries prefetched (two queries per page)."""
    return LedgerTransaction.objects.filter(shop=shop).prefetch_related("entries").order_by("-created_at", "-id")


def order_movements(order_id: int) -> QuerySet[LedgerTransaction]:
    return LedgerTransaction.objects.filter(order_id=order_id).prefetch_related("entries").order_by("created_at", "id")


def account_total(account: str, currency: str, *, shop: Shop | None = None) -> Decimal:
    """The sum of an account's entries (debits positive) in ``currency``, optionally for one shop."""
    entries = LedgerEntry.objects.filter(account=account, currency=currency)
    if shop is not None:
        entries = entries.filter(shop=shop)
    return entries.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def ledger_is_balanced() -> bool:
    """True when every movement, and so the whole ledger, sums to zero in each currency."""
    unbalanced = (
        LedgerEntry.objects.values("transaction_id", "currency").annotate(total=Sum("amount")).exclude(total=0).exists()
    )
    if unbalanced:
        return False
    return not LedgerEntry.objects.values("currency").annotate(total=Sum("amount")).exclude(total=0).exists()


__all__ = [
    "ShopBalance",
    "account_total",
    "ledger_is_balanced",
    "order_movements",
    "shop_balance",
    "shop_movements",
]

"""Reads of the ledger: a shop's balance and movements, and the check that everything balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

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


@dataclass(frozen=True)
class DailyTotals:
    """How what the platform owes a shop (pending + payable) moved day by day, in one currency."""

    currency: str
    # Owed before the first day.
    opening: Decimal
    # (day, change that day), oldest first, one entry per day even without a movement.
    days: list[tuple[date, Decimal]] = field(default_factory=list)


def daily_totals(shop: Shop, days: int, *, today: date | None = None) -> list[DailyTotals]:
    """What the shop is owed, per currency: before the last ``days`` days, then each day's change (days in the
    local time zone, ending ``today``). Two queries; empty before the shop's first movement."""
    today = today or timezone.localdate()
    start = today - timedelta(days=max(days, 1) - 1)
    since = timezone.make_aware(datetime.combine(start, time.min))
    entries = LedgerEntry.objects.filter(shop=shop, account__in=[Account.SHOP_PENDING, Account.SHOP_PAYABLE])
    # Shop accounts are credited (negative) when the shop earns: what it is owed is the opposite.
    opening = {
        row["currency"]: -(row["s"] or Decimal(0))
        for row in entries.filter(transaction__created_at__lt=since).values("currency").annotate(s=Sum("amount"))
    }
    changes: dict[str, dict[date, Decimal]] = {}
    rows = (
        entries.filter(transaction__created_at__gte=since)
        .annotate(day=TruncDate("transaction__created_at"))
        .values("currency", "day")
        .annotate(s=Sum("amount"))
    )
    for row in rows:
        changes.setdefault(row["currency"], {})[row["day"]] = -(row["s"] or Decimal(0))
    result = []
    for currency in sorted(set(opening) | set(changes)):
        series = []
        for offset in range((today - start).days + 1):
            day = start + timedelta(days=offset)
            series.append((day, changes.get(currency, {}).get(day, Decimal(0))))
        result.append(DailyTotals(currency=currency, opening=opening.get(currency, Decimal(0)), days=series))
    return result


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
    "DailyTotals",
    "ShopBalance",
    "account_total",
    "daily_totals",
    "ledger_is_balanced",
    "order_movements",
    "shop_balance",
    "shop_movements",
]

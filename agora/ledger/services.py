"""Writes to the ledger. Each function records one balanced movement, idempotently (by ``key``).

Called by agora.orders inside the transaction that changes the order, so money and order state commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.core.errors import PermissionDenied, ValidationFailed
from agora.core.money import CURRENCIES, check_currency, to_amount
from agora.ledger.errors import LedgerUnbalanced
from agora.ledger.models import Account, Kind, LedgerEntry, LedgerTransaction
from agora.shops.models import Shop

Leg = tuple[str, Shop | None, Decimal]


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the decimals of ``currency`` (2 for EUR, 0 for JPY, 3 for KWD)."""
    exponent = CURRENCIES[currency][0]
    result = amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
    return result.copy_abs() if result.is_zero() else result


def commission_for(*, amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The operator's commission on ``amount`` at ``rate`` (a fraction: 0.10 is 10 %), in whole minor units."""
    return round_money(amount * rate, currency)


def record(
    *,
    kind: str,
    key: str,
    shop: Shop,
    currency: str,
    legs: Sequence[Leg],
    order_id: int | None = None,
    memo: str = "",
) -> LedgerTransaction | None:
    """One balanced movement. Zero legs are dropped; nothing left → nothing recorded (None).

    Raises LedgerUnbalanced if the legs do not sum to zero; returns the existing movement if ``key`` was recorded.
    """
    currency = check_currency(currency)
    rounded = [(account, leg_shop, round_money(amount, currency)) for account, leg_shop, amount in legs]
    rounded = [leg for leg in rounded if not leg[2].is_zero()]
    if sum((amount for _a, _s, amount in rounded), Decimal(0)) != 0:
        raise LedgerUnbalanced(_("A ledger movement must balance (%(key)s).") % {"key": key})
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if not rounded:
        return None
    try:
        with transaction.atomic():
            movement = LedgerTransaction.objects.create(
                kind=kind, key=key, shop=shop, order_id=order_id, currency=currency, memo=memo[:200]
            )
            LedgerEntry.objects.bulk_create(
                LedgerEntry(transaction=movement, account=account, shop=leg_shop, amount=amount, currency=currency)
                for account, leg_shop, amount in rounded
            )
    except IntegrityError:
        # The same key recorded concurrently: the first one stands.
        return LedgerTransaction.objects.get(key=key)
    return movement


def record_order_paid(
    *, shop: Shop, order_id: int, currency: str, total: Decimal, commission: Decimal, memo: str = ""
) -> None:
    """A paid order: the gateway holds ``total`` for the shop (pending delivery), minus the operator's commission."""
    record(
        kind=Kind.ORDER_PAID,
        key=f"order:{order_id}:paid",
        shop=shop,
        order_id=order_id,
        currency=currency,
        memo=memo,
        legs=[(Account.GATEWAY, None, total), (Account.SHOP_PENDING, shop, -total)],
    )
    record(
        kind=Kind.COMMISSION,
        key=f"order:{order_id}:commission",
        shop=shop,
        order_id=order_id,
        currency=currency,
        memo=memo,
        legs=[(Account.SHOP_PENDING, shop, commission), (Account.COMMISSION, None, -commission)],
    )


def _shop_account_of(order_id: int) -> str:
    # Once the payout is due, money for the order sits in shop_payable; before, in shop_pending.
    due = LedgerTransaction.objects.filter(order_id=order_id, kind=Kind.PAYOUT_DUE).exists()
    return Account.SHOP_PAYABLE if due else Account.SHOP_PENDING


def record_refund(
    *,
    shop: Shop,
    order_id: int,
    currency: str,
    amount: Decimal,
    commission_back: Decimal,
    key: str,
    memo: str = "",
) -> None:
    """Money back to the shopper from the shop's share, and the operator's commission on it back to the shop."""
    account = _shop_account_of(order_id)
    record(
        kind=Kind.REFUND,
        key=f"{key}:refund",
        shop=shop,
        order_id=order_id,
        currency=currency,
        memo=memo,
        legs=[(account, shop, amount), (Account.GATEWAY, None, -amount)],
    )
    record(
        kind=Kind.COMMISSION_REFUND,
        key=f"{key}:commission",
        shop=shop,
        order_id=order_id,
        currency=currency,
        memo=memo,
        legs=[(Account.COMMISSION, None, commission_back), (account, shop, -commission_back)],
    )


def record_payout_due(*, shop: Shop, order_id: int, currency: str, memo: str = "") -> None:
    """The order was delivered: what the shop earned on it (net of commission and refunds) becomes payable."""
    pending = LedgerEntry.objects.filter(
        transaction__order_id=order_id, account=Account.SHOP_PENDING, shop=shop, currency=currency
    ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    # Entries of shop accounts are credits (negative); the amount owed is their opposite.
    owed = -pending
    record(
        kind=Kind.PAYOUT_DUE,
        key=f"order:{order_id}:payout_due",
        shop=shop,
        order_id=order_id,
        currency=currency,
        memo=memo,
        legs=[(Account.SHOP_PENDING, shop, owed), (Account.SHOP_PAYABLE, shop, -owed)],
    )
    if owed.is_zero():
        # Nothing to move, but the order's refunds from now on come out of the payable account.
        LedgerTransaction.objects.get_or_create(
            key=f"order:{order_id}:payout_due",
            defaults={"kind": Kind.PAYOUT_DUE, "shop": shop, "order_id": order_id, "currency": currency},
        )


def record_payout(*, actor: User, shop: Shop, amount: object, currency: str, reference: str = "") -> LedgerTransaction:
    """The operator paid ``amount`` out to the shop (operator staff only)."""
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied(_("Only the operator's staff record payouts."))
    currency = check_currency(currency)
    value = to_amount(amount, currency, field="amount")
    if value.is_zero():
        raise ValidationFailed(_("A payout must be more than zero."), code="invalid_amount", field="amount")
    with transaction.atomic():
        # The shop's row lock orders payouts of one shop: two at once cannot both spend the same payable balance.
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        payable = -(
            LedgerEntry.objects.filter(shop=shop, account=Account.SHOP_PAYABLE, currency=currency).aggregate(
                total=Sum("amount")
            )["total"]
            or Decimal(0)
        )
        if value > payable:
            raise ValidationFailed(
                _("The shop is owed %(payable)s %(currency)s; a payout cannot be more.")
                % {"payable": payable, "currency": currency},
                code="payout_too_large",
                field="amount",
            )
        movement = record(
            kind=Kind.PAYOUT,
            key=f"payout:{uuid.uuid4().hex}",
            shop=shop,
            currency=currency,
            memo=reference,
            legs=[(Account.SHOP_PAYABLE, shop, value), (Account.GATEWAY, None, -value)],
        )
    assert movement is not None
    return movement

"""``{% load money %}`` then ``{{ amount|money:currency }}``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from agora.core.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount: object, currency: str = "") -> str:
    """An amount with its currency's symbol and decimals; empty for no amount (a product without variants)."""
    if amount is None or amount == "":
        return ""
    if not isinstance(amount, Decimal):
        try:
            amount = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            return ""
    return format_money(amount, str(currency or ""))

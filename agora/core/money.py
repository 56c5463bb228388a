"""Money: Decimal amounts in an ISO 4217 currency. Never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from agora.core.errors import ValidationFailed

# ISO 4217 code -> (minor unit exponent, symbol). The currencies shops may sell in.
CURRENCIES: dict[str, tuple[int, str]] = {
    "USD": (2, "$"),
    "EUR": (2, "€"),
    "GBP": (2, "£"),
    "RUB": (2, "₽"),
    "UAH": (2, "₴"),
    "PHP": (2, "₱"),
    "PLN": (2, "zł"),
    "CZK": (2, "Kč"),
    "SEK": (2, "kr"),
    "NOK": (2, "kr"),
    "DKK": (2, "kr"),
    "CHF": (2, "CHF"),
    "CAD": (2, "CA$"),
    "AUD": (2, "A$"),
    "NZD": (2, "NZ$"),
    "CNY": (2, "¥"),
    "INR": (2, "₹"),
    "IDR": (2, "Rp"),
    "THB": (2, "฿"),
    "VND": (0, "₫"),
    "JPY": (0, "¥"),
    "KRW": (0, "₩"),
    "BRL": (2, "R$"),
    "MXN": (2, "MX$"),
    "TRY": (2, "₺"),
    "KZT": (2, "₸"),
    "GEL": (2, "₾"),
    "AED": (2, "AED"),
    "SGD": (2, "S$"),
    "HKD": (2, "HK$"),
    "ZAR": (2, "R"),
    "KWD": (3, "KD"),
}
CURRENCY_CHOICES = [(code, code) for code in sorted(CURRENCIES)]
PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# What a DecimalField(max_digits=12, decimal_places=3) column holds, so that no price reaches the database too big.
MAX_AMOUNT = Decimal("999999999.99")


def check_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in CURRENCIES:
        raise ValidationFailed(
            _("Unknown currency '%(code)s'. Use an ISO 4217 code such as USD, EUR or RUB.") % {"code": code},
            code="unknown_currency",
            field="currency",
        )
    return code


def to_amount(value: object, currency: str, *, field: str = "price") -> Decimal:
    """Parse ``value`` as an amount in ``currency``: not negative, no more decimals than the currency has."""
    if isinstance(value, float):
        # Floats cannot represent most prices exactly; callers pass str or Decimal.
        value = str(value)
    text = str(value).strip()
    try:
        if not isinstance(value, Decimal) and not PLAIN_DECIMAL.fullmatch(text):
            # Decimal() also takes "1e3", "1_000" and non-ASCII digits; a price is written plainly.
            raise ValueError(text)
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("'%(value)s' is not a number.") % {"value": value}, code="invalid_amount", field=field
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(_("The amount must be a finite number."), code="invalid_amount", field=field)
    if amount < 0:
        raise ValidationFailed(_("The amount cannot be negative."), code="negative_amount", field=field)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(
            _("The amount cannot exceed %(max)s.") % {"max": MAX_AMOUNT}, code="amount_too_large", field=field
        )
    exponent = CURRENCIES[check_currency(currency)][0]
    quantum = Decimal(1).scaleb(-exponent)
    if amount != amount.quantize(quantum, rounding=ROUND_HALF_UP):
        raise ValidationFailed(
            ngettext(
                "%(currency)s amounts have at most %(count)d decimal place.",
                "%(currency)s amounts have at most %(count)d decimal places.",
                exponent,
            )
            % {"currency": currency, "count": exponent},
            code="too_many_decimals",
            field=field,
        )
    result = amount.quantize(quantum)
    # "-0" parses as a negative zero, which would be stored and shown as "-0.00".
    return result.copy_abs() if result.is_zero() else result


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    exponent, symbol = CURRENCIES.get(currency, (2, currency))
    quantized = amount.quantize(Decimal(1).scaleb(-exponent))
    return f"{symbol}{quantized:,}" if len(symbol) <= 2 else f"{quantized:,} {symbol}"

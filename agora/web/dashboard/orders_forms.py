"""Forms of the seller dashboard's delivery, orders and money pages. They parse; the services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from agora.shipping.services import MAX_DAYS

# ASCII digits only: str.isdigit() also takes "²", which int() refuses.
LINE_ID = re.compile(r"[0-9]{1,18}")
QUANTITY = re.compile(r"[0-9]{1,9}")


# --- delivery ---------------------------------------------------------------------------
class ZoneForm(forms.Form):
    name = forms.CharField(label=_("Zone name"), max_length=80)
    countries = forms.CharField(
        label=_("Countries"),
        max_length=2000,
        required=False,
        help_text=_("Two-letter codes separated by commas: DE, AT, CH"),
    )
    everywhere_else = forms.BooleanField(
        label=_("Also everywhere else"),
        required=False,
        help_text=_("Covers every country that no other zone lists."),
    )

    def zone_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "countries": (data.get("countries") or "").replace(",", " ").split(),
            "everywhere_else": bool(data.get("everywhere_else")),
        }


class MethodForm(forms.Form):
    """``price`` and ``free_over`` are parsed by the service: their decimals depend on the shop's currency."""

    name = forms.CharField(label=_("Name"), max_length=80)
    price = forms.CharField(label=_("Price"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    free_over = forms.CharField(
        label=_("Free from"),
        max_length=20,
        required=False,
        help_text=_("Free when the shop subtotal reaches this amount."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    min_days = forms.IntegerField(label=_("Days, from"), min_value=0, max_value=MAX_DAYS, initial=1)
    max_days = forms.IntegerField(label=_("Days, to"), min_value=0, max_value=MAX_DAYS, initial=5)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def method_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "price": data["price"],
            "free_over": data.get("free_over") or None,
            "min_days": data["min_days"],
            "max_days": data["max_days"],
            "is_active": bool(data.get("is_active")),
        }


# --- orders ---------------------------------------------------------------------------------
class ShipForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)
    note = forms.CharField(label=_("Note to the shopper"), max_length=2000, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class RefundForm(forms.Form):
    """A refund of chosen lines (``line_<id>`` quantities) or of an amount; neither refunds everything left."""

    amount = forms.CharField(
        label=_("Amount"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to refund the lines chosen above (or everything left)."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)
    restock = forms.BooleanField(
        label=_("Put the refunded items back in stock"), required=False, help_text=_("Usually: not shipped yet.")
    )
    # A new one with every page: the same form sent twice (a double click, a reload) refunds once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255, required=False)

    def lines(self, data: Any) -> dict[int, int]:
        chosen: dict[int, int] = {}
        for key in data:
            if not key.startswith("line_"):
                continue
            if not LINE_ID.fullmatch(key[5:]):
                raise forms.ValidationError(_("The form names a line this order does not have. Reload the page."))
            value = str(data.get(key) or "").strip()
            if value and value != "0":
                if not QUANTITY.fullmatch(value):
                    raise forms.ValidationError(_("Quantities are whole numbers."))
                chosen[int(key[5:])] = int(value)
        return chosen


class SalesPolicyForm(forms.Form):
    return_window_days = forms.IntegerField(
        label=_("Return window (days after delivery)"),
        min_value=0,
        max_value=365,
        help_text=_("0: no returns. Shoppers can ask for a return this many days after delivery."),
    )

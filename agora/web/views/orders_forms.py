"""Forms of the buying pages. They parse what the browser sent; the orders services decide what is allowed."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries as all_countries

from agora.payments.services import payment_methods

# An id or a count as the browser sends it: ASCII digits only (str.isdigit() also takes "²", which int() refuses).
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")

# The form field of each address field the orders services name in their errors ("address.city").
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postcode", "country", "phone")


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def country_choices() -> list[tuple[str, str]]:
    return [("", str(_("Choose a country")))] + [(code, str(name)) for code, name in all_countries]


class CheckoutForm(forms.Form):
    """Who, where and how to pay. The delivery choice per shop comes as ``delivery_<shop id>`` (see
    ``delivery_choices``): the shops of a cart are not known when the form class is built."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_("For the order confirmation and a link to follow your order."),
    )
    name = forms.CharField(label=_("Full name"), max_length=120)
    line1 = forms.CharField(label=_("Address"), max_length=200)
    line2 = forms.CharField(label=_("Address, line 2"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.ChoiceField(label=_("Country"), choices=())
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        help_text=_("For the courier, if they need to reach you."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    payment_method = forms.ChoiceField(label=_("Payment"), choices=(), widget=forms.RadioSelect)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3, required=False)

    def __init__(self, *args: Any, guest: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not guest:
            # A signed-in shopper's confirmation goes to their account's address.
            del self.fields["email"]
        self.fields["country"].choices = country_choices()  # type: ignore[attr-defined]
        self.options = payment_methods()
        self.fields["payment_method"].choices = [(o.code, o.label) for o in self.options]  # type: ignore[attr-defined]
        if self.options and not self.initial.get("payment_method"):
            self.initial["payment_method"] = self.options[0].code
        self.fields["country"].widget.attrs.update({"data-refresh-totals": "", "autocomplete": "country"})
        autocomplete = {
            "name": "name",
            "line1": "address-line1",
            "line2": "address-line2",
            "postcode": "postal-code",
            "city": "address-level2",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        if "email" in self.fields:
            self.fields["email"].widget.attrs["autocomplete"] = "email"

    @property
    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ADDRESS_FIELDS]

    def address(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in ADDRESS_FIELDS}


def delivery_choices(data: Any) -> dict[int, int]:
    """``delivery_<shop id>=<method id>`` pairs from a form or a query string; junk is ignored."""
    chosen: dict[int, int] = {}
    for key in data:
        if not key.startswith("delivery_"):
            continue
        shop_id, method_id = key.removeprefix("delivery_"), str(data.get(key) or "")
        if WHOLE_NUMBER.fullmatch(shop_id) and WHOLE_NUMBER.fullmatch(method_id):
            chosen[int(shop_id)] = int(method_id)
    return chosen


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Tell the shop what went wrong."),
    )

    def __init__(self, *args: Any, required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        if not required:
            self.fields["reason"].help_text = ""


class PayAgainForm(forms.Form):
    payment_method = forms.ChoiceField(label=_("Payment"), choices=(), widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = payment_methods()
        self.fields["payment_method"].choices = [(o.code, o.label) for o in self.options]  # type: ignore[attr-defined]
        if self.options and not self.initial.get("payment_method"):
            self.initial["payment_method"] = self.options[0].code


class DirectCheckoutForm(CheckoutForm):
    """Checkout of one item outside the cart (a deal): address, payment and one delivery method. Signed-in only."""

    delivery_method = forms.RegexField(regex=r"^[0-9]{1,18}$", required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["guest"] = False
        super().__init__(*args, **kwargs)
        del self.fields["currency"]

    def delivery_method_id(self) -> int | None:
        value = self.cleaned_data.get("delivery_method") or ""
        return int(value) if value else None

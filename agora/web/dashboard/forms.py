"""Forms of the seller dashboard. They parse what the browser sent; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from agora.catalog.models import Category
from agora.catalog.selectors import category_tree
from agora.catalog.services import MAX_IMAGES, MAX_STOCK, MAX_WEIGHT_GRAMS
from agora.core.errors import ValidationFailed
from agora.core.images import clean_image
from agora.core.money import CURRENCY_CHOICES
from agora.shops.models import Role, Shop


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several pictures from one ``<input type=file multiple>``."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned: list[UploadedFile] = []
        for upload in files:
            cleaned.append(super().clean(upload, initial))
        return cleaned


def parse_options(text: str) -> dict[str, str]:
    """``"size=M, colour=red"`` -> ``{"size": "M", "colour": "red"}``."""
    options: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise forms.ValidationError(
                _("Write options as name=value pairs separated by commas, such as: size=M, colour=red."),
                code="invalid_options",
            )
        options[key.strip().lower()] = value.strip()
    return options


def format_options(options: dict[str, Any] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in (options or {}).items())


def parse_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def category_choices() -> list[tuple[str, Any]]:
    """The category tree as a flat list of choices, each level indented under its parent."""
    choices: list[tuple[str, Any]] = [("", _("— No category —"))]

    def walk(nodes: list[Category], depth: int) -> None:
        for node in nodes:
            choices.append((str(node.pk), "\u00a0\u00a0\u00a0" * depth + node.name))
            walk(getattr(node, "children_list", []), depth + 1)

    walk(category_tree(), 0)
    return choices


def _category_id(value: str) -> int | None:
    return int(value) if value else None


# --- shops -----------------------------------------------------------------------------
class ShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=120)
    slug = forms.CharField(
        label=_("Address"),
        max_length=60,
        required=False,
        help_text=_("Lowercase letters, digits and dashes; it appears in your shop's web address."),
    )
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[("", "---------"), *CURRENCY_CHOICES],
        help_text=_("Prices of your products are in this currency."),
    )
    country = Shop._meta.get_field("country").formfield(label=_("Country"))


class ShopCreateForm(ShopForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = _("Optional: made from the name when left empty.")


class ShopSettingsForm(ShopForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = True


class LogoForm(forms.Form):
    logo = forms.FileField(label=_("Logo"), help_text=_("A JPEG, PNG, WebP or GIF picture."))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MANAGER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


# --- products --------------------------------------------------------------------------
class VariantFieldsMixin(forms.Form):
    """The fields of a variant. ``price`` is parsed by the service: decimals depend on the shop's currency."""

    sku = forms.CharField(label=_("SKU"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    options = forms.CharField(
        label=_("Options"), max_length=500, required=False, help_text=_("For example: size=M, colour=red")
    )
    price = forms.CharField(label=_("Price"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    stock_quantity = forms.IntegerField(label=_("Stock"), min_value=0, max_value=MAX_STOCK, initial=0)
    weight_grams = forms.IntegerField(
        label=_("Weight (g)"), min_value=0, max_value=MAX_WEIGHT_GRAMS, initial=0, required=False
    )

    def clean_options(self) -> dict[str, str]:
        return parse_options(self.cleaned_data.get("options") or "")

    def clean_weight_grams(self) -> int:
        return self.cleaned_data.get("weight_grams") or 0

    def variant_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "sku": data["sku"],
            "name": data.get("name", ""),
            "options": data.get("options") or {},
            "price": data["price"],
            "stock_quantity": data["stock_quantity"],
            "weight_grams": data.get("weight_grams") or 0,
        }


class ProductDetailsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    category_id = forms.TypedChoiceField(
        label=_("Category"), choices=(), coerce=_category_id, empty_value=None, required=False
    )
    tags = forms.CharField(
        label=_("Tags"), max_length=1000, required=False, help_text=_("Separated by commas: linen, summer, gift")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = category_choices()  # type: ignore[attr-defined]

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")


class ProductEditForm(ProductDetailsForm):
    slug = forms.CharField(
        label=_("Address"),
        max_length=80,
        help_text=_("Lowercase letters, digits and dashes; part of the page address."),
    )


class ProductCreateForm(ProductDetailsForm, VariantFieldsMixin):
    """A product and its first variant, created together as a draft."""

    PRODUCT_FIELDS = ("title", "description", "category_id", "tags")

    @property
    def product_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.PRODUCT_FIELDS]

    @property
    def variant_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.PRODUCT_FIELDS]


class VariantForm(VariantFieldsMixin):
    pass


class StockForm(forms.Form):
    stock_quantity = forms.IntegerField(label=_("Stock"), min_value=0, max_value=MAX_STOCK)


class PhotoUploadForm(forms.Form):
    images = MultipleImageField(
        label=_("Add photos"), help_text=_("JPEG, PNG, WebP or GIF; several at once if you like.")
    )

    def __init__(self, *args: Any, existing: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing = existing

    def clean_images(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["images"]
        room = MAX_IMAGES - self.existing
        if len(files) > room:
            raise forms.ValidationError(
                _("A product has at most %(max)d photos; you can add %(room)d more."),
                params={"max": MAX_IMAGES, "room": max(room, 0)},
                code="too_many",
            )
        # Every file is checked before any is stored, so a bad one in a batch adds none.
        for upload in files:
            try:
                clean_image(upload, field="images")
            except ValidationFailed as exc:
                raise forms.ValidationError(f"{upload.name}: {exc.message}", code=exc.code) from None
            finally:
                upload.seek(0)
        return files

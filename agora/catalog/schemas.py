"""API shapes for the catalog. Prices travel as decimal strings next to their currency, never as floats."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import BeforeValidator, Strict, WithJsonSchema

from agora.accounts.schemas import absolute_file_url
from agora.api.schemas import InputSchema, Text
from agora.core.money import CURRENCIES
from agora.shops.permissions import ShopAction
from agora.shops.schemas import ShopRefOut
from agora.shops.selectors import can

Sort = Literal["newest", "price_asc", "price_desc", "popular"]


def money_str(amount: Decimal | None, currency: str) -> str | None:
    """``amount`` with exactly as many decimals as ``currency`` has: "19.90" EUR, "1500" JPY."""
    if amount is None:
        return None
    exponent = CURRENCIES.get(currency, (2, ""))[0]
    return str(amount.quantize(Decimal(1).scaleb(-exponent)))


def _price_in(value: Any) -> Any:
    # bool is an int in Python; a price of `true` is a mistake, not 1.
    if isinstance(value, bool):
        raise ValueError(_('A price is a decimal string such as "19.90".'))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A JSON number with a fraction has already been rounded to binary by the parser.
        raise ValueError(
            _('Send prices as decimal strings such as "19.90": JSON numbers with a fraction are not exact.')
        )
    return value


Price = Annotated[
    str,
    BeforeValidator(_price_in),
    Field(min_length=1, max_length=32),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,10}(\.\d{1,3})?$", "examples": ["19.90"]},
                {"type": "integer", "minimum": 0, "maximum": 9_999_999_999},
            ],
            "description": 'A decimal string in the shop\'s currency, e.g. "19.90" (a whole number is accepted).',
        }
    ),
]
Quantity = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Options = Annotated[dict[str, str], Field(max_length=10)]


# --- out -----------------------------------------------------------------------------
class CategoryRefOut(Schema):
    id: int
    slug: str
    name: str


class CategoryNodeOut(Schema):
    id: int
    slug: str
    name: str
    parent_id: int | None
    children: list[CategoryNodeOut]

    @staticmethod
    def resolve_children(obj: Any) -> list[Any]:
        return list(getattr(obj, "children_list", []))


class CategoryOut(Schema):
    id: int
    slug: str
    name: str
    parent_id: int | None


class PhotoOut(Schema):
    id: int
    url: str | None
    thumbnail_small: str | None
    thumbnail_medium: str | None
    width: int
    height: int
    alt: str
    position: int

    @staticmethod
    def resolve_url(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.image, context)

    @staticmethod
    def resolve_thumbnail_small(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.thumbnail_small, context)

    @staticmethod
    def resolve_thumbnail_medium(obj: Any, context: Any) -> str | None:
        return absolute_file_url(obj.thumbnail_medium, context)


class VariantOut(Schema):
    id: int
    sku: str
    name: str
    options: dict[str, str]
    price: str = Field(..., description='Decimal string in `currency`, e.g. "19.90".')
    currency: str
    in_stock: bool
    stock_quantity: int | None = Field(None, description="Units in stock; shown to the shop's staff only.")
    weight_grams: int
    is_active: bool

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return money_str(obj.price, obj.shop.currency)

    @staticmethod
    def resolve_currency(obj: Any) -> str:
        return str(obj.shop.currency)

    @staticmethod
    def resolve_stock_quantity(obj: Any, context: Any) -> int | None:
        request = (context or {}).get("request")
        viewer = getattr(request, "auth", None)
        return int(obj.stock_quantity) if can(viewer, obj.shop, ShopAction.VIEW_DRAFTS) else None


class ProductCardOut(Schema):
    """A product in a list: enough for a card, from a fixed number of queries."""

    id: int
    slug: str
    title: str
    status: str
    shop: ShopRefOut
    category: CategoryRefOut | None
    price_from: str | None = Field(None, description="Lowest price of its active variants, in `currency`.")
    currency: str
    photo: PhotoOut | None
    popularity: int
    published_at: datetime | None

    @staticmethod
    def resolve_price_from(obj: Any) -> str | None:
        return money_str(getattr(obj, "price_from", None), obj.shop.currency)

    @staticmethod
    def resolve_currency(obj: Any) -> str:
        return str(obj.shop.currency)

    @staticmethod
    def resolve_photo(obj: Any) -> Any:
        photos = getattr(obj, "photo_list", None)
        if photos is None:
            photos = list(obj.images.all())
        return photos[0] if photos else None


class ProductOut(ProductCardOut):
    description: str
    tags: list[str]
    photos: list[PhotoOut]
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_price_from(obj: Any) -> str | None:
        prices = [v.price for v in obj.variants.all() if v.is_active]
        return money_str(min(prices), obj.shop.currency) if prices else None

    @staticmethod
    def resolve_photo(obj: Any) -> Any:
        photos = list(obj.images.all())
        return photos[0] if photos else None

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return list(obj.images.all())


class StockRowOut(Schema):
    variant_id: int
    sku: str
    name: str
    product_id: int
    product_title: str
    stock_quantity: int
    is_active: bool
    low: bool = Field(..., description="At or under the `low` threshold of the request.")

    @staticmethod
    def resolve_variant_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_product_title(obj: Any) -> str:
        return str(obj.product.title)

    @staticmethod
    def resolve_low(obj: Any) -> bool:
        return bool(obj.is_low)


# --- in ------------------------------------------------------------------------------
class ProductFilters(Schema):
    q: Text = Field("", max_length=200, description="Words to find in the title, description, tags or shop name.")
    category: Text = Field("", max_length=80, description="A category slug; its subcategories are included.")
    shop: Text = Field("", max_length=80, description="A shop slug.")
    tag: Text = Field("", max_length=40)
    sort: Sort = "newest"


class ShopProductFilters(Schema):
    q: Text = Field("", max_length=200)
    status: Literal["", "draft", "published"] = Field("", description="Only products in this state (staff).")
    sort: Sort = "newest"


class StockFilters(Schema):
    low: int = Field(5, ge=0, le=1_000_000, description="Rows at or under this quantity are flagged `low`.")


class VariantIn(InputSchema):
    sku: str = Field(..., max_length=200)
    price: Price
    name: str = Field("", max_length=500)
    options: Options = Field(default_factory=dict, description='Up to 10 pairs such as {"size": "M"}.')
    stock_quantity: Quantity = 0
    weight_grams: Quantity = 0


class VariantPatchIn(InputSchema):
    sku: str | None = Field(None, max_length=200)
    price: Price | None = None
    name: str | None = Field(None, max_length=500)
    options: Options | None = None
    stock_quantity: Quantity | None = None
    weight_grams: Quantity | None = None
    is_active: bool | None = None


class ProductIn(InputSchema):
    title: str = Field(..., max_length=1000)
    description: str = Field("", max_length=40000)
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    tags: list[str] = Field(default_factory=list, max_length=100)
    slug: str = Field("", max_length=200)
    variants: list[VariantIn] = Field(default_factory=list, max_length=100)


class ProductPatchIn(InputSchema):
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=40000)
    category_id: int | None = Field(None, ge=1, le=2**63 - 1, description="null removes the category.")
    tags: list[str] | None = Field(None, max_length=100)
    slug: str | None = Field(None, max_length=200)


class CategoryIn(InputSchema):
    name: str = Field(..., max_length=500)
    slug: str = Field("", max_length=200)
    parent_id: int | None = Field(None, ge=1, le=2**63 - 1)

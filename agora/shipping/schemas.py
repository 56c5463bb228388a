"""API shapes for delivery. Amounts travel as decimal strings in the shop's currency, never as floats."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema

from agora.api.schemas import InputSchema, Text
from agora.catalog.schemas import Price, money_str

Days = Annotated[int, Field(ge=0, le=365)]


class DeliveryQuoteOut(Schema):
    method_id: int
    name: str
    zone: str
    cost: str = Field(..., description='What this delivery costs for the given subtotal, e.g. "4.90" (or "0.00").')
    currency: str
    is_free: bool
    price: str = Field(..., description="The method's price before any free-delivery threshold.")
    free_over: str | None = Field(None, description="Delivery is free from this shop subtotal on.")
    min_days: int
    max_days: int

    @staticmethod
    def resolve_zone(obj: Any) -> str:
        return str(obj.zone_name)

    @staticmethod
    def resolve_cost(obj: Any) -> str | None:
        return money_str(obj.cost, obj.currency)

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return money_str(obj.price, obj.currency)

    @staticmethod
    def resolve_free_over(obj: Any) -> str | None:
        return money_str(obj.free_over, obj.currency)


class DeliveryMethodOut(Schema):
    id: int
    zone_id: int
    name: str
    price: str
    free_over: str | None
    currency: str
    min_days: int
    max_days: int
    is_active: bool
    position: int

    @staticmethod
    def resolve_price(obj: Any) -> str | None:
        return money_str(obj.price, obj.shop.currency)

    @staticmethod
    def resolve_free_over(obj: Any) -> str | None:
        return money_str(obj.free_over, obj.shop.currency)

    @staticmethod
    def resolve_currency(obj: Any) -> str:
        return str(obj.shop.currency)


class DeliveryZoneOut(Schema):
    id: int
    name: str
    countries: list[str] = Field(..., description="ISO 3166 alpha-2 codes.")
    everywhere_else: bool = Field(..., description="Also covers every country no other zone of the shop lists.")
    position: int
    methods: list[DeliveryMethodOut]

    @staticmethod
    def resolve_methods(obj: Any) -> list[Any]:
        return list(obj.methods.all())


class DeliveryFilters(Schema):
    country: Text = Field(..., min_length=1, max_length=8, description="ISO 3166 alpha-2 code, e.g. DE.")
    subtotal: Text = Field("0", max_length=32, description='The shop subtotal of the basket, e.g. "42.50".')


class DeliveryZoneIn(InputSchema):
    name: str = Field(..., max_length=200)
    countries: list[str] = Field(default_factory=list, max_length=300, description='ISO codes, e.g. ["DE", "AT"].')
    everywhere_else: bool = False


class DeliveryZonePatchIn(InputSchema):
    name: str | None = Field(None, max_length=200)
    countries: list[str] | None = Field(None, max_length=300)
    everywhere_else: bool | None = None


class DeliveryMethodIn(InputSchema):
    name: str = Field(..., max_length=200)
    price: Price
    free_over: Price | None = Field(None, description="Free delivery from this shop subtotal on; null for never.")
    min_days: Days = 1
    max_days: Days = 5
    is_active: bool = True


class DeliveryMethodPatchIn(InputSchema):
    name: str | None = Field(None, max_length=200)
    price: Price | None = None
    free_over: Price | None = None
    min_days: Days | None = None
    max_days: Days | None = None
    is_active: bool | None = None

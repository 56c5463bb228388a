"""API shapes of flash deals. Amounts are decimal strings in the deal's currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.contrib.auth.models import AnonymousUser
from ninja import Field, Schema
from pydantic import Strict

from agora.api.schemas import Id
from agora.catalog.schemas import Price, money_str
from agora.orders.schemas import AddressIn, Body
from agora.promotions import selectors
from agora.promotions.models import EarlyAccess
from agora.shops.schemas import ShopRefOut

WholeNumber = Annotated[int, Strict()]
EarlyAccessChoice = Annotated[str, Field(max_length=16, description=f"One of: {', '.join(EarlyAccess.values)}.")]


class FlashDealIn(Body):
    variant_id: Id
    deal_price: Price = Field(..., description="Lower than the variant's price, more than zero.")
    quantity: WholeNumber = Field(..., description="Units sold at the deal price.")
    starts_at: datetime = Field(..., description="ISO 8601; without an offset, the server's time zone.")
    ends_at: datetime
    per_user_limit: WholeNumber = Field(1, description="Units one buyer may hold (orders not closed unpaid).")
    early_access: EarlyAccessChoice = Field(EarlyAccess.NONE.value)
    early_minutes: WholeNumber = Field(0, description="How early the early buyers get in (1-1440 with early access).")


class FlashDealPatchIn(Body):
    deal_price: Price | None = None
    quantity: WholeNumber | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_user_limit: WholeNumber | None = None
    early_access: EarlyAccessChoice | None = None
    early_minutes: WholeNumber | None = None


class FlashBuyIn(Body):
    quantity: WholeNumber = Field(1, description="Up to the deal's limit per buyer.")
    address: AddressIn
    payment_method: str = Field(..., max_length=40, description="A `code` from GET /payments/methods.")
    delivery_method_id: Id | None = Field(
        None, description="One of the shop's methods for the country; default the cheapest."
    )


class FlashStateOut(Schema):
    status: str = Field(..., description='"upcoming", "early" (early access open), "live", "sold_out" or "over".')
    opens_at: datetime = Field(..., description="When you may buy: the start, or earlier with early access.")
    starts_in_seconds: int | None = Field(None, description="Until `opens_at`, while it is ahead.")
    left: int
    can_buy: bool
    early_for_you: bool
    why_not: str = Field("", description="Why you cannot buy now (empty when you can).")

    @staticmethod
    def resolve_starts_in_seconds(obj: selectors.DealState) -> int | None:
        return int(obj.starts_in.total_seconds()) if obj.starts_in is not None else None

    @staticmethod
    def resolve_early_for_you(obj: selectors.DealState) -> bool:
        return obj.early_for_viewer


class FlashDealOut(Schema):
    id: int
    shop: ShopRefOut
    variant_id: int
    product_id: int
    product_title: str
    product_slug: str
    variant_name: str
    currency: str
    deal_price: str
    regular_price: str
    quantity: int
    sold: int
    left: int
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int
    early_access: str
    early_minutes: int
    is_active: bool = Field(..., description="False once the shop ended the deal.")
    state: FlashStateOut = Field(..., description="Where the deal stands for you now.")

    @staticmethod
    def resolve_product_id(obj: Any) -> int:
        return int(obj.variant.product_id)

    @staticmethod
    def resolve_product_title(obj: Any) -> str:
        return str(obj.variant.product.title)

    @staticmethod
    def resolve_product_slug(obj: Any) -> str:
        return str(obj.variant.product.slug)

    @staticmethod
    def resolve_variant_name(obj: Any) -> str:
        return str(obj.variant.name or obj.variant.sku)

    @staticmethod
    def resolve_deal_price(obj: Any) -> str | None:
        return money_str(obj.deal_price, obj.currency)

    @staticmethod
    def resolve_regular_price(obj: Any) -> str | None:
        return money_str(obj.variant.price, obj.currency)

    @staticmethod
    def resolve_state(obj: Any, context: Any) -> selectors.DealState:
        state = getattr(obj, "state", None)
        if state is None:
            request = (context or {}).get("request")
            viewer = getattr(request, "auth", None) or AnonymousUser()
            # Early access depends on the shop and its kind only: look it up once per request, not per deal.
            cache: dict[tuple[str, int], bool] = request.__dict__.setdefault("_flash_early", {}) if request else {}
            key = (obj.early_access, obj.shop_id)
            if key not in cache:
                cache[key] = obj.pk in selectors.early_deal_ids([obj], viewer)
            state = selectors.deal_state(obj, viewer, early=cache[key])
            obj.state = state
        return state

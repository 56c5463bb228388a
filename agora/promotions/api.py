"""Flash deals under /api/v1/: what is on and coming (public), a shop's deals for its staff, and buying one.

`POST /flash-deals/{id}/buy` takes an `Idempotency-Key` header like `POST /checkout`: a retry gets the first
answer and never buys or charges twice.
"""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.pagination import paginate

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of, viewer_of
from agora.api.pagination import PagePagination
from agora.api.schemas import ErrorOut, Id, Slug, responses
from agora.idempotency.api import idempotent_api_call
from agora.orders import selectors as order_selectors
from agora.orders.schemas import CheckoutOut
from agora.promotions import selectors, services
from agora.promotions.models import FlashDeal
from agora.promotions.schemas import FlashBuyIn, FlashDealIn, FlashDealOut, FlashDealPatchIn
from agora.shops import selectors as shop_selectors

router = Router(tags=["flash deals"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}
LIST_LIMIT = 50


def _out(request: HttpRequest, deal: FlashDeal) -> FlashDealOut:
    return FlashDealOut.from_orm(deal, context={"request": request})


@router.get("flash-deals", **PUBLIC, response=responses({200: list[FlashDealOut]}))
def list_flash_deals(request: HttpRequest) -> list[FlashDeal]:
    """Deals on now (ending soonest first, sold out ones too until they end), then the coming ones (starting
    soonest first); at most 50 of each. `state` says whether you can buy now (early access included)."""
    viewer = viewer_of(request)
    deals = [*selectors.live_flash_deals(limit=LIST_LIMIT), *selectors.upcoming_flash_deals(limit=LIST_LIMIT)]
    return selectors.with_states(deals, viewer)


@router.get("shops/{slug}/flash-deals", **PUBLIC, response=responses({200: list[FlashDealOut]}))
@paginate(PagePagination)
def list_shop_flash_deals(request: HttpRequest, slug: Slug) -> Any:
    """The shop's deals: every one of them, newest first, for its staff; the live and coming ones for others."""
    viewer = viewer_of(request)
    shop = shop_selectors.get_shop(slug, viewer=viewer)
    return selectors.shop_flash_deals(shop, viewer)


@router.post("shops/{slug}/flash-deals", response=responses({201: FlashDealOut}))
def create_flash_deal(request: HttpRequest, slug: Slug, payload: FlashDealIn) -> Status[FlashDealOut]:
    """A new flash deal on one of the shop's variants (owner or manager)."""
    user = user_of(request)
    shop = shop_selectors.get_shop(slug, viewer=user)
    deal = services.create_flash_deal(actor=user, shop=shop, **payload.model_dump())
    return Status(201, _out(request, selectors.get_flash_deal(deal_id=deal.pk, viewer=user)))


@router.get("flash-deals/{flash_deal_id}", **PUBLIC, response=responses({200: FlashDealOut}))
def get_flash_deal(request: HttpRequest, flash_deal_id: Id) -> FlashDealOut:
    return _out(request, selectors.get_flash_deal(deal_id=flash_deal_id, viewer=viewer_of(request)))


@router.patch("flash-deals/{flash_deal_id}", response=responses({200: FlashDealOut}))
def update_flash_deal(request: HttpRequest, flash_deal_id: Id, payload: FlashDealPatchIn) -> FlashDealOut:
    """Change a deal that is not over (owner or manager); the quantity cannot go below the units sold."""
    user = user_of(request)
    deal = selectors.get_flash_deal(deal_id=flash_deal_id, viewer=user)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    services.update_flash_deal(actor=user, deal=deal, **changes)
    return _out(request, selectors.get_flash_deal(deal_id=flash_deal_id, viewer=user))


@router.post("flash-deals/{flash_deal_id}/end", response=responses({200: FlashDealOut}))
def end_flash_deal(request: HttpRequest, flash_deal_id: Id) -> FlashDealOut:
    """End the deal now (owner or manager). Orders already placed keep their price."""
    user = user_of(request)
    deal = selectors.get_flash_deal(deal_id=flash_deal_id, viewer=user)
    services.end_flash_deal(actor=user, deal=deal)
    return _out(request, selectors.get_flash_deal(deal_id=flash_deal_id, viewer=user))


@router.post("flash-deals/{flash_deal_id}/buy", response=responses({201: CheckoutOut, 402: ErrorOut}))
def buy_flash_deal(request: HttpRequest, flash_deal_id: Id, payload: FlashBuyIn) -> HttpResponse:
    """Buy at the deal price through the normal checkout, paid at once. Send an `Idempotency-Key` header.

    409 `flash_deal_not_started` / `flash_deal_early_access` / `flash_deal_over` / `sold_out`; 409
    `limit_reached` with `may_still_buy`; 402 `payment_declined` (the order was cancelled, the units returned).
    """
    user = user_of(request)
    deal = selectors.get_flash_deal(deal_id=flash_deal_id, viewer=user, include_ended=True)

    def work() -> tuple[int, Any]:
        checkout = services.buy_flash_deal(
            actor=user,
            deal=deal,
            quantity=payload.quantity,
            address=payload.address.model_dump(),
            payment_method=payload.payment_method,
            delivery_method_id=payload.delivery_method_id,
        )
        fresh = order_selectors.checkout_for(public_id=checkout.public_id, user=user, guest_token="")
        return 201, CheckoutOut.from_orm(fresh, context={"request": request})

    return idempotent_api_call(request, payload=payload, work=work)

"""Page-number pagination for every list endpoint.

``?page=&page_size=`` in; ``items``, ``count``, ``page``, ``pages``, ``next`` and ``previous`` out.

Two queries per page whatever its size: one COUNT and one for the rows (plus the prefetches the
selector asks for). A page past the end is an empty page, not an error; a bad page number is a 422.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

# Far beyond any real catalogue, and keeps OFFSET inside a 64-bit integer on every database.
MAX_PAGE = 1_000_000


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
        page_size: int = Field(
            settings.AGORA_API_PAGE_SIZE,
            ge=1,
            le=settings.AGORA_API_MAX_PAGE_SIZE,
            description=f"Items per page, 1 to {settings.AGORA_API_MAX_PAGE_SIZE}.",
        )

    class Output(Schema):
        items: list[Any]
        count: int = Field(..., description="Number of items on all pages.")
        page: int
        pages: int = Field(..., description="Number of pages (0 when there are no items).")
        next: str | None = Field(..., description="URL of the next page, or null on the last one.")
        previous: str | None = Field(..., description="URL of the previous page, or null on the first one.")

    items_attribute: str = "items"

    def paginate_queryset(
        self,
        queryset: QuerySet[Any] | list[Any],
        pagination: Any,
        request: HttpRequest,
        **params: Any,
    ) -> dict[str, Any]:
        page, size = pagination.page, pagination.page_size
        count = self._items_count(queryset)  # type: ignore[arg-type]
        pages = ceil(count / size) if count else 0
        offset = (page - 1) * size
        items = list(queryset[offset : offset + size]) if offset < count else []
        return {
            "items": items,
            "count": count,
            "page": page,
            "pages": pages,
            "next": _page_url(request, page + 1) if page < pages else None,
            "previous": _page_url(request, min(page - 1, max(pages, 1))) if page > 1 else None,
        }


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

"""Small helpers shared by the web views (and usable by the dashboard)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from agora.catalog.selectors import SORTS
from agora.core.http import client_ip

__all__ = ["client_ip"]


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter if it points at this site, else ``fallback`` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def paginate(request: HttpRequest, items: QuerySet[Any], per_page: int | None = None) -> Page:
    """The requested page; a missing, bad or too large number gives the first or last page."""
    paginator = Paginator(items, per_page or settings.AGORA_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def sort_param(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "newest")
    return sort if sort in SORTS else "newest"


def page_canonical(request: HttpRequest, page: Page | None = None) -> str:
    """The canonical URL of a listing: its path, plus ``?page=N`` past the first page; other parameters dropped."""
    url = settings.SITE_URL + request.path
    if page is not None and page.number > 1:
        url += f"?page={page.number}"
    return url

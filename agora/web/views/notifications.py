"""The notifications page: what happened, newest first, and the bell's count."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from agora.notifications import selectors, services
from agora.web.views.common import paginate

PER_PAGE = 30


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("filter") == "unread"
    items = selectors.notifications_of(request.user, unread_only=unread_only)  # type: ignore[arg-type]
    page = paginate(request, items, per_page=PER_PAGE)
    return render(
        request,
        "web/notifications/list.html",
        {"page_obj": page, "notifications": page.object_list, "unread_only": unread_only},
    )


@login_required
@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    services.mark_all_read(user=request.user)  # type: ignore[arg-type]
    return redirect("web:notifications")


@login_required
@require_POST
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark it read and go where it points (only ever to a page of this site)."""
    item = services.mark_read(user=request.user, notification_id=notification_id)  # type: ignore[arg-type]
    target = item.url if item.url and url_has_allowed_host_and_scheme(item.url, allowed_hosts=None) else ""
    return redirect(target or "web:notifications")

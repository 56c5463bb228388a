"""The operator's view of flash deals: read-only (sellers run them from their dashboard), with an action to end
deals that break the rules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.promotions.models import FlashClaim, FlashDeal


class FlashClaimInline(admin.TabularInline):  # type: ignore[type-arg]
    model = FlashClaim
    fields = ("order", "user", "quantity", "released", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FlashDeal)
class FlashDealAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "shop",
        "variant",
        "deal_price",
        "currency",
        "sold",
        "quantity",
        "starts_at",
        "ends_at",
        "is_active",
    )
    list_filter = ("is_active", "early_access", "currency")
    search_fields = ("shop__name", "shop__slug", "variant__sku", "variant__product__title")
    date_hierarchy = "starts_at"
    list_select_related = ("shop", "variant", "variant__product")
    fields = (
        "shop", "variant", "currency", "deal_price", "quantity", "sold", "starts_at", "ends_at", "per_user_limit",
        "early_access", "early_minutes", "is_active", "created_by", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = (FlashClaimInline,)
    actions = ("end_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("End the selected flash deals now"))
    def end_now(self, request: HttpRequest, queryset: QuerySet[FlashDeal]) -> None:
        ended = queryset.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        self.message_user(request, _("%(count)d flash deal(s) ended.") % {"count": ended}, messages.SUCCESS)

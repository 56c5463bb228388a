"""The operator's view of delivery zones: read-only, since sellers keep them in their dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agora.shipping.models import DeliveryMethod, DeliveryZone


class DeliveryMethodInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DeliveryMethod
    fields = ("name", "price", "free_over", "min_days", "max_days", "is_active", "position")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeliveryZone)
class DeliveryZoneAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "shop", "country_list", "everywhere_else", "method_count")
    list_filter = ("everywhere_else",)
    search_fields = ("name", "shop__name", "shop__slug")
    fields = ("shop", "name", "countries", "everywhere_else", "position", "created_at", "updated_at")
    readonly_fields = fields
    inlines = (DeliveryMethodInline,)
    list_select_related = ("shop",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryZone]:
        return super().get_queryset(request).prefetch_related("methods")

    @admin.display(description=_("countries"))
    def country_list(self, obj: DeliveryZone) -> str:
        return ", ".join(obj.countries or []) or "—"

    @admin.display(description=_("methods"))
    def method_count(self, obj: DeliveryZone) -> int:
        return len(obj.methods.all())  # type: ignore[attr-defined]

"""The operator's view of team purchases: read-only (shops run their deals from the dashboard; money moves only
through the services), with an action to end deals that break the rules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.groupbuy.models import DealTier, GroupDeal, Team, TeamMember


class _ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DealTierInline(_ReadOnlyInline):
    model = DealTier
    fields = ("members", "price")
    readonly_fields = fields


class TeamMemberInline(_ReadOnlyInline):
    model = TeamMember
    fields = (
        "user", "status", "is_leader", "is_new_customer", "quantity", "variant", "order", "authorised_price",
        "charged_price", "joined_at", "authorised_at", "captured_at", "released_at", "release_reason",
    )  # fmt: skip
    readonly_fields = fields


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GroupDeal)
class GroupDealAdmin(_ReadOnlyAdmin):
    list_display = (
        "id", "shop", "product", "group_price", "currency", "min_members", "max_members", "units_taken",
        "stock_allotted", "audience", "starts_at", "ends_at", "is_active",
    )  # fmt: skip
    list_filter = ("is_active", "audience", "currency")
    search_fields = ("shop__name", "shop__slug", "product__title")
    date_hierarchy = "starts_at"
    list_select_related = ("shop", "product")
    fields = (
        "shop", "product", "variants", "currency", "group_price", "min_members", "max_members", "fill_hours",
        "starts_at", "ends_at", "stock_allotted", "units_taken", "per_user_limit", "audience", "is_active",
        "created_by", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = (DealTierInline,)
    actions = ("end_now",)

    @admin.action(description=_("End the selected group deals now (running teams keep going)"))
    def end_now(self, request: HttpRequest, queryset: QuerySet[GroupDeal]) -> None:
        ended = queryset.filter(is_active=True).update(is_active=False, updated_at=timezone.now())
        self.message_user(request, _("%(count)d group deal(s) ended.") % {"count": ended}, messages.SUCCESS)


@admin.register(Team)
class TeamAdmin(_ReadOnlyAdmin):
    list_display = (
        "code", "deal", "leader", "status", "members_count", "seats_taken", "min_members", "max_members",
        "unit_price", "currency", "created_at", "expires_at",
    )  # fmt: skip
    list_filter = ("status", "currency")
    search_fields = ("code", "leader__username", "leader__email", "deal__product__title")
    date_hierarchy = "created_at"
    list_select_related = ("deal", "deal__product", "leader")
    fields = (
        "code", "deal", "leader", "status", "min_members", "max_members", "seats_taken", "members_count",
        "unit_price", "currency", "created_at", "started_at", "expires_at", "succeeded_at", "closed_at",
        "reminded_at", "last_place_announced_at",
    )  # fmt: skip
    readonly_fields = fields
    inlines = (TeamMemberInline,)


@admin.register(TeamMember)
class TeamMemberAdmin(_ReadOnlyAdmin):
    list_display = ("id", "team", "user", "status", "is_leader", "quantity", "authorised_price", "charged_price")
    list_filter = ("status", "is_leader", "is_new_customer")
    search_fields = ("team__code", "user__username", "user__email", "order__number")
    list_select_related = ("team", "user")
    fields = TeamMemberInline.fields
    readonly_fields = fields

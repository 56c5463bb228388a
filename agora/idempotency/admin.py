"""Stored idempotent results, read-only: what a retried request was (or will be) answered."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from agora.idempotency.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("key", "scope", "state", "response_status", "created_at", "expires_at")
    list_filter = ("state", "response_status")
    search_fields = ("key", "scope")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

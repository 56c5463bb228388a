"""Flash deals on the web: the deals page, buying at the deal price, the shop's flash deal pages."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

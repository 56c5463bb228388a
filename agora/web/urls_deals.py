"""Team purchases and flash deals on the web: the deals page, team pages, deal checkouts and the shop's deal pages."""

from __future__ import annotations

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []

"""Team purchases on the web: team pages, starting and joining teams, the shop's group deal pages."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""Web pages of orders (included from agora.web.urls, namespace "web")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""Web pages of social (included from agora.web.urls, namespace "web")."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

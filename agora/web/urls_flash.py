"""Flash deals on the web: the deals page, buying at the deal price, the shop's flash deal pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from agora.web.dashboard import flash as dashboard_flash
from agora.web.views import flash

_shop = "dashboard/s/<slug:slug>/flash-deals/"

urlpatterns: list[URLPattern] = [
    path("deals/", flash.deals, name="deals"),
    path("deals/flash/<int:deal_id>/buy/", flash.flash_buy, name="flash_buy"),
    path(_shop, dashboard_flash.flash_deals, name="flash_dashboard"),
    path(_shop + "<int:deal_id>/end/", dashboard_flash.flash_deal_end, name="flash_deal_end"),
]

"""Team purchases on the web: team pages, starting and joining teams, the shop's group deal pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from agora.web.dashboard import deals as dashboard_deals
from agora.web.views import teams

_shop = "dashboard/s/<slug:slug>/group-deals/"

urlpatterns: list[URLPattern] = [
    path("t/<str:code>/", teams.team, name="team"),
    path("t/<str:code>/join/", teams.team_join, name="team_join"),
    path("deals/team/<int:deal_id>/start/", teams.team_start, name="team_start"),
    path("me/teams/", teams.my_teams, name="my_teams"),
    path(_shop, dashboard_deals.group_deals, name="group_deals_dashboard"),
    path(_shop + "<int:deal_id>/end/", dashboard_deals.group_deal_end, name="group_deal_end"),
]

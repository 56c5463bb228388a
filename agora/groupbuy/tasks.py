"""Background work of team purchases: the sweep (Celery beat, every 30 s) and settling a succeeded team."""

from __future__ import annotations

from celery import shared_task

from agora.groupbuy import services


@shared_task(name="groupbuy.sweep")
def sweep() -> dict[str, int]:
    """Fail expired teams (voiding their authorisations), remind, and finish what a stopped worker left."""
    return services.sweep()


@shared_task(name="groupbuy.settle_team")
def settle_team(team_id: int) -> None:
    services.settle_team(team_id)


@shared_task(name="groupbuy.confirm_member")
def confirm_member(member_id: int) -> None:
    services.confirm_member(member_id)

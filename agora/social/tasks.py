from __future__ import annotations

from celery import shared_task

from agora.social import services


@shared_task(name="social.close_due_polls")
def close_due_polls() -> int:
    """Periodic (CELERY_BEAT_SCHEDULE "social.close_polls"): tell authors and voters that their polls closed."""
    return services.close_due_polls()


@shared_task(name="social.push_poll_results")
def push_poll_results(poll_id: int) -> int:
    """After a vote: the new results to the poll's author and latest voters, live (``services.push_poll_results``)."""
    return services.push_poll_results(poll_id=poll_id)

"""Background tasks (Django's tasks API, run by ``manage.py db_worker``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from django_tasks import TaskResultStatus, task

from notifications import queue


@task()
def deliver(delivery_id: int) -> str:
    return queue.send(delivery_id)


@task()
def sweep() -> dict:
    """Recover deliveries of dead workers, queue due digests, then come back after the interval."""
    result = {"requeued": queue.sweep(), "digests": queue.queue_digests()}
    schedule_sweep(delay=settings.NOTIFICATIONS["SWEEP_INTERVAL_SECONDS"])
    return result


def schedule_sweep(*, delay: int) -> bool:
    """Keep exactly one sweep waiting: enqueue the next unless one is already queued."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=sweep.module_path, status=TaskResultStatus.READY).exists():
        return False
    sweep.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue()
    return True

"""The periodic task of the delivery queue (Django's tasks API, run by ``manage.py db_worker``).

Task rows store the dotted path of their task: ``notifications.tasks.sweep`` stays here, and
``deliver`` (now defined in ``notifications.delivery.worker``, next to the ``enqueue`` that queues it)
is still importable from here, so task rows written before the move still run.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from notifications import alerts
from notifications.delivery import planning, worker
from notifications.delivery.worker import deliver

__all__ = ["deliver", "schedule_sweep", "sweep"]


@task()
def sweep() -> dict:
    """Recover deliveries of dead workers, queue due digests, forget expired followers and unconfirmed area
    alerts, then come back after the interval."""
    result = {
        "requeued": worker.requeue_stale(), "digests": planning.queue_digests(),
        "followers_forgotten": planning.forget_expired_followers(),
        "alerts_forgotten": alerts.forget_unconfirmed_alerts(),
    }
    schedule_sweep(delay=settings.NOTIFICATIONS["SWEEP_INTERVAL_SECONDS"])
    return result


def schedule_sweep(*, delay: int) -> bool:
    """Keep exactly one sweep waiting: enqueue the next unless one is already queued."""
    if DBTaskResult.objects.filter(task_path=sweep.module_path, status=TaskResultStatus.READY).exists():
        return False
    sweep.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue()
    return True

"""Run when a worker starts: hand over deliveries a dead worker left behind, queue due digests, forget the
followers whose retention ended and the area alerts never confirmed, and start the periodic sweep (which then
does all of this every SWEEP_INTERVAL_SECONDS)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications import alerts
from notifications.delivery import planning, worker
from notifications.tasks import schedule_sweep


class Command(BaseCommand):
    help = "Re-queue deliveries whose worker stopped, queue due digests, and make sure the periodic sweep is scheduled."

    def handle(self, *args, **options) -> None:
        requeued = worker.requeue_stale()
        digests = planning.queue_digests()
        planning.forget_expired_followers()
        alerts.forget_unconfirmed_alerts()
        scheduled = schedule_sweep(delay=settings.NOTIFICATIONS["SWEEP_INTERVAL_SECONDS"])
        self.stdout.write(
            f"{requeued} deliveries re-queued; {digests} digests queued; "
            f"periodic sweep {'scheduled' if scheduled else 'already scheduled'}."
        )

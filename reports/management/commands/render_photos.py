"""Queue the public rendition of every photo that has none and none waiting (after an upgrade, or to catch up);
for a photo still in its upload as sent, the worker makes the photo itself, too."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from reports.models import Photo
from reports.services.common import queue_rendition
from reports.tasks import render_photo


class Command(BaseCommand):
    help = "Queue the public rendition (faces and number plates blurred) of photos that have none yet."

    def handle(self, *args, **options) -> None:
        waiting = {
            (args_kwargs.get("args") or [None])[0]
            for args_kwargs in DBTaskResult.objects.filter(
                task_path=render_photo.module_path, status=TaskResultStatus.READY
            ).values_list("args_kwargs", flat=True)
        }
        queued = 0
        with transaction.atomic():
            for photo in Photo.objects.filter(public_image="", unreadable=False).only("pk"):
                if photo.pk not in waiting:
                    queue_rendition(photo)
                    queued += 1
        self.stdout.write(f"{queued} photo(s) queued for their public rendition")

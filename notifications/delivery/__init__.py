"""The durable delivery queue: which events cause which messages, and how a worker sends each once.

Three modules, each importing only the ones after it, so there is no import cycle:

1. ``planning`` receives ``reports.signals.events_recorded`` inside the transaction that wrote the
   events. It writes ``Delivery`` rows and enqueues one ``deliver`` task for each (the django_tasks_db
   backend writes the task row through the same database connection), so a report change, its events
   and its messages commit or roll back together. It does no I/O. It also queues the daily digests.
2. ``worker`` claims a delivery with a conditional UPDATE (pending, due, lease free or expired) that
   sets a lease; only the claimant sends. Success marks it sent; a temporary error schedules another
   attempt with exponential backoff (and a new task), up to NOTIFY_MAX_ATTEMPTS; a permanent error
   marks it failed at once. A worker killed mid-send leaves its task row RUNNING forever and the
   delivery leased: ``requeue_stale`` (run by the periodic ``notifications.tasks.sweep``, seeded by the
   ``schedule_notifications`` command when a worker starts) hands deliveries whose lease expired, or
   whose task never ran, to a new task.
3. ``transports`` is the one interface of a channel and the registry that names each channel's
   transport by dotted path (``email``, ``webhooks``, ``webpush``), imported on first use as healthchecks'
   ``TRANSPORTS`` does: the worker never imports a transport, and a transport may import what it
   needs (e.g. the digest's reads from ``planning``).

Exactly once in the normal case. Across a kill it is at least once: a worker that dies after the
receiver accepted but before it recorded "sent" is retried after its lease. Webhooks carry the
delivery id so receivers can deduplicate.
"""

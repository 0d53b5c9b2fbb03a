"""Signals reports sends for others to act on; reports itself never imports who listens."""

from django.dispatch import Signal

# Sent inside the transaction that wrote the events, with ``events`` (saved ReportEvents, seq order).
# Receivers write durable work (queued e-mails, webhooks) in that same transaction: it commits or
# rolls back together with the report. Receivers must not do I/O here.
events_recorded = Signal()

# Sent after the transaction that created the events has committed: ``event_ids`` in seq order, and ``events``
# (the saved ReportEvents, their reports as committed) when the use case vouches for them (publish_after_commit's
# ``reports_as_committed``): a receiver then need not read them back.
# For best-effort pushes (websockets); clients catch up by seq if one is lost.
events_committed = Signal()

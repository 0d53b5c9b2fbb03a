"""Signals reports sends for others to act on; reports itself never imports who listens."""

from django.dispatch import Signal

# Sent after the transaction that created the events has committed: ``event_ids`` in seq order.
events_committed = Signal()

"""Use cases that change reports, each in one transaction with the events it emits.

- ``submission``: a citizen's report arrives (locate, route, store, first events; idempotent replays)
- ``staff_actions``: staff work a ticket (transitions, answers, notes, moderation, reassign, forward, …)
- ``bulk``: staff act on several reports at once, each report on its own as a single action would
- ``support``: "me too" and the open reports nearby
- ``comments``: citizens' comments on a report (moderated like descriptions) and their publication by staff
- ``photo_moderation``: what the public sees of a report: one photo hidden or shown, the description redacted
- ``renditions``: each photo's public rendition (faces and plates blurred, in the worker) and hand-marked areas
- ``retention``: DSGVO deletion periods and a reporter's data on request
- ``common``: what they share (events to listeners after commit, photo files, event records)

Front ends import the names below from ``reports.services``; the errors the use cases raise are all in
``reports.errors``.
"""

from reports.services.bulk import (
    MAX_BULK_REPORTS,
    MAX_KEY_LENGTH,
    BulkAction,
    BulkOutcome,
    assignable_departments,
    reports_bulk_action,
)
from reports.services.comments import CommentResult, report_comment, report_publish_comment
from reports.services.common import publish_after_commit
from reports.services.photo_moderation import (
    photos_awaiting_review,
    report_hide_photo,
    report_redact_description,
    report_show_photo,
)
from reports.services.renditions import photo_blur_area, photo_clear_blur_areas, render_public_photo
from reports.services.retention import anonymise_expired, expired, personal_data, report_anonymise
from reports.services.staff_actions import (
    report_add_photos,
    report_answer,
    report_change,
    report_forward,
    report_mark_duplicate,
    report_moderate,
    report_note,
    report_reassign,
    report_transition,
    response_templates,
)
from reports.services.submission import (
    LOCATION_DISCREPANCY_M,
    SubmitResult,
    earlier_submission,
    opening_events,
    replay_secret,
    report_set_address,
    report_submit,
    resolve_location,
    submission_fingerprint,
)
from reports.services.support import report_support, reports_nearby

__all__ = [
    "anonymise_expired", "CommentResult", "earlier_submission", "expired", "LOCATION_DISCREPANCY_M",
    "opening_events", "personal_data", "photo_blur_area", "photo_clear_blur_areas", "photos_awaiting_review",
    "publish_after_commit", "render_public_photo", "replay_secret", "report_add_photos", "report_anonymise",
    "report_answer", "report_change", "report_comment", "report_forward", "report_hide_photo",
    "report_mark_duplicate", "report_moderate", "report_note", "report_publish_comment", "report_reassign",
    "report_redact_description", "report_set_address", "report_show_photo", "report_submit", "report_support",
    "report_transition", "reports_bulk_action", "reports_nearby", "resolve_location", "response_templates",
    "submission_fingerprint", "SubmitResult", "assignable_departments", "BulkAction", "BulkOutcome",
    "MAX_BULK_REPORTS", "MAX_KEY_LENGTH",
]

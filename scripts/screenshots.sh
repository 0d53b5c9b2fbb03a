#!/usr/bin/env bash
# Screenshots of the phone views (360 × 740, German and English) into var/screenshots/ (or $1):
# the public map, the report form, a report's page, the list, statistics, a Bauhof worker's tasks and a ticket.
#
#   scripts/screenshots.sh [OUT_DIR]        (make screenshots)
#
# Installs what it needs (the test set: Chromium and Playwright), then runs scripts/screenshots.py, which starts
# the service on a throw-away SpatiaLite database with the demo on 127.0.0.1 and stops it at the end.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

"$REPO/scripts/bootstrap.sh" test
exec "$REPO/.venv/bin/python" "$REPO/scripts/screenshots.py" "$@"

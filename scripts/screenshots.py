"""Screenshots of the phone views, as a citizen and a Bauhof worker see them (make screenshots).

Starts the service as make run does (a fresh SpatiaLite database in a temporary directory, migrated and with the
demo), opens headless Chromium at 360 × 740 and saves a full-page PNG of each view, in German and English:

    <out>/<lang>-1-map.png          /                   the public map
    <out>/<lang>-2-report-form.png  /melden/            the report form
    <out>/<lang>-3-report.png       /meldungen/<ref>/   a report's page
    <out>/<lang>-4-list.png         /meldungen/         the list of reports
    <out>/<lang>-5-statistics.png   /statistik/         statistics
    <out>/<lang>-6-staff-tasks.png  /staff/             a Bauhof worker's tasks
    <out>/<lang>-7-staff-ticket.png /staff/…            a ticket in the staff app

    .venv/bin/python scripts/screenshots.py [OUT_DIR]     (default: var/screenshots)

Map tiles come from TILE_URL if set; otherwise from nowhere (a machine without internet access gets grey maps
with markers, which is what the tests see too). Everything started here listens on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
WORKER = "bauhof-hameln-worker"
PASSWORD = "Screenshots-2026"
NOWHERE = "http://127.0.0.1:9"  # nothing listens on port 9
REPORT_PAGE = re.compile(r"/meldungen/[A-Z]+-\d{4}-\d+/")
TICKET_PAGE = re.compile(r"/staff/reports/[A-Z]+-\d{4}-\d+/")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("the server did not start")
            time.sleep(0.2)


def _settle(page: Page) -> None:
    """Waits until the page has loaded and, where there is a map, drawn its first answer."""
    page.wait_for_load_state("networkidle")
    if page.locator("#map[data-loaded]").count():
        deadline = time.monotonic() + 20
        while int(page.locator("#map").get_attribute("data-loaded") or 0) < 1 and time.monotonic() < deadline:
            page.wait_for_timeout(100)


def _first_link(page: Page, pattern: re.Pattern) -> str:
    """The first link on the page whose path matches ``pattern``."""
    for href in page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        if pattern.fullmatch(href):
            return href
    sys.exit(f"no link like {pattern.pattern} on {page.url}")


def _shoot(page: Page, path: str, out: Path, name: str) -> Path:
    page.goto(path)
    _settle(page)
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def take(base: str, out: Path) -> list[Path]:
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for language in ("de", "en"):
            context = browser.new_context(
                base_url=base, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                locale={"de": "de-DE", "en": "en-GB"}[language],
            )
            page = context.new_page()
            taken.append(_shoot(page, "/", out, f"{language}-1-map"))
            taken.append(_shoot(page, "/melden/", out, f"{language}-2-report-form"))
            page.goto("/meldungen/")
            taken.append(_shoot(page, _first_link(page, REPORT_PAGE), out, f"{language}-3-report"))
            taken.append(_shoot(page, "/meldungen/", out, f"{language}-4-list"))
            taken.append(_shoot(page, "/statistik/", out, f"{language}-5-statistics"))

            page.goto("/staff/login/")
            page.locator("input[name='username']").fill(WORKER)
            page.locator("input[name='password']").fill(PASSWORD)
            page.locator("form button[type='submit'], form input[type='submit']").first.click()
            page.wait_for_url(f"{base}/staff/")
            taken.append(_shoot(page, "/staff/", out, f"{language}-6-staff-tasks"))
            taken.append(_shoot(page, _first_link(page, TICKET_PAGE), out, f"{language}-7-staff-ticket"))
            context.close()
        browser.close()
    return taken


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "var" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="openmelder-screenshots-") as directory:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", directory),
            "DEBUG": "true", "DATA_DIR": directory, "DATABASE_URL": f"spatialite:///{directory}/openmelder.sqlite3",
            "DEMO_PASSWORD": PASSWORD, "TILE_URL": os.environ.get("TILE_URL", NOWHERE + "/{z}/{x}/{y}.png"),
            "GEOCODER_URL": NOWHERE, "GEOCODER_TIMEOUT": "1",
        }
        print("[screenshots] migrating and loading the demo …", flush=True)
        _manage(env, "migrate", "--noinput")
        _manage(env, "load_demo")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "backend.server", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(base, server)
            taken = take(base, out)
        finally:
            server.terminate()
            server.wait(timeout=10)
    for path in taken:
        print(f"[screenshots] {path}")
    print(f"[screenshots] {len(taken)} screenshots of phone views (360 × 740) in {out}")


if __name__ == "__main__":
    main()

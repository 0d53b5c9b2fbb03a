"""A geocoder on 127.0.0.1 that speaks Nominatim's API (``/search``, ``/reverse``): geocoding is tested
against a real HTTP server, and nothing leaves the machine."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class LoopbackNominatim(ThreadingHTTPServer):
    """Answers ``/search`` with the places whose key occurs in the query (case-insensitive), ``/reverse``
    with ``reverse`` (or nothing), after ``delay`` seconds; records every request. ``broken`` (status,
    content type, body) makes it answer every request with that instead, as a misconfigured or failing
    server would."""

    daemon_threads = True

    def __init__(self, places: dict[str, list[dict]], *, reverse: dict | None = None, delay: float = 0,
                 broken: tuple[int, str, bytes] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.places, self.reverse, self.delay, self.broken = places, reverse, delay, broken
        self.requests: list[tuple[str, dict, str]] = []  # path, query, user agent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LoopbackNominatim:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def answer(self, path: str, query: dict):
        if path == "/reverse":
            return {**self.reverse, "lat": query["lat"], "lon": query["lon"]} if self.reverse else {}
        text = query.get("q", "").lower()
        return [place for key, found in self.places.items() if key.lower() in text for place in found]


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackNominatim

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.server.requests.append((url.path, query, self.headers.get("User-Agent", "")))
        time.sleep(self.server.delay)
        status, content_type, payload = self.server.broken or (
            200, "application/json", json.dumps(self.server.answer(url.path, query)).encode())
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def log_message(self, *args) -> None:
        pass

"""Bad images sent to a running server: each is refused with a 4xx within a second, and the server's
memory stays bounded (its peak resident size, read from /proc, hardly moves)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.live import demo_server, peak_rss_mb, post_photo_report
from tests.reports.test_photo_pipeline import PHOTOS, encoded, heif_declaring, png_declaring

pytestmark = pytest.mark.backend_independent

MB = 1024 * 1024


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue")]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])


BAD = {
    "bomb-png-30000x30000": lambda: png_declaring(30_000, 30_000),
    "heic-declaring-20000x20000": lambda: heif_declaring(20_000, 20_000),
    "truncated-jpeg": lambda: (PHOTOS / "05_jpeg_iphone6_o1_gps-madrid.jpg").read_bytes()[:200_000],
    "zero-bytes": lambda: b"",
    "pdf-named-jpg": lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "html-named-jpg": lambda: b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
    "40-mb": lambda: b"\xff\xd8\xff\xe0" + b"\0" * (40 * MB),
    "animated-gif": _animated_gif,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("bad-images"), API_RATE_SUBMIT="1000/hour") as running:
        yield running


def _post(base: str, content: bytes) -> tuple[int, float]:
    return post_photo_report(base, [content])


def test_every_bad_image_is_a_4xx_within_a_second_and_memory_stays_bounded(server):
    base, process = server
    good_status, _ = _post(base, (PHOTOS / "02_jpeg_orient6_portrait_nogps.jpg").read_bytes())  # warm up
    before = peak_rss_mb(process.pid)

    answers = {name: _post(base, make()) for name, make in BAD.items()}

    after = peak_rss_mb(process.pid)
    assert good_status == 201
    assert {name: status for name, (status, _) in answers.items() if not 400 <= status < 500} == {}
    assert {name: round(seconds, 2) for name, (_, seconds) in answers.items() if seconds >= 1.0} == {}
    # A decoded 30000 × 30000 picture alone would take 2.7 GB.
    assert after - before < 100, f"peak resident memory grew from {before:.0f} MB to {after:.0f} MB"

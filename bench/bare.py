"""The ASGI application of ``bench/hotpath.py``: OpenMelder's, plus one bare JSON endpoint in the same process.

``GET /bare/`` answers a small GeoJSON document straight from ASGI, without Django, as fast as this server
process can answer anything: the "limit" row that the public endpoints are measured against. Everything else
goes to ``backend.asgi.application`` unchanged. Used by the benchmark only; never served by make run.
"""

from __future__ import annotations

from backend.asgi import application as openmelder

BODY = b'{"type":"FeatureCollection","features":[],"properties":{"zoom":16,"clustered":false,"truncated":false}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def application(scope, receive, send) -> None:
    if scope["type"] == "http" and scope["path"] == "/bare/":
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
        return
    await openmelder(scope, receive, send)

"""Web Push: a browser on a published report's page, or the reporter's app, registers a push endpoint; a staff
status change reaches a real push service on 127.0.0.1, signed with the installation's VAPID key and readable
only with the device's private key; a gone subscription is deleted, a failing service is tried again, and
whatever a client sends is checked before it is stored."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.management import call_command

from notifications.models import Delivery, PushSubscription
from reports.models import Report
from tests.mobile_api.staff.conftest import staff_client
from tests.notifications.delivery import change_status, run_worker
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db

SUBJECT = "mailto:it@hameln.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass
class Device:
    """A browser's push key pair and auth secret, as the browser makes them when it subscribes."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, endpoint: str) -> dict:
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(public_bytes(self.key)), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@dataclass
class Message:
    path: str
    headers: dict
    body: bytes
    answered: int


@dataclass
class PushService:
    """A push service on 127.0.0.1: accepts (201) unless ``answer(attempt)`` says otherwise."""

    answer: object = lambda attempt: 201
    messages: list[Message] = field(default_factory=list)

    def start(self) -> str:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = service.answer(len(service.messages) + 1)
                service.messages.append(Message(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                                status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.origin

    def endpoint(self) -> str:
        return f"{self.origin}/wpush/v2/{secrets.token_urlsafe(24)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vapid(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PUBLIC_KEY = b64url(public_bytes(key))
    settings.VAPID_PRIVATE_KEY = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_SUBJECT = SUBJECT
    settings.WEB_PUSH_ALLOW_INSECURE_ENDPOINTS = True
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "RETRY_BASE_SECONDS": 0, "MAX_ATTEMPTS": 4}
    return key.public_key()


@pytest.fixture
def service():
    service = PushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def visitor():
    return SecureClient(HTTP_ACCEPT_LANGUAGE="de")


def subscribe(client, report: Report, body) -> object:
    return client.post(f"/push/reports/{report.public_id}/", json.dumps(body), content_type="application/json")


def vapid_fields(authorization: str) -> dict:
    scheme, _sep, params = authorization.partition(" ")
    assert scheme == "vapid"
    return dict(part.strip().split("=", 1) for part in params.split(","))


def jwt_claims(authorization: str, vapid_public: ec.EllipticCurvePublicKey) -> dict:
    """The claims of a VAPID (RFC 8292) Authorization header, after checking its ES256 signature with the key."""
    fields = vapid_fields(authorization)
    assert unb64url(fields["k"]) == vapid_public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return verified_claims(fields["t"], vapid_public)


def verified_claims(token: str, vapid_public: ec.EllipticCurvePublicKey) -> dict:
    header, payload, signature = token.split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    vapid_public.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    return json.loads(unb64url(payload))


def test_a_status_change_reaches_the_push_service_signed_and_readable_only_by_the_device(
        demo, personas, visitor, vapid, service):
    report = file_report(email="anna@example.org", name="Anna Beispiel")
    device = Device()
    response = subscribe(visitor, report, device.subscription(service.endpoint()))
    assert response.status_code == 201, response.content
    assert response.json() == {"subscribed": True}
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker, message="Wir kümmern uns.")
    run_worker()
    [message] = service.messages
    assert message.path.startswith("/wpush/v2/") and message.answered == 201
    assert message.headers["content-encoding"] == "aes128gcm"
    assert int(message.headers["ttl"]) > 0
    claims = jwt_claims(message.headers["authorization"], vapid)
    assert claims["aud"] == service.origin
    assert claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    content = device.decrypt(message.body)
    assert content["reference"] == report.reference
    assert content["status"] == "in_progress" and content["status_label"] == "In Bearbeitung"
    assert content["url"].endswith(f"/meldungen/{report.reference}/")
    assert content["title"] == f"Meldung {report.reference}"
    assert b"anna" not in message.body.lower()
    assert not {"anna", "beispiel", "kümmern"} & set(json.dumps(content, ensure_ascii=False).lower().split())
    # The key a forger would use does not verify.
    with pytest.raises(InvalidSignature):
        verified_claims(vapid_fields(message.headers["authorization"])["t"],
                        ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(Exception):  # noqa: B017 (another device cannot read it)
        Device().decrypt(message.body)
    delivery = Delivery.objects.get(channel="web_push")
    assert delivery.status == "sent" and delivery.target == service.origin
    run_worker()
    assert len(service.messages) == 1, "sent once"


def test_a_push_service_that_answers_410_gets_the_subscription_deleted(demo, personas, visitor, vapid, service):
    service.answer = lambda attempt: 410
    report = file_report()
    assert subscribe(visitor, report, Device().subscription(service.endpoint())).status_code == 201
    change_status(str(report.public_id), "acknowledged", actor=personas.hameln_worker)
    run_worker()
    assert len(service.messages) == 1
    assert not PushSubscription.objects.exists()
    delivery = Delivery.objects.get(channel="web_push")
    assert delivery.status == "failed" and delivery.attempts == 1 and "410" in delivery.last_error
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    assert len(service.messages) == 1, "nothing more goes to a gone subscription"


def test_a_push_service_failing_with_500_is_tried_again_until_it_accepts(demo, personas, visitor, vapid, service):
    service.answer = lambda attempt: 500 if attempt < 3 else 201
    report = file_report()
    device = Device()
    assert subscribe(visitor, report, device.subscription(service.endpoint())).status_code == 201
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    assert [m.answered for m in service.messages] == [500, 500, 201]
    assert {device.decrypt(m.body)["status"] for m in service.messages} == {"in_progress"}
    delivery = Delivery.objects.get(channel="web_push")
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert PushSubscription.objects.count() == 1


def test_a_push_service_that_keeps_failing_is_given_up_after_the_last_attempt(
        demo, personas, visitor, vapid, service):
    service.answer = lambda attempt: 503
    report = file_report()
    assert subscribe(visitor, report, Device().subscription(service.endpoint())).status_code == 201
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    assert len(service.messages) == 4
    assert Delivery.objects.get(channel="web_push").status == "failed"
    assert PushSubscription.objects.count() == 1, "a failing service does not mean the subscription is gone"


def test_a_browser_that_turns_push_off_gets_no_more_messages(demo, personas, visitor, vapid, service):
    report = file_report()
    endpoint = service.endpoint()
    assert subscribe(visitor, report, Device().subscription(endpoint)).status_code == 201
    assert subscribe(visitor, report, Device().subscription(endpoint)).status_code == 200, "renewed, not twice"
    removal = visitor.delete(f"/push/reports/{report.public_id}/", json.dumps({"endpoint": endpoint}),
                             content_type="application/json")
    assert removal.status_code == 204
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    assert service.messages == []


def test_the_reporters_app_registers_a_push_endpoint_for_its_own_report(client, demo, personas, vapid, service):
    from tests.mobile_api.v1.test_submit import submit

    created = submit(client, {"email": "anna@example.org"}).json()
    url = f"/api/v1/reports/{created['id']}/push/"
    own = {"HTTP_AUTHORIZATION": f"Bearer {created['secret']}"}
    device = Device()
    body = json.dumps(device.subscription(service.endpoint()))
    assert client.post(url, body, content_type="application/json", secure=True).status_code == 404
    assert client.post(url, body, content_type="application/json", secure=True,
                       HTTP_AUTHORIZATION="Bearer wrong-secret").status_code == 404
    response = client.post(url, body, content_type="application/json", secure=True, **own)
    assert response.status_code == 201, response.content
    assert response.json()["application_server_key"] == b64url(vapid.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    change_status(created["id"], "acknowledged", actor=personas.hameln_worker)
    run_worker()
    [message] = service.messages
    assert device.decrypt(message.body)["reference"] == created["reference"]
    assert jwt_claims(message.headers["authorization"], vapid)["aud"] == service.origin
    endpoint = json.loads(body)["endpoint"]
    # The reporter's copy of their personal data names the device's endpoint.
    mine = client.get(f"/api/v1/reports/{created['id']}/personal-data/", secure=True, **own).json()
    assert [p["endpoint"] for p in mine["push_endpoints"]] == [endpoint]
    assert client.delete(url + "?endpoint=x", secure=True).status_code == 404, "only with the secret"
    assert client.delete(url, json.dumps({"endpoint": endpoint}), content_type="application/json", secure=True,
                         **own).status_code == 204
    change_status(created["id"], "in_progress", actor=personas.hameln_worker)
    run_worker()
    assert len(service.messages) == 1


def test_the_app_is_told_about_its_report_even_before_it_is_published(client, demo, personas, vapid, service):
    """A browser follows only published reports; the reporter's app hears of its own report in any case."""
    from geo.models import Authority, PublishingPolicy
    from tests.mobile_api.v1.test_submit import submit

    Authority.objects.filter(ags="03252006").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    created = submit(client).json()
    report = Report.objects.get(public_id=created["id"])
    assert not Report.objects.published().filter(pk=report.pk).exists()
    visitor = SecureClient()
    assert subscribe(visitor, report, Device().subscription(service.endpoint())).status_code == 404
    response = client.post(f"/api/v1/reports/{created['id']}/push/",
                           json.dumps(Device().subscription(service.endpoint())), content_type="application/json",
                           secure=True, HTTP_AUTHORIZATION=f"Bearer {created['secret']}")
    assert response.status_code == 201
    change_status(created["id"], "acknowledged", actor=personas.hameln_worker)
    run_worker()
    assert len(service.messages) == 1


GOOD_KEY = b64url(public_bytes(ec.generate_private_key(ec.SECP256R1())))
GOOD_AUTH = b64url(b"0123456789abcdef")


def _sub(endpoint="http://127.0.0.1:9/push/x", p256dh=GOOD_KEY, auth=GOOD_AUTH) -> dict:
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}


NOT_ON_THE_CURVE = b64url(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(("body", "insecure", "field", "code"), [
    (_sub(endpoint="http://127.0.0.1:9/push/x"), False, "endpoint", "invalid"),  # http needs the dev setting
    (_sub(endpoint="https://127.0.0.1/push/x"), False, "endpoint", "forbidden_address"),
    (_sub(endpoint="https://10.20.30.40/push/x"), False, "endpoint", "forbidden_address"),
    (_sub(endpoint="https://[::1]/push/x"), False, "endpoint", "forbidden_address"),
    (_sub(endpoint="https://169.254.169.254/latest/meta-data"), False, "endpoint", "forbidden_address"),
    (_sub(endpoint="http://10.20.30.40/push/x"), True, "endpoint", "invalid"),  # http only to loopback
    (_sub(endpoint="ftp://127.0.0.1/x"), True, "endpoint", "invalid"),
    (_sub(endpoint="https://user:pw@127.0.0.1/x"), True, "endpoint", "invalid"),
    (_sub(endpoint="https://no-such-host.invalid/x"), True, "endpoint", "unresolvable"),
    (_sub(endpoint="https://127.0.0.1/" + "a" * 1000), True, "endpoint", "max_length"),
    (_sub(endpoint=""), True, "endpoint", "required"),
    (_sub(endpoint=12), True, "endpoint", "required"),
    ({"endpoint": "http://127.0.0.1:9/push/x"}, True, "keys", "required"),
    (_sub(p256dh="not base64!"), True, "keys.p256dh", "invalid"),
    (_sub(p256dh=b64url(os.urandom(32))), True, "keys.p256dh", "invalid"),
    (_sub(p256dh=NOT_ON_THE_CURVE), True, "keys.p256dh", "invalid"),
    (_sub(p256dh="A" * 5000), True, "keys.p256dh", "invalid"),
    (_sub(auth=b64url(os.urandom(8))), True, "keys.auth", "invalid"),
    (_sub(auth=None), True, "keys.auth", "invalid"),
    ([1, 2], True, None, "invalid"),
])
def test_what_a_browser_sends_is_checked_before_it_is_stored(demo, visitor, vapid, settings, body, insecure, field,
                                                            code):
    settings.WEB_PUSH_ALLOW_INSECURE_ENDPOINTS = insecure
    report = file_report()
    response = subscribe(visitor, report, body)
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"]
    assert not PushSubscription.objects.exists()


def test_the_app_endpoint_checks_the_subscription_the_same_way(client, demo, vapid, settings):
    from tests.mobile_api.v1.test_submit import submit

    settings.WEB_PUSH_ALLOW_INSECURE_ENDPOINTS = False
    created = submit(client).json()
    response = client.post(f"/api/v1/reports/{created['id']}/push/", json.dumps(_sub()),
                           content_type="application/json", secure=True, HTTP_ACCEPT_LANGUAGE="en",
                           HTTP_AUTHORIZATION=f"Bearer {created['secret']}")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "endpoint", "code": "invalid", "message": "The push endpoint must be an https URL."}
    ]
    assert client.post(f"/api/v1/reports/{created['id']}/push/", "{not json", content_type="application/json",
                       secure=True, HTTP_AUTHORIZATION=f"Bearer {created['secret']}").status_code == 400


def test_the_page_offers_push_with_a_service_worker_and_no_inline_script(demo, visitor, vapid, settings):
    report = file_report()
    page = visitor.get(f"/meldungen/{report.reference}/")
    html = page.content.decode()
    assert 'id="push"' in html and f'data-key="{settings.VAPID_PUBLIC_KEY}"' in html
    assert f'data-api="/push/reports/{report.public_id}/"' in html
    assert "Push-Benachrichtigungen" in html
    assert re.search(r'<script src="/static/notifications/push(\.[0-9a-f]+)?\.js"></script>', html)
    assert "<script>" not in html.replace('<script type="application/json"', "")
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    english = visitor.get(f"/meldungen/{report.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Turn on push notifications" in english
    worker = visitor.get("/push/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/push/" and worker["Cache-Control"] == "no-cache"
    assert b'addEventListener("push"' in worker.content and b"showNotification" in worker.content


def test_without_vapid_keys_push_is_neither_offered_nor_accepted(demo, visitor, settings):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    report = file_report()
    html = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert 'id="push"' not in html and "push.js" not in html
    response = subscribe(visitor, report, _sub())
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "push_disabled"


def test_removing_the_reports_personal_data_removes_its_push_subscriptions(client, demo, vapid, service):
    from tests.mobile_api.v1.test_submit import submit

    created = submit(client, {"email": "anna@example.org"}).json()
    own = {"HTTP_AUTHORIZATION": f"Bearer {created['secret']}"}
    url = f"/api/v1/reports/{created['id']}/push/"
    assert client.post(url, json.dumps(Device().subscription(service.endpoint())), content_type="application/json",
                       secure=True, **own).status_code == 201
    assert client.delete(f"/api/v1/reports/{created['id']}/personal-data/", secure=True, **own).status_code == 204
    assert not PushSubscription.objects.exists()


def test_generate_vapid_keys_prints_a_pair_that_signs(capsys, settings):
    call_command("generate_vapid_keys")
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    public = unb64url(lines["VAPID_PUBLIC_KEY"])
    private = int.from_bytes(unb64url(lines["VAPID_PRIVATE_KEY"]), "big")
    assert len(public) == 65 and public[0] == 4
    assert public_bytes(ec.derive_private_key(private, ec.SECP256R1())) == public


def test_a_report_takes_a_bounded_number_of_push_endpoints(demo, visitor, vapid, service, monkeypatch):
    from notifications import webpush

    monkeypatch.setattr(webpush, "MAX_SUBSCRIPTIONS_PER_REPORT", 2)
    report = file_report()
    first = Device().subscription(service.endpoint())
    assert subscribe(visitor, report, first).status_code == 201
    assert subscribe(visitor, report, Device().subscription(service.endpoint())).status_code == 201
    refused = subscribe(visitor, report, Device().subscription(service.endpoint()))
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "too_many"
    assert subscribe(visitor, report, first).status_code == 200, "a known endpoint may renew its keys"
    assert PushSubscription.objects.count() == 2


def test_push_subscriptions_go_with_the_retention_of_closed_reports(demo, personas, visitor, vapid, service,
                                                                    settings):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.delivery.planning import forget_expired_followers

    report = file_report()
    assert subscribe(visitor, report, Device().subscription(service.endpoint())).status_code == 201
    change_status(str(report.public_id), "fixed", actor=personas.hameln_worker, message="Erledigt.")
    forget_expired_followers()
    assert PushSubscription.objects.count() == 1, "kept while the retention period runs"
    days = settings.OPENMELDER["RETENTION_DAYS"]
    Report.objects.filter(pk=report.pk).update(closed_at=timezone.now() - timedelta(days=days + 1))
    forget_expired_followers()
    assert not PushSubscription.objects.exists()


def test_staff_see_which_reports_have_push_subscriptions_in_the_admin_without_the_device(
        client, demo, visitor, vapid, service, django_user_model):
    report = file_report()
    endpoint = service.endpoint()
    assert subscribe(visitor, report, Device().subscription(endpoint)).status_code == 201
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw-Admin-2026"))
    listing = client.get("/admin/notifications/pushsubscription/", secure=True)
    assert listing.status_code == 200 and report.reference in listing.content.decode()
    subscription = PushSubscription.objects.get()
    page = client.get(f"/admin/notifications/pushsubscription/{subscription.pk}/change/", secure=True)
    assert page.status_code == 200 and endpoint not in page.content.decode()
    assert client.get("/admin/notifications/pushsubscription/add/", secure=True).status_code == 403


def test_a_browser_that_followed_a_duplicate_hears_how_the_original_ends(demo, personas, visitor, vapid, service):
    original = file_report()
    duplicate = file_report()
    device = Device()
    assert subscribe(visitor, duplicate, device.subscription(service.endpoint())).status_code == 201
    worker = staff_client(personas.hameln_worker)
    response = worker.post(f"/api/staff/reports/{duplicate.public_id}/duplicate/", {"original": original.reference},
                           format="json")
    assert response.status_code == 200, response.content
    run_worker()
    service.messages.clear()

    change_status(str(original.public_id), "fixed", actor=personas.hameln_worker, message="Verfüllt.")
    run_worker()

    [message] = service.messages
    content = device.decrypt(message.body)
    assert content["reference"] == original.reference and content["status"] == "fixed"

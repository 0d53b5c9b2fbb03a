"""Downloading a photo from an address that a client application names (Open311 ``media_url``), safely.

The address comes from outside, so the server must never become a way into the networks it can reach (SSRF):

- ``https`` only; no ``user:password@``; any port (the address check below, not the port, keeps internal
  services out, and public image hosts do use other ports);
- the host must be on the caller's allow-list (exact name, case-insensitive; an IP literal must be listed as such);
- the name is resolved here, once, and if ANY of its addresses is not globally routable (private, loopback,
  link-local, carrier-grade NAT, multicast, reserved, unspecified, documentation, or such an IPv4 address in an
  IPv6 form) nothing is fetched — unless the address lies in ``settings.OPEN311_MEDIA_ALLOWED_NETWORKS``;
- the connection goes to the checked address itself (no second lookup: DNS rebinding cannot swap it), and TLS is
  verified against the host name (SNI, certificate chain and name; ``settings.OPEN311_MEDIA_CA_FILE`` adds a
  private CA);
- at most ``MAX_REDIRECTS`` redirects are followed, each hop checked like the first (scheme, host list, addresses);
- the whole download has a deadline (``settings.OPEN311_MEDIA_TIMEOUT`` seconds for lookup, connection, TLS,
  headers and body together), checked before every receive, so a server that sends one byte a second cannot
  hold a worker; the body may have at most ``settings.OPEN311_MEDIA_MAX_BYTES`` (refused by
  its Content-Length before reading, and counted while reading);
- the answer must call itself an image (``Content-Type: image/…``); the photo pipeline then decodes by content.

Every refusal is a ``FetchRefused`` with a code for machines and a message for people; nothing else escapes.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not globally routable, beyond what ``is_global`` already excludes (it misses some, depending on the Python
# version), and the IPv6 forms that carry an IPv4 address a router would reach (NAT64, 6to4, Teredo, IPv4-compatible).
_NEVER = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))


class FetchRefused(Exception):
    """Why a remote photo was not fetched: ``code`` for machines, ``message`` (lazy, translated) for people."""

    messages: ClassVar[dict[str, Promise]] = {
        "bad_url": _("the address is not a valid URL"),
        "not_https": _("only https addresses are fetched"),
        "host_not_allowed": _("its host is not on the client's list of photo hosts"),
        "dns_failed": _("the host name could not be resolved"),
        "private_address": _("the host has a private or otherwise non-public address"),
        "connection_failed": _("the server could not be reached"),
        "tls_error": _("the server's TLS certificate could not be verified"),
        "timeout": _("the download took longer than %(seconds)d seconds"),
        "too_large": _("the file is larger than %(megabytes)g MB"),
        "http_error": _("the server answered with HTTP status %(status)d"),
        "too_many_redirects": _("the server redirected more than %(count)d times"),
        "not_an_image": _("the server did not send an image"),
    }

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(self.messages[self.code]) % self.params if self.params else str(self.messages[self.code])


def check_url(url: str, *, hosts: Collection[str]) -> tuple[str, int, str]:
    """What can be checked without the network: an https URL without credentials whose host is in ``hosts``
    (lower case). Returns (host, port, request target)."""
    try:
        parts = urlsplit(url)
        port = 443 if parts.port is None else parts.port
    except ValueError:  # not a URL, or a port beyond 65535
        raise FetchRefused("bad_url") from None
    if port == 0:
        raise FetchRefused("bad_url")
    if parts.scheme.lower() != "https":
        raise FetchRefused("not_https")
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username is not None or parts.password is not None or not host.isascii():
        raise FetchRefused("bad_url")
    if host not in hosts:
        raise FetchRefused("host_not_allowed")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return host, port, target


def is_public(address: IPAddress, allowed: Collection[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()) -> bool:
    """Whether ``address`` may be connected to: globally routable, or in one of the ``allowed`` networks."""
    if any(address.version == net.version and address in net for net in allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped, allowed)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address.version == net.version and address in net for net in _NEVER)


def fetch_image(url: str, *, hosts: Collection[str]) -> bytes:
    """The body of the image at ``url``, following at most MAX_REDIRECTS redirects; raises FetchRefused."""
    timeout = float(settings.OPEN311_MEDIA_TIMEOUT)
    deadline = time.monotonic() + timeout
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            location = _get(url, hosts=hosts, deadline=deadline)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # Past the deadline whatever broke (a receive refused, an incomplete read), it was the time.
            if time.monotonic() >= deadline or isinstance(exc, TimeoutError):
                raise FetchRefused("timeout", seconds=round(timeout)) from exc
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise FetchRefused("tls_error") from exc
            raise FetchRefused("connection_failed") from exc
        if isinstance(location, bytes):
            return location
        url = location
    raise FetchRefused("too_many_redirects", count=MAX_REDIRECTS)


def _get(url: str, *, hosts: Collection[str], deadline: float) -> bytes | str:
    """One request: the body, or the absolute URL a redirect points to."""
    host, port, target = check_url(url, hosts=hosts)
    addresses = _resolve(host, port, deadline)
    connection = _PinnedHTTPSConnection(host, port, addresses, deadline=deadline)
    try:
        connection.request("GET", target, headers={
            "User-Agent": "OpenMelder", "Accept": "image/*", "Accept-Encoding": "identity",
        })
        response = connection.getresponse()
        if response.status in _REDIRECTS and response.getheader("Location"):
            return urljoin(url, response.getheader("Location", ""))
        if response.status != 200:
            raise FetchRefused("http_error", status=response.status)
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            raise FetchRefused("not_an_image")
        return _body(response)
    finally:
        connection.close()


def _body(response: http.client.HTTPResponse) -> bytes:
    max_bytes = int(settings.OPEN311_MEDIA_MAX_BYTES)
    too_large = FetchRefused("too_large", megabytes=round(max_bytes / 2**20, 1))
    length = response.getheader("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise too_large
    chunks, total = [], 0
    while True:
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(net) for net in settings.OPEN311_MEDIA_ALLOWED_NETWORKS]


def _resolve(host: str, port: int, deadline: float) -> list[str]:
    """Every address of ``host``, all of them checked; looked up in a thread so the deadline holds for it too."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        found = future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise TimeoutError from None
    except (socket.gaierror, UnicodeError):
        raise FetchRefused("dns_failed") from None
    finally:
        pool.shutdown(wait=False)  # a hanging lookup ends on its own; nobody waits for it
    allowed = _allowed_networks()
    addresses = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if not is_public(address, allowed):
            raise FetchRefused("private_address")
        addresses.append(str(address))
    if not addresses:
        raise FetchRefused("dns_failed")
    return addresses


def _tls_context() -> ssl.SSLContext:
    ca_file = settings.OPEN311_MEDIA_CA_FILE
    context = ssl.create_default_context()  # verifies the chain and the host name
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class _DeadlineSocket(ssl.SSLSocket):
    """A TLS socket whose every receive waits at most until ``deadline``: a server that sends a byte just
    often enough to beat any per-receive timeout is still cut off when the whole download's time is up."""

    deadline: float = 0.0

    def recv_into(self, buffer, nbytes: int | None = None, flags: int = 0) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        self.settimeout(remaining)
        return super().recv_into(buffer, nbytes or 0, flags)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to addresses checked beforehand, with TLS verified for the host name, within one deadline."""

    def __init__(self, host: str, port: int, addresses: list[str], *, deadline: float) -> None:
        context = _tls_context()
        context.sslsocket_class = _DeadlineSocket
        super().__init__(host, port, timeout=max(0.01, deadline - time.monotonic()), context=context)
        self._addresses = addresses
        self._deadline = deadline

    def connect(self) -> None:
        error: OSError | None = None
        for address in self._addresses:
            try:
                raw = socket.create_connection((address, self.port), timeout=self._remaining())
                break
            except OSError as exc:
                error = exc
        else:
            raise error or OSError("no address")
        raw.settimeout(self._remaining())  # the handshake
        sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]
        sock.deadline = self._deadline
        self.sock = sock

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        return remaining

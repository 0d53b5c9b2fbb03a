"""Addresses for places and places for addresses, through geopy and a configurable provider.

Both directions are best-effort: a geocoder that is down, slow, answering garbage or switched off
(``GEOCODER=none``) yields no answer, never an exception, so neither a submission nor the web form
depends on it. HTTP goes through the standard library (geopy's ``URLLibAdapter``): the geocoder
needs no package beyond ``requirements/base.txt``.
Answers are cached (Django's cache): reverse lookups by coordinates rounded to about a metre,
searches by their normalised text. Failures are not cached, so the next call tries again.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from geopy.adapters import URLLibAdapter
from geopy.geocoders import Nominatim

logger = logging.getLogger(__name__)

# Five decimals are about 1 m in Germany: reports at the same spot share one lookup.
_COORDINATE_DECIMALS = 5
SEARCH_LIMIT = 5
# Searches are biased to, not bounded by, Germany: the service areas lie there.
_COUNTRY_CODES = "de"


def enabled() -> bool:
    return settings.GEOCODER["PROVIDER"] != "none"


def _geocoder() -> Nominatim:
    config = settings.GEOCODER
    url = urlsplit(config["URL"])
    # geopy takes the host (and any path prefix of a proxied installation) as "domain".
    domain = url.netloc + url.path.rstrip("/")
    return Nominatim(
        domain=domain, scheme=url.scheme, user_agent=config["USER_AGENT"], timeout=config["TIMEOUT"],
        # urllib makes no retries: GEOCODER_TIMEOUT is the longest anyone waits (the web form's search
        # waits in the request).
        adapter_factory=URLLibAdapter,
    )


def reverse(lat: float, lon: float) -> str | None:
    """The address at a point ("Pferdemarkt 1, 31785 Hameln"), or None when unknown or unavailable."""
    if not enabled():
        return None
    key = f"geo:reverse:{round(lat, _COORDINATE_DECIMALS)}:{round(lon, _COORDINATE_DECIMALS)}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    try:
        location = _geocoder().reverse((lat, lon), exactly_one=True, language="de", addressdetails=True)
        address = format_address(location.raw) if location is not None else ""
    except Exception as exc:  # noqa: BLE001 - any failure of a best-effort lookup is "no answer" (see above)
        logger.warning("Reverse geocoding of %.5f,%.5f failed: %r", lat, lon, exc)
        return None
    # "" (nothing there) is cached too: asking again would give the same answer.
    cache.set(key, address, settings.GEOCODER["CACHE_SECONDS"])
    return address or None


def search(text: str) -> list[tuple[str, float, float]] | None:
    """Places matching an address or place name, best first, as (label, lat, lon).

    [] when nothing matches, None when the geocoder is switched off or did not answer usefully.
    """
    query = " ".join(text.split())
    if not enabled():
        return None
    if not query:
        return []
    key = "geo:search:" + hashlib.sha256(query.casefold().encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return [tuple(place) for place in cached]
    try:
        locations = _geocoder().geocode(
            query, exactly_one=False, limit=SEARCH_LIMIT, language="de", addressdetails=True,
            country_codes=_COUNTRY_CODES,
        )
        places = [(format_address(location.raw) or location.address, location.latitude, location.longitude)
                  for location in locations or []]
    except Exception as exc:  # noqa: BLE001 - any failure of a best-effort lookup is "no answer" (see above)
        logger.warning("Address search failed: %r", exc)
        return None
    # A geocoder's coordinates are client data too: a place outside the globe is no place.
    places = [(label, lat, lon) for label, lat, lon in places if _on_earth(lat, lon)]
    cache.set(key, places, settings.GEOCODER["CACHE_SECONDS"])
    return places


def _on_earth(lat: object, lon: object) -> bool:
    return isinstance(lat, float) and isinstance(lon, float) and -90 <= lat <= 90 and -180 <= lon <= 180


def format_address(raw: dict) -> str:
    """A short German postal address from Nominatim's details, else its display name."""
    details = raw.get("address") or {}
    street = details.get("road") or details.get("pedestrian") or details.get("footway") or details.get("path")
    place = next(
        (details[k] for k in ("city", "town", "village", "municipality", "hamlet", "suburb") if details.get(k)), ""
    )
    if street and place:
        first = f"{street} {details['house_number']}" if details.get("house_number") else street
        second = f"{details['postcode']} {place}" if details.get("postcode") else place
        return f"{first}, {second}"
    return str(raw.get("display_name") or "")

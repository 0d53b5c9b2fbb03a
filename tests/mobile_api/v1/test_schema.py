"""The app team builds against the OpenAPI document; the Swagger UI works without internet."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_documents_the_citizen_api(client):
    response = client.get("/api/schema/", {"format": "json"}, secure=True)
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/categories/",
        "/api/v1/reports/",
        "/api/v1/reports/{public_id}/",
        "/api/v1/reports/{public_id}/events/",
        "/api/v1/reports/nearby/",
        "/api/v1/reports/{public_id}/support/",
    ]:
        assert path in schema["paths"], path
    assert "Idempotency-Key" in str(schema["paths"]["/api/v1/reports/"]["post"]["parameters"])


def test_the_swagger_ui_is_served_from_our_own_static_files(client):
    response = client.get("/api/docs/", secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    # Every script and style sheet comes from this server (the page's CSRF token is random text, so look at
    # the addresses, not for the letters "cdn" anywhere).
    addresses = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    external = [address for address in addresses if not address.startswith("/") or address.startswith("//")]
    assert addresses and external == []
    assert "/static/drf_spectacular_sidecar/" in html

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.fixture
def demo(db, monkeypatch):
    """The demo configuration (Landkreis Hameln-Pyrmont), without sample reports."""
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    call_command("load_demo", "--reports", "0", stdout=StringIO())


HAMELN_MARKET = {"lat": "52.1039", "lon": "9.3576"}

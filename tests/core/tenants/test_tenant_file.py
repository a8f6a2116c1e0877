from datetime import time
from pathlib import Path

import pytest

from core.errors import InputError
from core.tenants.document import load_tenant_file, parse_tenant
from tests.conftest import EXAMPLE_TENANT, TENANTS


def test_example_and_test_tenants_parse() -> None:
    example = load_tenant_file(EXAMPLE_TENANT)
    assert example.id == "example"
    assert example.opening_hours()["sun"] == []
    assert example.opening_hours()["mon"] == [(time(7, 30), time(17, 0))]
    assert "AI assistant" in example.greeting()
    for path in TENANTS.glob("*.toml"):
        assert load_tenant_file(path).services


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {"id": "shop", "name": "Shop", "timezone": "Europe/Paris"}
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
        ({"id": "Bad Id!"}, "id must be"),
        ({"hours": {"mon": "9-5"}}, "hours.mon"),
        ({"hours": {"mon": "17:00-09:00"}}, "ends before it starts"),
        ({"hours": {"funday": "09:00-17:00"}}, "hours.funday: not a day"),
        ({"numbers": ["call me"]}, "is not a phone number"),
        ({"numbers": ["+15550100", "+1 555 0100"]}, "listed twice"),
        ({"transfer": {"number": "ask for Bob"}}, "transfer.number: 'ask for Bob' is neither"),
        ({"telephony": {"after_hours_transfer": "nobody"}}, "telephony.after_hours_transfer"),
        ({"services": [{"name": "X", "duration_minutes": 0}]}, "duration_minutes"),
        ({"colour": "blue"}, "unknown field `colour`"),
        ({"name": 5}, "name"),
        ({"allow_hosts": ["the office"]}, "allow_hosts: 'the office' is neither a host name nor an address range"),
        ({"allow_hosts": ["dav.example:5232"]}, "allow_hosts: 'dav.example:5232' is neither"),
        ({"booking": {"caldav": {"url": "dav.example"}}}, "booking.caldav.url must be an http"),
    ],
)
def test_bad_tenant_documents_are_explained(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_tenant(_doc(**changes))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_tenant_file(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("id = ")
    with pytest.raises(InputError, match="not valid TOML"):
        load_tenant_file(broken)

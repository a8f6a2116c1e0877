"""A tenant document's credentials (the CalDAV password, each HTTP tool's signing secret) are kept encrypted in the
secrets table, never in the tenants table; the parts of a call that use them still get them; a store written by
an earlier version, with them in clear in the tenants table, has them moved at start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest

from core.calendars.caldav_calendar import CaldavCalendar
from core.calendars.factory import calendar_for
from core.errors import InputError
from core.security.secrets import SecretBox, SecretStore
from core.store.database import Store, utcnow
from core.store.tenants import TenantRepository
from core.tenants import credentials
from core.tenants.document import Caldav, TenantDocument, parse_tenant
from core.tools.http_tool import TenantHttpTool, signature
from core.tools.registry import tools_for

PASSWORD = "caldav-hunter2-password"
TOOL_SECRET = "tool-signing-s3cret-value"


def clinic(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "clinic",
        "name": "Clinic",
        "timezone": "Europe/London",
        "booking": {
            "calendar": "caldav",
            "caldav": {"url": "https://dav.example/cal", "username": "front-desk", "password": PASSWORD},
        },
        "tools": [
            {
                "name": "order_status",
                "description": "Where an order is",
                "url": "https://orders.example/status",
                "secret": TOOL_SECRET,
            }
        ],
    }
    raw.update(changes)
    return raw


def _repository(tmp_path: Path, store: Store | None = None) -> tuple[Store, SecretStore, TenantRepository]:
    store = store or Store.open(tmp_path / "db.duckdb")
    vault = SecretStore(store, SecretBox.from_file(tmp_path / "secret.key"))
    return store, vault, TenantRepository(store, vault)


def _stored_document(store: Store, tenant_id: str = "clinic") -> str:
    return str(store.scalar("SELECT document FROM tenants WHERE id = ?", [tenant_id]))


def test_credentials_are_kept_encrypted_and_only_the_call_gets_them(tmp_path: Path) -> None:
    store, vault, tenants = _repository(tmp_path)
    tenants.save(parse_tenant(clinic()), replace=False, actor="test")

    document = _stored_document(store)
    assert PASSWORD not in document and TOOL_SECRET not in document
    assert vault.names("clinic") == [credentials.CALDAV_PASSWORD, credentials.tool_secret("order_status")]
    sealed = str(store.rows("SELECT list(ciphertext) FROM secrets")[0][0])
    assert PASSWORD not in sealed and TOOL_SECRET not in sealed

    # What is shown and edited says only that they are set.
    shown = tenants.get("clinic")
    assert shown.booking.caldav is not None and shown.booking.caldav.password == credentials.SET
    assert shown.tools[0].secret == credentials.SET

    # What a call uses has them: the CalDAV calendar signs in with the password, the tool signs with its secret.
    full = tenants.with_secrets("clinic")
    calendar = calendar_for(full, store)
    assert isinstance(calendar, CaldavCalendar) and calendar._config.password == PASSWORD
    tool = tools_for(full)["order_status"]
    assert isinstance(tool, TenantHttpTool) and tool._spec.secret == TOOL_SECRET
    assert signature(tool._spec.secret, "1", b"{}") == signature(TOOL_SECRET, "1", b"{}")

    store.close()
    raw = (tmp_path / "db.duckdb").read_bytes()
    assert PASSWORD.encode() not in raw and TOOL_SECRET.encode() not in raw


def test_saving_keeps_replaces_or_clears_each_credential(tmp_path: Path) -> None:
    store, vault, tenants = _repository(tmp_path)
    tenants.save(parse_tenant(clinic()), replace=False, actor="test")

    # Saved back as it was read (the pages do this for every settings change): both kept.
    tenants.save(tenants.get("clinic"), replace=True, actor="test")
    assert vault.get("clinic", credentials.CALDAV_PASSWORD) == PASSWORD
    assert vault.get("clinic", credentials.tool_secret("order_status")) == TOOL_SECRET

    # A new password replaces the old; the tool's secret, "not set" as an API client may send it back, is kept.
    raw = clinic()
    raw["booking"]["caldav"]["password"] = "a-new-password"
    raw["tools"][0]["secret"] = credentials.NOT_SET
    tenants.save(parse_tenant(raw), replace=True, actor="test")
    full = tenants.with_secrets("clinic")
    assert full.booking.caldav is not None and full.booking.caldav.password == "a-new-password"
    assert full.tools[0].secret == TOOL_SECRET

    # The calendar moved to another server: the stored password is not sent there unless given again.
    raw = clinic()
    raw["booking"]["caldav"] = {**raw["booking"]["caldav"], "url": "https://elsewhere.example/dav", "password": "set"}
    with pytest.raises(InputError, match=r"booking.caldav.url changed .* give the calendar's password again"):
        tenants.save(parse_tenant(raw), replace=True, actor="test")
    assert tenants.with_secrets("clinic").booking.caldav == Caldav(
        url="https://dav.example/cal", username="front-desk", password="a-new-password"
    )
    raw["booking"]["caldav"]["password"] = "password-for-elsewhere"
    tenants.save(parse_tenant(raw), replace=True, actor="test")
    assert vault.get("clinic", credentials.CALDAV_PASSWORD) == "password-for-elsewhere"

    # "" clears; a tool renamed leaves no secret behind under its old name.
    raw = clinic()
    raw["booking"]["caldav"]["password"] = ""
    raw["tools"][0] = {**raw["tools"][0], "name": "order_lookup", "secret": credentials.SET}
    tenants.save(parse_tenant(raw), replace=True, actor="test")
    assert vault.names("clinic") == []
    full = tenants.with_secrets("clinic")
    assert full.booking.caldav is not None and full.booking.caldav.password == ""
    assert full.tools[0].secret == ""
    assert tenants.get("clinic").tools[0].secret == ""

    changes = [
        msgspec.json.decode(row[0]).get("credentials")
        for row in store.rows("SELECT detail FROM audit_log WHERE action = 'tenant.replace' ORDER BY occurred_at")
    ]
    assert changes == [
        None,
        {credentials.CALDAV_PASSWORD: "set"},
        {credentials.CALDAV_PASSWORD: "set", credentials.tool_secret("order_status"): "set"},
        {credentials.CALDAV_PASSWORD: "cleared", credentials.tool_secret("order_status"): "cleared"},
    ]
    store.close()


def test_a_store_without_a_key_refuses_a_credential() -> None:
    tenants = TenantRepository(Store.memory())
    with pytest.raises(InputError, match=r"caldav:password, tool:order_status:secret cannot be kept: .*no secret key"):
        tenants.save(parse_tenant(clinic()), replace=False, actor="test")
    without = clinic(tools=[])
    without["booking"]["caldav"]["password"] = ""
    tenants.save(parse_tenant(without), replace=False, actor="test")


def test_credentials_in_clear_in_an_old_store_are_moved(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A box written by an earlier version: the whole document, credentials and all, in the tenants table.
    store = Store.open(tmp_path / "db.duckdb")
    old = parse_tenant(clinic())
    plain = parse_tenant({"id": "plain", "name": "Plain", "timezone": "UTC"})
    for doc in (old, plain):
        store.execute(
            "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?)",
            [doc.id, doc.name, doc.timezone, msgspec.json.encode(doc).decode(), utcnow(), utcnow()],
        )
    store.execute("CHECKPOINT")
    assert PASSWORD in _stored_document(store)

    store, _vault, tenants = _repository(tmp_path, store)
    caplog.set_level(logging.WARNING, logger="core.store.tenants")
    assert tenants.move_clear_credentials() == 2
    [line] = [r.getMessage() for r in caplog.records if r.name == "core.store.tenants"]
    assert "moved 2 credential(s) of 1 business(es) (clinic: caldav:password tool:order_status:secret)" in line
    assert "change those passwords and secrets" in line

    assert PASSWORD not in _stored_document(store) and TOOL_SECRET not in _stored_document(store)
    full = tenants.with_secrets("clinic")
    assert full.booking.caldav is not None and full.booking.caldav.password == PASSWORD
    assert full.tools[0].secret == TOOL_SECRET
    assert msgspec.json.decode(_stored_document(store, "plain"), type=TenantDocument) == plain
    moved = store.rows("SELECT tenant_id, detail FROM audit_log WHERE action = 'tenant.credentials_moved'")
    assert [(t, msgspec.json.decode(d)) for t, d in moved] == [
        ("clinic", {"credentials": [credentials.CALDAV_PASSWORD, credentials.tool_secret("order_status")]})
    ]

    # Nothing left to move: the next start does nothing and says nothing.
    caplog.clear()
    assert tenants.move_clear_credentials() == 0
    assert not [r for r in caplog.records if r.name == "core.store.tenants"]
    store.close()

"""A business's credentials over the API, and the box's SIP trunks: the tenant document shows its CalDAV password
and tools' signing secrets only as "set" / "not set", and only to owners; writing the document keeps, replaces or
clears them as asked; the trunks' accounts are shown to installers only. Against the real app on loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from appliance.runtime import Runtime
from core.security.secrets import SecretBox
from core.store.database import Store, utcnow
from core.tenants import credentials
from core.tenants.document import parse_tenant
from sip.settings import TrunkSettings
from tests.conftest import settings_for
from tests.web.harness import Served, serve
from tests.web.seed import PASSWORD as STAFF_PASSWORD
from web.store.accounts import Accounts

CLINIC, OTHER = "clinic", "other-shop"
CALDAV_PASSWORD = "caldav-hunter2-password"
TOOL_SECRET = "tool-signing-s3cret-value"
TRUNK_USER, TRUNK_REGISTRAR = "clinic-trunk-account", "sip.carrier.example"
STAFF = {"owner": "owner@clinic.example", "supervisor": "super@clinic.example", "agent": "agent@clinic.example"}
OTHER_OWNER = "owner@other.example"


def clinic_document() -> dict[str, Any]:
    return {
        "id": CLINIC,
        "name": "Riverside Clinic",
        "timezone": "Europe/London",
        "numbers": ["+442079460123"],
        "booking": {
            "calendar": "caldav",
            "caldav": {"url": "https://dav.example/cal", "username": "front-desk", "password": CALDAV_PASSWORD},
        },
        "tools": [
            {"name": "order_status", "description": "Where an order is", "url": "https://o.ex/", "secret": TOOL_SECRET},
            {"name": "stock_check", "description": "Whether it is in stock", "url": "https://o.example/stock"},
        ],
    }  # fmt: skip


def _runtime(data_dir: Path, models_dir: Path) -> Runtime:
    settings = settings_for(data_dir, models_dir)
    trunk = TrunkSettings(name="carrier", registrar=TRUNK_REGISTRAR, username=TRUNK_USER, password="trunk-pw-123")
    # SIP off: the trunk is in the settings (and its status shown) without registering anywhere.
    sip = msgspec.structs.replace(settings.sip, enabled=False, trunks=[trunk])
    settings = msgspec.structs.replace(settings, sip=sip)
    return Runtime.open(settings)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    runtime = _runtime(tmp_path_factory.mktemp("secrets-box"), models_dir)
    runtime.tenants.save(parse_tenant(clinic_document()), replace=False, actor="test")
    runtime.tenants.save(parse_tenant({"id": OTHER, "name": "Other Shop", "timezone": "UTC"}), replace=False, actor="t")
    accounts = Accounts(runtime.store)
    for role, email in [*STAFF.items(), ("owner", OTHER_OWNER)]:
        user = accounts.create(email=email, name=email.split("@")[0].title(), password=STAFF_PASSWORD, phone=None)
        accounts.grant(user, OTHER if email == OTHER_OWNER else CLINIC, role)  # type: ignore[arg-type]
    with serve(runtime) as served:
        yield served
    runtime.close()


@pytest.fixture
async def signed_in(box: Served) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """An API client with a signed-in session (and its CSRF token) for each member of staff, and the CLI's."""
    clients: dict[str, httpx.AsyncClient] = {}
    for who, email in [*STAFF.items(), ("other owner", OTHER_OWNER)]:
        client = httpx.AsyncClient(base_url=box.url)
        form = await client.get("/login")
        found = re.search(r'name="_csrf" value="([^"]+)"', form.text)
        assert found, form.text
        done = await client.post(
            "/login", data={"_csrf": found.group(1), "next": "/", "email": email, "password": STAFF_PASSWORD}
        )
        assert done.status_code in (302, 303), done.text
        page = await client.get(f"/t/{CLINIC if who != 'other owner' else OTHER}/calls")
        csrf = re.search(r'data-csrf="([^"]+)"', page.text)
        assert csrf, page.text
        client.headers["X-CSRF-Token"] = csrf.group(1)
        clients[who] = client
    clients["installer"] = httpx.AsyncClient(base_url=box.url, headers={"Authorization": f"Bearer {box.cli_token}"})
    yield clients
    for client in clients.values():
        await client.aclose()


def _stored(box: Served) -> dict[str, str]:
    doc = box.runtime.tenants.with_secrets(CLINIC)
    assert doc.booking.caldav is not None
    return {"caldav": doc.booking.caldav.password, **{t.name: t.secret for t in doc.tools}}


async def test_credentials_are_shown_as_set_to_owners_and_not_at_all_to_others(
    box: Served, signed_in: dict[str, httpx.AsyncClient]
) -> None:
    document = str(box.runtime.store.scalar("SELECT document FROM tenants WHERE id = ?", [CLINIC]))
    assert CALDAV_PASSWORD not in document and TOOL_SECRET not in document

    for who in ("agent", "supervisor"):
        reply = await signed_in[who].get(f"/api/v1/tenants/{CLINIC}")
        assert reply.status_code == 200, reply.text
        assert CALDAV_PASSWORD not in reply.text and TOOL_SECRET not in reply.text
        body = reply.json()
        assert body["name"] == "Riverside Clinic" and body["booking"]["caldav"]["username"] == "front-desk"
        assert "password" not in body["booking"]["caldav"], who
        assert all("secret" not in tool for tool in body["tools"]), who

    for who in ("owner", "installer"):
        reply = await signed_in[who].get(f"/api/v1/tenants/{CLINIC}")
        assert reply.status_code == 200, reply.text
        assert CALDAV_PASSWORD not in reply.text and TOOL_SECRET not in reply.text
        body = reply.json()
        assert body["booking"]["caldav"]["password"] == "set"
        assert {t["name"]: t["secret"] for t in body["tools"]} == {"order_status": "set", "stock_check": "not set"}

    assert (await signed_in["other owner"].get(f"/api/v1/tenants/{CLINIC}")).status_code == 403


async def test_writing_the_document_keeps_replaces_or_clears_credentials(
    box: Served, signed_in: dict[str, httpx.AsyncClient]
) -> None:
    owner = signed_in["owner"]
    original = {"caldav": CALDAV_PASSWORD, "order_status": TOOL_SECRET, "stock_check": ""}
    try:
        # The document as an owner reads it, sent back: nothing changes.
        shown = (await owner.get(f"/api/v1/tenants/{CLINIC}")).json()
        assert (await owner.put("/api/v1/tenants", json=shown)).status_code == 200
        assert _stored(box) == original

        # Left out: kept. A settings page saving another part of the document: kept.
        doc = clinic_document()
        del doc["booking"]["caldav"]["password"]
        del doc["tools"][0]["secret"]
        assert (await owner.put("/api/v1/tenants", json=doc)).status_code == 200
        notifications = {"owner_email": "desk@clinic.example", "owner_sms": "", "confirm_bookings_by_sms": False}
        assert (await owner.put(f"/api/v1/tenants/{CLINIC}/notifications", json=notifications)).status_code == 200
        assert _stored(box) == original

        # A new value replaces; null and "" clear.
        doc = clinic_document()
        doc["booking"]["caldav"]["password"] = "a-new-caldav-password"
        doc["tools"][0]["secret"] = None
        doc["tools"][1]["secret"] = "stock-secret"
        assert (await owner.put("/api/v1/tenants", json=doc)).status_code == 200
        assert _stored(box) == {"caldav": "a-new-caldav-password", "order_status": "", "stock_check": "stock-secret"}
        doc["booking"]["caldav"]["password"] = ""
        assert (await owner.put("/api/v1/tenants", json=doc)).status_code == 200
        assert _stored(box)["caldav"] == ""

        # An agent or supervisor may not write the document, so may not change a credential either.
        for who in ("agent", "supervisor"):
            doc["booking"]["caldav"]["password"] = f"{who}-password"
            assert (await signed_in[who].put("/api/v1/tenants", json=doc)).status_code == 403
        assert _stored(box)["caldav"] == ""
        # The calendar pointed at another server, its password left out: refused, not sent there.
        doc = clinic_document()
        doc["booking"]["caldav"]["password"] = "restored-password"
        assert (await owner.put("/api/v1/tenants", json=doc)).status_code == 200
        doc["booking"]["caldav"]["url"] = "https://attacker.example/dav"
        del doc["booking"]["caldav"]["password"]
        reply = await owner.put("/api/v1/tenants", json=doc)
        assert reply.status_code == 400 and "give the calendar's password again" in reply.text
        assert _stored(box)["caldav"] == "restored-password"
        # A credential of the wrong type is a clear 400.
        doc["booking"]["caldav"]["password"] = 42
        reply = await owner.put("/api/v1/tenants", json=doc)
        assert reply.status_code == 400 and "booking.caldav.password" in reply.text
    finally:
        box.runtime.tenants.save(parse_tenant(clinic_document()), replace=True, actor="test")


async def test_the_box_sip_line_is_for_installers_and_a_business_sees_its_status_without_accounts(
    box: Served, signed_in: dict[str, httpx.AsyncClient]
) -> None:
    for who in ("agent", "supervisor", "owner", "other owner"):
        reply = await signed_in[who].get("/api/v1/sip")
        assert reply.status_code == 403, who
        assert TRUNK_USER not in reply.text
    box_line = await signed_in["installer"].get("/api/v1/sip")
    assert box_line.status_code == 200
    [trunk] = box_line.json()["trunks"]
    assert trunk["username"] == TRUNK_USER and trunk["registrar"] == TRUNK_REGISTRAR

    reply = await signed_in["owner"].get(f"/api/v1/tenants/{CLINIC}/sip")
    assert reply.status_code == 200
    assert TRUNK_USER not in reply.text and TRUNK_REGISTRAR not in reply.text
    [trunk] = reply.json()["trunks"]
    assert trunk["name"] == "carrier" and trunk["state"] == "not running" and trunk["username"] is None
    for who in ("agent", "supervisor", "other owner"):  # the settings page's own rule: owners
        assert (await signed_in[who].get(f"/api/v1/tenants/{CLINIC}/sip")).status_code == 403, who
    installer = (await signed_in["installer"].get(f"/api/v1/tenants/{CLINIC}/sip")).json()
    assert installer["trunks"][0]["username"] == TRUNK_USER


def test_a_call_is_built_from_the_document_with_its_credentials(box: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    class Stop(Exception):
        pass

    def spy(tenant: Any, _now: Any) -> Any:
        seen.append(tenant)
        raise Stop

    monkeypatch.setattr("appliance.runtime.route", spy)
    with pytest.raises(Stop):
        box.runtime.new_call(CLINIC, channel="sip", caller="+447700900123", callee=None, rate=16000)
    [tenant] = seen
    assert tenant.booking.caldav.password == CALDAV_PASSWORD
    assert [t.secret for t in tenant.tools] == [TOOL_SECRET, ""]


def test_a_box_with_credentials_in_clear_has_them_moved_when_it_starts(tmp_path: Path, models_dir: Path) -> None:
    # What an earlier version left: the whole document, credentials and all, in the tenants table.
    settings = settings_for(tmp_path, models_dir)
    store = Store.open(settings.store_path)
    doc = parse_tenant(clinic_document())
    store.execute(
        "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?)",
        [doc.id, doc.name, doc.timezone, msgspec.json.encode(doc).decode(), utcnow(), utcnow()],
    )
    store.close()

    runtime = Runtime.open(settings)
    try:
        document = str(runtime.store.scalar("SELECT document FROM tenants WHERE id = ?", [CLINIC]))
        assert CALDAV_PASSWORD not in document and TOOL_SECRET not in document
        sealed = [str(c) for (c,) in runtime.store.rows("SELECT ciphertext FROM secrets ORDER BY name")]
        assert len(sealed) == 2 and not any(CALDAV_PASSWORD in c or TOOL_SECRET in c for c in sealed)
        full = runtime.tenants.with_secrets(CLINIC)
        assert full.booking.caldav is not None and full.booking.caldav.password == CALDAV_PASSWORD
        assert runtime.tenants.get(CLINIC).tools[0].secret == credentials.SET
    finally:
        runtime.close()
    # Sealed under the box's key file.
    assert SecretBox.from_file(settings.key_path).decrypt(sealed[0], f"{CLINIC}/{credentials.CALDAV_PASSWORD}")

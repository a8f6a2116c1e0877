"""A business's allow_hosts opens the box's network to its tools, calendar and webhooks, so only an installer may
change it: an owner replacing the tenant document may keep it (or leave it out) but not change it. Against the
real app on loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from tests.conftest import settings_for
from tests.web.harness import Served, serve
from web.store.accounts import Accounts

SHOP = "corner-shop"
PASSWORD = "a long test password 42"
OWNER = "owner@shop.example"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    runtime = Runtime.open(settings_for(tmp_path_factory.mktemp("allow-hosts-box"), models_dir))
    doc = {"id": SHOP, "name": "Corner Shop", "timezone": "Europe/London", "allow_hosts": ["192.168.1.20"]}
    runtime.tenants.save(parse_tenant(doc), replace=False, actor="test")
    accounts = Accounts(runtime.store)
    accounts.grant(accounts.create(email=OWNER, name="Owner", password=PASSWORD), SHOP, "owner")
    with serve(runtime) as served:
        yield served
    runtime.close()


@pytest.fixture
async def owner(box: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=box.url) as client:
        form = await client.get("/login")
        found = re.search(r'name="_csrf" value="([^"]+)"', form.text)
        assert found, form.text
        done = await client.post(
            "/login", data={"_csrf": found.group(1), "next": "/", "email": OWNER, "password": PASSWORD}
        )
        assert done.status_code in (302, 303), done.text
        page = await client.get(f"/t/{SHOP}/calls")
        csrf = re.search(r'data-csrf="([^"]+)"', page.text)
        assert csrf, page.text
        client.headers["X-CSRF-Token"] = csrf.group(1)
        yield client


async def test_only_an_installer_changes_a_business_s_allow_hosts(box: Served, owner: httpx.AsyncClient) -> None:
    doc = (await owner.get(f"/api/v1/tenants/{SHOP}")).json()
    assert doc["allow_hosts"] == ["192.168.1.20"]
    refused = await owner.put("/api/v1/tenants", json={**doc, "allow_hosts": ["127.0.0.1"]})
    assert refused.status_code == 403, refused.text
    assert box.runtime.tenants.get(SHOP).allow_hosts == ["192.168.1.20"]
    # The owner may still change everything else, sending the list as it is or leaving it out.
    assert (await owner.put("/api/v1/tenants", json={**doc, "name": "Corner Shop Ltd"})).status_code in (200, 201)
    without = {k: v for k, v in doc.items() if k != "allow_hosts"}
    assert (
        await owner.put("/api/v1/tenants", json={**without, "name": "Corner Shop Ltd", "faq": "Open late."})
    ).status_code in (200, 201)
    kept = box.runtime.tenants.get(SHOP)
    assert kept.name == "Corner Shop Ltd" and kept.faq == "Open late." and kept.allow_hosts == ["192.168.1.20"]
    async with httpx.AsyncClient(base_url=box.url, headers={"Authorization": f"Bearer {box.cli_token}"}) as cli:
        changed = await cli.put("/api/v1/tenants", json={**doc, "allow_hosts": ["192.168.1.20", "10.0.0.5"]})
    assert changed.status_code in (200, 201), changed.text
    assert box.runtime.tenants.get(SHOP).allow_hosts == ["192.168.1.20", "10.0.0.5"]

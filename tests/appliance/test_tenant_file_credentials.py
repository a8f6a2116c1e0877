"""`appliance tenant create` with a tenant file's credentials: stored encrypted, never in the tenants table; a
file that leaves one out (or writes "set") keeps the stored one, so the file need not keep the password; ""
clears it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.security.secrets import SecretBox, SecretStore
from core.store.database import Store
from core.tenants import credentials
from tests.conftest import cli_env

FILE = """
id = "clinic"
name = "Riverside Clinic"
timezone = "Europe/London"

[booking]
calendar = "caldav"

[booking.caldav]
url = "https://dav.example/cal"
username = "front-desk"
{password}

[[tools]]
name = "order_status"
description = "Where an order is"
url = "https://orders.example/status"
{secret}
"""


def _create(env: dict[str, str], path: Path, text: str, *flags: str) -> None:
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "appliance", "tenant", "create", "--from", str(path), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _stored(data: Path) -> tuple[str, dict[str, str | None]]:
    store = Store.open(data / "appliance.duckdb")
    try:
        vault = SecretStore(store, SecretBox.from_file(data / "secret.key"))
        names = (credentials.CALDAV_PASSWORD, credentials.tool_secret("order_status"))
        document = str(store.scalar("SELECT document FROM tenants WHERE id = 'clinic'"))
        return document, {name: vault.get("clinic", name) for name in names}
    finally:
        store.close()


def test_a_tenant_files_credentials_are_stored_encrypted_and_kept_when_left_out(
    tmp_path: Path, models_dir: Path
) -> None:
    data = tmp_path / "data"
    env = cli_env(data, models_dir)
    path = tmp_path / "clinic.toml"
    _create(env, path, FILE.format(password='password = "caldav-hunter2"', secret='secret = "tool-s3cret"'))
    document, stored = _stored(data)
    assert "caldav-hunter2" not in document and "tool-s3cret" not in document
    assert list(stored.values()) == ["caldav-hunter2", "tool-s3cret"]

    # The file without them (or with "set"): kept.
    _create(env, path, FILE.format(password="", secret='secret = "set"'), "--replace")
    assert list(_stored(data)[1].values()) == ["caldav-hunter2", "tool-s3cret"]

    # "" clears; a new value replaces.
    _create(env, path, FILE.format(password='password = ""', secret='secret = "new-s3cret"'), "--replace")
    assert list(_stored(data)[1].values()) == [None, "new-s3cret"]

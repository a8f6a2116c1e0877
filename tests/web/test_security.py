"""Secrets at rest, the login throttle, the role table and data retention, without a browser."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from core.audio import write_wav
from core.records import CallRecord, TurnRecord
from core.security.secrets import SecretBox, SecretKeyError, SecretStore
from core.store.calls import CallRepository
from core.store.database import Store, new_id, utcnow
from web.auth.policy import MINIMUM_ROLE, Permission, Principal, grantable_roles, role_allows
from web.auth.throttle import LoginThrottle
from web.retention import purge
from web.store.business import BusinessSettings, Retention


def test_secrets_are_encrypted_under_a_key_outside_the_database(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "secret.key"
    box = SecretBox.from_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store = Store.open(tmp_path / "db.duckdb")
    secrets = SecretStore(store, box)
    secrets.put("acme", "trunk:password", "hunter2-trunk-password")
    assert secrets.get("acme", "trunk:password") == "hunter2-trunk-password"
    assert secrets.has("acme", "trunk:password") and not secrets.has("other", "trunk:password")
    stored = store.scalar("SELECT ciphertext FROM secrets")
    assert "hunter2" not in stored
    store.close()
    assert b"hunter2-trunk-password" not in (tmp_path / "db.duckdb").read_bytes()
    # The same key file opens them again; another key cannot, and says why.
    store = Store.open(tmp_path / "db.duckdb")
    assert SecretStore(store, SecretBox.from_file(key_file)).get("acme", "trunk:password") == "hunter2-trunk-password"
    with pytest.raises(SecretKeyError, match="not the one it was written with"):
        SecretStore(store, SecretBox.from_file(tmp_path / "other.key")).get("acme", "trunk:password")
    store.close()


def test_a_ciphertext_is_bound_to_its_tenant_and_name(tmp_path: Path) -> None:
    box = SecretBox.from_file(tmp_path / "k")
    sealed = box.encrypt("webhook key", "acme/webhook:1")
    assert box.decrypt(sealed, "acme/webhook:1") == "webhook key"
    with pytest.raises(SecretKeyError):
        box.decrypt(sealed, "evil/webhook:1")


def test_a_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("not base64 at all!")
    with pytest.raises(SecretKeyError, match="cannot read the secret key"):
        SecretBox.from_file(tmp_path / "k")


def test_login_throttle_counts_failures_per_account_and_address() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("10.0.0.5", "ann@x.example") == 0
        throttle.failed("10.0.0.5", "ann@x.example")
    assert throttle.retry_after("10.0.0.5", "ANN@x.example ") == pytest.approx(60)
    # Another address, or another account from the same address, is not held up.
    assert throttle.retry_after("10.0.0.6", "ann@x.example") == 0
    assert throttle.retry_after("10.0.0.5", "bob@x.example") == 0
    now[0] = 61.0
    assert throttle.retry_after("10.0.0.5", "ann@x.example") == 0
    # One address trying many accounts is held up too, with more room.
    for i in range(12):
        throttle.failed("10.0.0.9", f"user{i}@x.example")
    assert throttle.retry_after("10.0.0.9", "someone-new@x.example") > 0


def test_roles_form_a_ladder() -> None:
    assert set(MINIMUM_ROLE) == set(Permission)
    assert role_allows("agent", Permission.CALLS_READ) and not role_allows("agent", Permission.LEADS_WRITE)
    assert role_allows("supervisor", Permission.KNOWLEDGE_WRITE) and not role_allows(
        "supervisor", Permission.USERS_MANAGE
    )
    assert not role_allows("supervisor", Permission.SETTINGS_READ)  # trunk secrets live there
    assert role_allows("owner", Permission.AUDIT_READ) and not role_allows(None, Permission.CALLS_READ)
    assert grantable_roles("supervisor") == ["agent", "supervisor"]
    token = Principal(kind="token", id="t", name="script", roles={"acme": "owner"})
    assert token.may(Permission.SETTINGS_WRITE, "acme") and not token.may(Permission.CALLS_READ, "other")
    assert Principal(kind="cli", id="cli", name="cli", everywhere=True).may(Permission.USERS_MANAGE, "any")


def _call(calls: CallRepository, tenant: str, days_ago: int, recording: str | None) -> str:
    started = utcnow() - timedelta(days=days_ago)
    call = CallRecord(
        id=new_id("call"), tenant_id=tenant, assistant_id="default", channel="sip", caller="+1", callee=None,
        started_at=started,
    )  # fmt: skip
    calls.start(call)
    calls.add_turn(tenant, call.id, TurnRecord(idx=0, started_at=started, source="greeting", caller=None, reply="Hi"))
    call.status, call.ended_at, call.duration_s = "ended", started, 5.0
    if recording:
        call.meta["recording"] = recording
    calls.finish(call)
    return call.id


def test_retention_deletes_old_recordings_then_old_calls(tmp_path: Path) -> None:
    store = Store.memory()
    calls = CallRepository(store)
    recordings = tmp_path / "recordings"
    for name in ("acme/old.wav", "acme/mid.wav", "acme/new.wav", "keep/old.wav"):
        write_wav(recordings / name, np.zeros(800, np.int16), 8000)
    old = _call(calls, "acme", 400, "acme/old.wav")
    mid = _call(calls, "acme", 60, "acme/mid.wav")
    new = _call(calls, "acme", 1, "acme/new.wav")
    kept = _call(calls, "keep", 400, "keep/old.wav")  # a business without a retention setting
    BusinessSettings(store, SecretStore(store, SecretBox.from_file(tmp_path / "k"))).set_retention(
        "acme", Retention(recordings_days=30, calls_days=365)
    )
    assert {k: v for k, v in purge(store, recordings).items() if v} == {"recordings": 2, "calls": 1}
    remaining = {r[0]: r[1] for r in store.rows("SELECT id, recording FROM calls")}
    assert remaining == {mid: None, new: "acme/new.wav", kept: "keep/old.wav"}
    assert not store.scalar("SELECT count(*) FROM turns WHERE call_id = ?", [old])
    assert sorted(p.name for p in (recordings / "acme").iterdir()) == ["new.wav"]
    assert (recordings / "keep" / "old.wav").exists()
    actions = {r[0] for r in store.rows("SELECT action FROM audit_log WHERE tenant_id = 'acme'")}
    assert {"retention.purge_recordings", "retention.purge_calls"} <= actions
    assert set(purge(store, recordings).values()) == {0}


async def test_webhooks_are_signed_and_retried(tmp_path: Path) -> None:
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            # The first delivery fails, as a busy endpoint would; the retry gets through.
            self.send_response(503 if len(received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = Store.memory()
    business = BusinessSettings(store, SecretStore(store, SecretBox.from_file(tmp_path / "k")))
    hook, key = business.add_webhook("acme", f"http://127.0.0.1:{server.server_port}/hook", ["call.ended"])
    business.add_webhook("other", f"http://127.0.0.1:{server.server_port}/not-theirs", ["call.ended"])
    from web.webhooks import WebhookSender

    sender = WebhookSender(business, lambda tenant_id: ["127.0.0.1"], backoff_s=0.01)  # loopback endpoints
    call = CallRecord(id="call_1", tenant_id="acme", assistant_id="default", channel="sip", caller="+1", callee=None,
                      started_at=utcnow(), status="ended", outcome="booked")  # fmt: skip
    sender.call_ended(call)
    await sender.drain()
    server.shutdown()
    assert len(received) == 2
    headers, body = received[-1]
    assert json.loads(body)["call"]["outcome"] == "booked" and json.loads(body)["event"] == "call.ended"
    assert headers["X-Appliance-Signature"] == "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    assert hook.id

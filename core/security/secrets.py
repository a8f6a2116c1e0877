"""Secrets encrypted at rest: trunk passwords, webhook keys, anything a business gives us that grants access
elsewhere. AES-256-GCM under a key kept in its own file (readable by the appliance's user only), never in the
database, so a copy of the database alone reveals nothing. Each ciphertext is bound to its tenant and name, so
one cannot be swapped for another's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import ApplianceError
from core.store.database import Store, utcnow

log = logging.getLogger(__name__)

_VERSION = "v1"


class SecretKeyError(ApplianceError):
    """The key file is missing, unreadable, malformed, or not the key the secrets were written with."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretKeyError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = hashlib.sha256(b"appliance-mac:" + key).digest()

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        """Read the key, creating it (mode 0600) on first start."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it a moment ago; read theirs
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
                log.info(
                    "created the secret key %s; back it up with the database, secrets cannot be read without it", path
                )
        try:
            text = path.read_text(encoding="ascii").strip()
            key = base64.b64decode(text, validate=True)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SecretKeyError(f"cannot read the secret key {path}: {exc}") from None
        if len(key) != 32:
            raise SecretKeyError(f"the secret key {path} is not 32 bytes of base64")
        return cls(key)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, context: str) -> str:
        version, _, body = ciphertext.partition(":")
        if version != _VERSION:
            raise SecretKeyError(f"a secret for {context} is in an unknown format")
        raw = base64.b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise SecretKeyError(
                f"the secret for {context} cannot be decrypted: the key file is not the one it was written with"
            ) from None

    def digest(self, value: str) -> str:
        """A keyed hash, for values we only ever compare (API tokens, session ids)."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()


class SecretStore:
    """Named secrets per tenant, encrypted in the ``secrets`` table."""

    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def put(self, tenant_id: str, name: str, value: str) -> None:
        sealed = self._box.encrypt(value, f"{tenant_id}/{name}")
        self._store.execute(
            "INSERT INTO secrets VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id, name) "
            "DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
            [tenant_id, name, sealed, utcnow()],
        )

    def get(self, tenant_id: str, name: str) -> str | None:
        sealed = self._store.scalar(
            "SELECT ciphertext FROM secrets WHERE tenant_id = ? AND name = ?", [tenant_id, name]
        )
        return None if sealed is None else self._box.decrypt(sealed, f"{tenant_id}/{name}")

    def has(self, tenant_id: str, name: str) -> bool:
        return bool(
            self._store.scalar("SELECT count(*) FROM secrets WHERE tenant_id = ? AND name = ?", [tenant_id, name])
        )

    def names(self, tenant_id: str) -> list[str]:
        """The names of the tenant's secrets (their values stay sealed)."""
        rows = self._store.rows("SELECT name FROM secrets WHERE tenant_id = ? ORDER BY name", [tenant_id])
        return [str(name) for (name,) in rows]

    def delete(self, tenant_id: str, name: str) -> None:
        self._store.execute("DELETE FROM secrets WHERE tenant_id = ? AND name = ?", [tenant_id, name])

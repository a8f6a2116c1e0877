"""The note a running server leaves for the CLI: its process id, address, and a token for its API."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import msgspec

from appliance.settings import Settings


class ServerFile(msgspec.Struct):
    pid: int
    url: str
    token: str


def _path(settings: Settings) -> Path:
    return settings.run_path / "server.json"


def write_server_file(settings: Settings) -> ServerFile:
    host = settings.server.host
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    note = ServerFile(os.getpid(), f"http://{reachable}:{settings.server.port}", secrets.token_urlsafe(32))
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created readable by this user only: the token is as good as a password for the local API.
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(msgspec.json.encode(note))
    path.with_suffix(".tmp").replace(path)
    return note


def read_server_file(settings: Settings) -> ServerFile | None:
    try:
        return msgspec.json.decode(_path(settings).read_bytes(), type=ServerFile)
    except (OSError, msgspec.DecodeError):
        return None


def remove_server_file(settings: Settings, note: ServerFile) -> None:
    current = read_server_file(settings)
    if current is not None and current.token == note.token:
        _path(settings).unlink(missing_ok=True)

"""The audit log: who changed what, for every action that changes something."""

from __future__ import annotations

from typing import Any

import msgspec

from core.store.database import Store, new_id, utcnow


def record(store: Store, *, tenant_id: str | None, actor: str, action: str, target: str, detail: Any = None) -> None:
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            new_id("audit"),
            tenant_id,
            utcnow(),
            actor,
            action,
            target,
            msgspec.json.encode(detail).decode() if detail is not None else None,
        ],
    )

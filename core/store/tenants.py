"""Tenants, their phone numbers and their assistants."""

from __future__ import annotations

import msgspec

from core.errors import InputError, NotFoundError
from core.store import audit
from core.store.database import Store, utcnow
from core.tenants.document import TenantDocument, normalise_number
from core.tenants.transfers import TransferTargets

REFUSED_TRANSFER = "call.transfer_refused"  # the audit action of a transfer to a target the tenant has not set up


class TenantSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    timezone: str
    numbers: list[str]
    services: int
    updated_at: str


class TenantRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, doc: TenantDocument, *, replace: bool, actor: str) -> bool:
        """Create the tenant, or replace it when ``replace``; returns whether it existed before."""
        numbers = [normalise_number(n) for n in doc.numbers]
        now = utcnow()
        with self._store.transaction():
            existed = bool(self._store.scalar("SELECT count(*) FROM tenants WHERE id = ?", [doc.id]))
            if existed and not replace:
                raise InputError(f"tenant '{doc.id}' already exists; use --replace to update it")
            taken = self._store.rows(
                "SELECT number, tenant_id FROM phone_numbers WHERE number IN (SELECT unnest(?)) AND tenant_id <> ?",
                [numbers, doc.id],
            )
            if taken:
                owners = ", ".join(f"{number} belongs to '{tenant}'" for number, tenant in taken)
                raise InputError(f"tenant '{doc.id}': {owners}")
            document = msgspec.json.encode(doc).decode()
            if existed:
                self._store.execute(
                    "UPDATE tenants SET name = ?, timezone = ?, document = ?, updated_at = ? WHERE id = ?",
                    [doc.name, doc.timezone, document, now, doc.id],
                )
            else:
                self._store.execute(
                    "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?)",
                    [doc.id, doc.name, doc.timezone, document, now, now],
                )
            self._store.execute("DELETE FROM phone_numbers WHERE tenant_id = ?", [doc.id])
            if numbers:  # a business may start without numbers (they come with its SIP trunk)
                self._store.executemany(
                    "INSERT INTO phone_numbers VALUES (?, ?, ?)", [(n, doc.id, now) for n in numbers]
                )
            self._store.execute("DELETE FROM assistants WHERE tenant_id = ?", [doc.id])
            a = doc.assistant
            self._store.execute(
                "INSERT INTO assistants VALUES (?, 'default', ?, ?, ?, ?, ?)",
                [doc.id, doc.greeting(), a.personality, a.voice, msgspec.json.encode(a).decode(), now],
            )
            audit.record(
                self._store,
                tenant_id=doc.id,
                actor=actor,
                action="tenant.replace" if existed else "tenant.create",
                target=doc.id,
                detail={"numbers": numbers, "services": len(doc.services)},
            )
        return existed

    def get(self, tenant_id: str) -> TenantDocument:
        found = self._store.scalar("SELECT document FROM tenants WHERE id = ?", [tenant_id])
        if found is None:
            known = ", ".join(row[0] for row in self._store.rows("SELECT id FROM tenants ORDER BY id"))
            raise NotFoundError(f"no tenant '{tenant_id}'" + (f" (known: {known})" if known else " (none yet)"))
        return msgspec.json.decode(found, type=TenantDocument)

    def transfer_targets(self, tenant_id: str) -> TransferTargets:
        """Where the tenant's calls may be transferred: its configured targets and the own phones of its staff
        (users with a role in the business, not disabled)."""
        phones = self._store.rows(
            "SELECT u.phone FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.tenant_id = ? AND u.phone IS NOT NULL AND NOT u.disabled",
            [tenant_id],
        )
        return TransferTargets.of(self.get(tenant_id), [str(phone) for (phone,) in phones])

    def refused_transfer(self, tenant_id: str, call_id: str, target: str, *, actor: str, by: str) -> None:
        """An audit row for a transfer refused because its target is not one of the tenant's."""
        audit.record(
            self._store,
            tenant_id=tenant_id,
            actor=actor,
            action=REFUSED_TRANSFER,
            target=call_id,
            detail={"target": target, "by": by},
        )

    def version(self, tenant_id: str) -> str:
        """Changes whenever the tenant is saved; used to know when a cached prompt is stale."""
        return str(self._store.scalar("SELECT updated_at FROM tenants WHERE id = ?", [tenant_id]))

    def numbers(self) -> dict[str, str]:
        """Every number and the tenant it belongs to."""
        return {str(n): str(t) for n, t in self._store.rows("SELECT number, tenant_id FROM phone_numbers")}

    def changed(self) -> str:
        """Changes whenever any tenant is saved or removed."""
        return str(self._store.rows("SELECT count(*), max(updated_at) FROM tenants")[0])

    def by_number(self, number: str) -> str | None:
        found = self._store.scalar("SELECT tenant_id FROM phone_numbers WHERE number = ?", [normalise_number(number)])
        return None if found is None else str(found)

    def summaries(self) -> list[TenantSummary]:
        rows = self._store.dicts(
            "SELECT t.id, t.name, t.timezone, t.updated_at, "
            "json_array_length(json_extract(t.document, '$.services')) AS services, "
            "list(p.number ORDER BY p.number) FILTER (WHERE p.number IS NOT NULL) AS numbers "
            "FROM tenants t LEFT JOIN phone_numbers p ON p.tenant_id = t.id "
            "GROUP BY ALL ORDER BY t.id"
        )
        return [
            TenantSummary(
                id=r["id"],
                name=r["name"],
                timezone=r["timezone"],
                numbers=list(r["numbers"] or []),
                services=int(r["services"] or 0),
                updated_at=r["updated_at"].isoformat(timespec="seconds") + "Z",
            )
            for r in rows
        ]

"""Tenants, their phone numbers and their assistants. A document's credentials (``core.tenants.credentials``) are
kept in the encrypted secrets table, never in the tenants table."""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from core.errors import InputError, NotFoundError
from core.store import audit
from core.store.database import Store, utcnow
from core.tenants import credentials
from core.tenants.document import TenantDocument, normalise_number
from core.tenants.transfers import TransferTargets

log = logging.getLogger(__name__)

CALDAV = credentials.CALDAV_PASSWORD

REFUSED_TRANSFER = "call.transfer_refused"  # the audit action of a transfer to a target the tenant has not set up


class TenantSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    timezone: str
    numbers: list[str]
    services: int
    updated_at: str


class SecretVault(Protocol):
    """Where a tenant's credentials are kept: ``core.security.secrets.SecretStore`` is one (it encrypts them).
    Named here because the store sits below security in the layers."""

    def put(self, tenant_id: str, name: str, value: str) -> None: ...

    def get(self, tenant_id: str, name: str) -> str | None: ...

    def names(self, tenant_id: str) -> list[str]: ...

    def delete(self, tenant_id: str, name: str) -> None: ...


class TenantRepository:
    def __init__(self, store: Store, vault: SecretVault | None = None) -> None:
        """Without a vault a tenant document can hold no credentials: one that has any is refused."""
        self._store = store
        self._vault = vault

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
            changed = self._keep_credentials(doc, existed)
            document = msgspec.json.encode(credentials.without(doc)).decode()
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
                detail={"numbers": numbers, "services": len(doc.services)}
                | ({"credentials": changed} if changed else {}),
            )
        return existed

    def _keep_credentials(self, doc: TenantDocument, existed: bool) -> dict[str, str]:
        """Store, keep or clear each credential of ``doc`` as its value says (``core.tenants.credentials``), and
        drop the stored ones it no longer has a place for (a tool removed or renamed). Returns what changed."""
        wanted = credentials.values(doc)
        if self._vault is None:
            given = sorted(n for n, v in wanted.items() if v and v not in credentials.MARKERS)
            if given:
                raise InputError(f"tenant '{doc.id}': {', '.join(given)} cannot be kept: this store has no secret key")
            return {}
        stored = {n for n in self._vault.names(doc.id) if credentials.is_credential(n)}
        if existed and CALDAV in stored and wanted.get(CALDAV) in credentials.MARKERS:
            self._refuse_moved_calendar(doc)
        changed = {}
        for name, value in wanted.items():
            if value in credentials.MARKERS and existed:
                continue  # kept as it is (a new business keeps nothing left by an earlier one of the same id)
            if value and value not in credentials.MARKERS:
                self._vault.put(doc.id, name, value)
                changed[name] = "set"
            elif name in stored:
                self._vault.delete(doc.id, name)
                changed[name] = "cleared"
        for name in sorted(stored - wanted.keys()):
            self._vault.delete(doc.id, name)
            changed[name] = "cleared"
        return changed

    def _refuse_moved_calendar(self, doc: TenantDocument) -> None:
        """A kept CalDAV password goes only to the calendar it was given for: a document that points the calendar
        elsewhere sends the password again, so that whoever may edit the document cannot have the stored one sent
        to a server of theirs."""
        before = self._document(doc.id).booking.caldav
        after = doc.booking.caldav
        if before is not None and after is not None and before.url != after.url:
            raise InputError(
                f"tenant '{doc.id}': booking.caldav.url changed from {before.url} to {after.url}; "
                'give the calendar\'s password again (booking.caldav.password), or "" for none'
            )

    def _document(self, tenant_id: str) -> TenantDocument:
        found = self._store.scalar("SELECT document FROM tenants WHERE id = ?", [tenant_id])
        if found is None:
            known = ", ".join(row[0] for row in self._store.rows("SELECT id FROM tenants ORDER BY id"))
            raise NotFoundError(f"no tenant '{tenant_id}'" + (f" (known: {known})" if known else " (none yet)"))
        return msgspec.json.decode(found, type=TenantDocument)

    def get(self, tenant_id: str) -> TenantDocument:
        """The tenant's document with ``credentials.SET`` where a credential is stored (never its value): for
        showing, editing and saving back, which keeps the stored credentials."""
        doc = self._document(tenant_id)
        if not credentials.values(doc):
            return doc
        stored = set() if self._vault is None else set(self._vault.names(tenant_id))
        return credentials.marked(doc, stored)

    def with_secrets(self, tenant_id: str) -> TenantDocument:
        """The tenant's document with its credentials in place, for the parts of a call that use them (the CalDAV
        calendar, the HTTP tools' signatures). Never for an API response or a page."""
        doc = self._document(tenant_id)
        names = credentials.values(doc)
        if not names or self._vault is None:
            return credentials.without(doc)
        vault = self._vault
        stored = {name: value for name in names if (value := vault.get(tenant_id, name)) is not None}
        return credentials.merged(doc, stored)

    def move_clear_credentials(self) -> int:
        """Move credentials that an earlier version kept in the tenants table into the vault, and take them out
        of the documents there; returns how many moved. Run at every start: nothing to do is one scan."""
        if self._vault is None:
            return 0
        moved: dict[str, list[str]] = {}
        with self._store.transaction():
            for tenant_id, text in self._store.rows("SELECT id, document FROM tenants ORDER BY id"):
                try:
                    doc = msgspec.json.decode(text, type=TenantDocument)
                except msgspec.DecodeError as exc:
                    log.warning(
                        "tenant '%s': its stored document cannot be read (%s); its credentials were not moved",
                        tenant_id,
                        exc,
                    )
                    continue
                clear = {n: v for n, v in credentials.values(doc).items() if v}
                if not clear:
                    continue
                for name, value in clear.items():
                    if value not in credentials.MARKERS:
                        self._vault.put(tenant_id, name, value)
                document = msgspec.json.encode(credentials.without(doc)).decode()
                self._store.execute("UPDATE tenants SET document = ? WHERE id = ?", [document, tenant_id])
                audit.record(
                    self._store,
                    tenant_id=tenant_id,
                    actor="appliance",
                    action="tenant.credentials_moved",
                    target=tenant_id,
                    detail={"credentials": sorted(clear)},
                )
                moved[tenant_id] = sorted(clear)
        if not moved:
            return 0
        self._store.execute("CHECKPOINT")  # the rewritten documents to the file now, not at some later write
        count = sum(len(names) for names in moved.values())
        log.warning(
            "moved %d credential(s) of %d business(es) (%s) from the tenants table into the encrypted secrets table; "
            "the database file's free space (until it is reused) and its earlier backups may still hold them in "
            "clear: change those passwords and secrets if the file or a backup may have been copied",
            count,
            len(moved),
            ", ".join(f"{t}: {' '.join(n)}" for t, n in moved.items()),
        )
        return count

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

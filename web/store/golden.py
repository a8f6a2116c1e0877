"""A business's golden conversations kept in the store, each with the result of its last run."""

from __future__ import annotations

from datetime import datetime

import msgspec

from core.calls.golden import Golden, GoldenResult
from core.errors import InputError, NotFoundError
from core.store.database import Store, new_id, utcnow

MAX_TESTS = 50  # a set runs as calls one after another: fifty take several minutes


class GoldenTest(msgspec.Struct, kw_only=True):
    id: str
    spec: Golden
    call_id: str | None
    last_run: GoldenResult | None
    previous_run: GoldenResult | None  # the run before the last: what changed between them
    updated_at: datetime

    @property
    def regressed(self) -> bool:
        return bool(self.previous_run and self.previous_run.passed and self.last_run and not self.last_run.passed)

    @property
    def replies_changed(self) -> bool:
        return bool(self.previous_run and self.last_run and self.previous_run.replies != self.last_run.replies)


class Expectations(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What staff edit of a kept test on its page: its name and what must happen (turns and tools stay)."""

    name: str
    outcomes: list[str] = msgspec.field(default_factory=list)  # none: not checked
    says: list[str] = msgspec.field(default_factory=list)
    never_says: list[str] = msgspec.field(default_factory=list)


class GoldenTests:
    def __init__(self, store: Store) -> None:
        self._store = store

    def kept(self, tenant_id: str) -> list[GoldenTest]:
        rows = self._store.dicts(
            "SELECT id, spec, call_id, last_run, previous_run, updated_at FROM golden_tests WHERE tenant_id = ? "
            "ORDER BY created_at",
            [tenant_id],
        )
        return [
            GoldenTest(
                id=r["id"],
                spec=msgspec.json.decode(r["spec"], type=Golden),
                call_id=r["call_id"],
                last_run=msgspec.json.decode(r["last_run"], type=GoldenResult) if r["last_run"] else None,
                previous_run=msgspec.json.decode(r["previous_run"], type=GoldenResult) if r["previous_run"] else None,
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    def get(self, tenant_id: str, test_id: str) -> GoldenTest:
        found = [t for t in self.kept(tenant_id) if t.id == test_id]
        if not found:
            raise NotFoundError(f"no test '{test_id}'")
        return found[0]

    def add(self, tenant_id: str, spec: Golden, call_id: str | None, caller: str | None) -> GoldenTest:
        existing = self.kept(tenant_id)
        if len(existing) >= MAX_TESTS:
            raise InputError(f"a business keeps at most {MAX_TESTS} tests; remove one first")
        self._check(tenant_id, spec, existing, None)
        test_id, now = new_id("test"), utcnow()
        self._store.execute(
            "INSERT INTO golden_tests (id, tenant_id, spec, call_id, caller, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [test_id, tenant_id, msgspec.json.encode(spec).decode(), call_id, caller, now, now],
        )
        return self.get(tenant_id, test_id)

    def replace(self, tenant_id: str, test_id: str, spec: Golden) -> GoldenTest:
        self.get(tenant_id, test_id)
        self._check(tenant_id, spec, self.kept(tenant_id), test_id)
        self._store.execute(
            "UPDATE golden_tests SET spec = ?, updated_at = ? WHERE id = ? AND tenant_id = ?",
            [msgspec.json.encode(spec).decode(), utcnow(), test_id, tenant_id],
        )
        return self.get(tenant_id, test_id)

    def expect(self, tenant_id: str, test_id: str, wanted: Expectations) -> GoldenTest:
        spec = self.get(tenant_id, test_id).spec
        changed = msgspec.structs.replace(
            spec,
            name=wanted.name.strip(),
            outcomes=[o.strip() for o in wanted.outcomes if o.strip()] or None,
            says=[w.strip() for w in wanted.says if w.strip()],
            never_says=[w.strip() for w in wanted.never_says if w.strip()],
        )
        return self.replace(tenant_id, test_id, changed)

    def remove(self, tenant_id: str, test_id: str) -> None:
        self.get(tenant_id, test_id)
        self._store.execute("DELETE FROM golden_tests WHERE id = ? AND tenant_id = ?", [test_id, tenant_id])

    def record_run(self, tenant_id: str, test_id: str, result: GoldenResult) -> None:
        self._store.execute(
            "UPDATE golden_tests SET previous_run = last_run, last_run = ? WHERE id = ? AND tenant_id = ?",
            [msgspec.json.encode(result).decode(), test_id, tenant_id],
        )

    @staticmethod
    def _check(tenant_id: str, spec: Golden, existing: list[GoldenTest], own: str | None) -> None:
        if spec.tenant != tenant_id:
            raise InputError("a test runs against its own business: tenant must be this business's id")
        if not spec.name.strip() or not spec.turns:
            raise InputError("a test needs a name and at least one caller turn")
        if any(not isinstance(turn, str) for turn in spec.turns):
            raise InputError("turns kept in the box are typed words (recorded audio is for `appliance eval` files)")
        if spec.intents is not None and len(spec.intents) != len(spec.turns):
            raise InputError("give one intent per turn ('' for any)")
        if any(t.spec.name == spec.name and t.id != own for t in existing):
            raise InputError(f"a test named '{spec.name}' exists already")

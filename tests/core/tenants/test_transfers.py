"""Where a business's calls may be transferred: its transfer numbers, its take-over numbers and its staff's own
phones, compared by number or by whole SIP URI; nothing else."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.errors import InputError
from core.store.database import Store, utcnow
from core.store.tenants import TenantRepository
from core.tenants.document import TenantDocument, parse_tenant
from core.tenants.routing import route
from core.tenants.transfers import TransferRefused, TransferTargets

SHOP = {
    "id": "corner-shop",
    "name": "Corner Shop",
    "timezone": "Australia/Melbourne",
    "hours": {"mon": "09:00-17:00"},
    "transfer": {
        "number": "+61 3 9555 0100",
        "take_over_numbers": ["+61 400 555 010", "sip:Desk@pbx.corner.example;transport=tcp"],
    },
    "telephony": {"after_hours_transfer": "(03) 9555-0199"},
}


def _shop(**changes: object) -> TenantDocument:
    return parse_tenant({**SHOP, **changes})


def test_the_configured_targets_are_allowed_however_they_are_spaced() -> None:
    targets = TransferTargets.of(_shop())
    for target in (
        "+61395550100",
        " +61 (3) 9555-0100 ",
        "+61.3.9555.0100",
        "+61400555010",
        "0395550199",  # the after-hours number, as written there
        "sip:Desk@pbx.corner.example;transport=tcp",
        "SIP:Desk@pbx.corner.example;transport=tcp",  # the scheme in any case
    ):
        assert targets.allows(target), target
        targets.check(target)


@pytest.mark.parametrize(
    "target",
    [
        "+19005550100",  # a premium number nobody set up
        "61395550100",  # the transfer number without its +: another number to a carrier
        "395550100",
        "+613955501000",
        "sip:desk@pbx.corner.example;transport=tcp",  # the user part differs in case
        "sip:Desk@pbx.corner.example",  # without the parameters the owner wrote
        "sip:Desk@pbx.corner.example;transport=tcp;x=1",
        "sip:+61395550100@attacker.example",  # the transfer number at someone else's host
        "tel:+61395550100",
        "+61395550100; transport=tcp",
        "off",
        "",
        "ask for Bob",
    ],
)
def test_anything_else_is_refused(target: str) -> None:
    targets = TransferTargets.of(_shop())
    assert not targets.allows(target)
    with pytest.raises(TransferRefused) as refused:
        targets.check(target)
    assert isinstance(refused.value, InputError) and refused.value.target == target
    assert "take-over numbers" in str(refused.value)


def test_staff_phones_are_allowed_and_junk_in_them_is_not() -> None:
    targets = TransferTargets.of(_shop(), ["+61 411 555 777", "ring me", ""])
    assert targets.allows("+61411555777")
    assert not targets.allows("ring me") and not targets.allows("")


def test_a_business_with_nothing_set_up_transfers_nowhere() -> None:
    bare = parse_tenant({"id": "bare", "name": "Bare", "timezone": "UTC", "telephony": {"after_hours_transfer": "off"}})
    targets = TransferTargets.of(bare)
    assert targets.allowed == frozenset()
    assert not targets.allows("off") and not targets.allows("+61395550100")


def test_the_day_and_night_numbers_are_both_allowed_after_hours() -> None:
    """A call after hours sees the after-hours number as its transfer number; the rule takes the stored
    document, so the day number (a supervisor's default take-over) is still allowed."""
    night = route(_shop(), datetime(2026, 3, 9, 12, 0)).tenant  # Monday 23:00 in Melbourne
    assert night.transfer.number == "(03) 9555-0199"
    targets = TransferTargets.of(_shop())
    assert targets.allows(night.transfer.number) and targets.allows("+61395550100")


@pytest.mark.parametrize(
    ("take_over", "message"),
    [
        (["call Bob"], "transfer.take_over_numbers: 'call Bob' is neither a phone number nor a sip: URI"),
        (["+61 3 9555 0100", "12"], "transfer.take_over_numbers: '12' is neither"),
        ([f"+6140055{i:04d}" for i in range(51)], "transfer.take_over_numbers: at most 50"),
    ],
)
def test_take_over_numbers_are_validated(take_over: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        _shop(transfer={"number": "+61395550100", "take_over_numbers": take_over})


def _member(store: Store, user_id: str, tenant_id: str, phone: str | None, *, disabled: bool = False) -> None:
    store.execute(
        "INSERT INTO users (id, email, name, password_hash, phone, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [user_id, f"{user_id}@shop.example", user_id, "x", phone, disabled, utcnow()],
    )
    store.execute("INSERT INTO memberships VALUES (?, ?, 'supervisor', ?)", [user_id, tenant_id, utcnow()])


def test_the_stored_targets_include_the_phones_of_the_business_s_own_enabled_staff() -> None:
    store = Store.memory()
    tenants = TenantRepository(store)
    tenants.save(_shop(), replace=False, actor="test")
    tenants.save(parse_tenant({"id": "other-shop", "name": "Other", "timezone": "UTC"}), replace=False, actor="test")
    _member(store, "ann", "corner-shop", "+61 411 555 001")
    _member(store, "bob", "corner-shop", None)
    _member(store, "cat", "corner-shop", "+61411555003", disabled=True)
    _member(store, "dan", "other-shop", "+61411555004")
    targets = tenants.transfer_targets("corner-shop")
    assert targets.allows("+61411555001") and targets.allows("+61395550100")
    assert not targets.allows("+61411555003")  # disabled
    assert not targets.allows("+61411555004")  # another business's staff
    assert tenants.transfer_targets("other-shop").allows("+61411555004")

    tenants.refused_transfer("corner-shop", "call_1", "+19005550100", actor="sip", by="taken over by test")
    rows = store.rows("SELECT tenant_id, actor, action, target, detail FROM audit_log WHERE target = 'call_1'")
    assert rows == [
        ("corner-shop", "sip", "call.transfer_refused", "call_1", '{"target":"+19005550100","by":"taken over by test"}')
    ]

"""Where a business's calls may be transferred: the rule that keeps the box from dialling out on anyone's say-so.

A transfer places a call on the business's trunk, at the business's cost, so it goes only to a target the business
has set up: its transfer number, its after-hours transfer number, the take-over numbers its owner lists
(``transfer.take_over_numbers``), or the phone of one of its own staff (a take-over goes to the supervisor's own
phone by default; staff phones are set by an owner, in Users). A caller's words, a tool's answer or a typed target
reach no one else.

Numbers are compared as written, less spaces, dashes, dots and brackets: "+61 3 9555 0142" and "+61395550142" are
the same target, "03 9555 0142" is another one. SIP URIs are compared whole (the scheme in any case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InputError
from core.tenants.document import TenantDocument, transfer_target

HOW_TO_ALLOW = "an owner can add it to the take-over numbers on the Assistant page (transfer.take_over_numbers)"


class TransferRefused(InputError):
    """A transfer to a target the business has not set up."""

    def __init__(self, target: str) -> None:
        super().__init__(f"'{target}' is not one of this business's transfer numbers; {HOW_TO_ALLOW}")
        self.target = target


@dataclass(frozen=True, slots=True)
class TransferTargets:
    """The targets a business's calls may be transferred to, as ``transfer_target`` writes them."""

    allowed: frozenset[str]

    @classmethod
    def of(cls, tenant: TenantDocument, staff_phones: Iterable[str] = ()) -> TransferTargets:
        """The tenant's configured targets, in hours and after hours, and its staff's own phones (anything in
        them that is neither a number nor a SIP URI is left out)."""
        written = [
            tenant.transfer.number,
            tenant.telephony.after_hours_transfer,
            *tenant.transfer.take_over_numbers,
            *staff_phones,
        ]
        return cls(frozenset(t for t in map(transfer_target, written) if t is not None))

    def allows(self, target: str) -> bool:
        found = transfer_target(target)
        return found is not None and found in self.allowed

    def check(self, target: str) -> None:
        """Raises ``TransferRefused`` unless the target is allowed."""
        if not self.allows(target):
            raise TransferRefused(target)

"""Phone numbers in the business's country: its country calling code, the forms one number takes (international,
without the +, national with its leading 0), and whether a caller's number is at home there.

Country calling codes are prefix-free (ITU-T E.164): +1 and +7 are one digit, the two-digit codes below are all
there are, and every other code has three digits. So the code of any international number is read off its first
digits without a table of every country.
"""

from __future__ import annotations

import re

from core.tenants.document import TenantDocument, normalise_number

_ONE_DIGIT = frozenset({"1", "7"})
_TWO_DIGITS = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    }
)  # fmt: skip


def code_of(international: str) -> str | None:
    """The country calling code of a number written with + (or 00) before it; None for a national number."""
    number = normalise_number(international)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not number.startswith("+") or not number[1:].isdigit() or len(number) < 4:
        return None
    digits = number[1:]
    for length in (1, 2):
        if digits[:length] in (_ONE_DIGIT if length == 1 else _TWO_DIGITS):
            return digits[:length]
    return digits[:3]


def calling_code(tenant: TenantDocument) -> str | None:
    """The business's country calling code: as set (``country_code``), else that of its first international
    number (its ``numbers``, then its ``phone``); None when nothing says."""
    if tenant.country_code.strip():
        return tenant.country_code.strip().lstrip("+")
    for number in (*tenant.numbers, tenant.phone):
        code = code_of(number) if number else None
        if code is not None:
            return code
    return None


def international(number: str, code: str | None) -> str | None:
    """``number`` as +<code><rest>, read in a country whose calling code is ``code``; None when it cannot be told
    (a national number with no known country, or digits that fit no known form)."""
    number = normalise_number(number)
    if number.startswith("00"):
        return "+" + number[2:] if number[2:].isdigit() else None
    if number.startswith("+"):
        return number if number[1:].isdigit() else None
    if not number.isdigit() or code is None:
        return None
    if number.startswith("0"):  # national, with the trunk prefix most countries dial
        return f"+{code}{number[1:]}"
    if number.startswith(code) and len(number) - len(code) >= 7:  # international without its +
        return "+" + number
    if code == "1" and len(number) == 10:  # North America: national numbers have no trunk prefix
        return "+1" + number
    return None


def forms(number: str, code: str | None) -> list[str]:
    """Every way ``number`` may have been written down: as given, international, without the +, and national
    (with the 0 most countries dial, and without it for the few, like Italy, that keep it after the code)."""
    number = normalise_number(number)
    found = [number]
    full = international(number, code)
    if full is not None:
        found += [full, full[1:]]
        if code is not None and full.startswith("+" + code):
            rest = full[1 + len(code) :]
            found += [rest if rest.startswith("0") else "0" + rest]
            if code == "1":
                found.append(rest)
        if number.startswith("0") and code is not None:
            found.append(f"+{code}{number}")  # Italy: +39 06 ..., dialled at home as 06 ...
    return list(dict.fromkeys(found))


def same_number(a: str, b: str, code: str | None) -> bool:
    """Whether two numbers are one, however each was written."""
    return bool(set(forms(a, code)) & set(forms(b, code)))


def at_home(number: str, code: str | None) -> bool:
    """Whether a caller's number belongs to the business's country: a national number (a single leading 0, as a
    carrier sends a call from the same country), or an international one with the business's calling code. Without
    a known code only national numbers are."""
    number = normalise_number(number)
    if not re.fullmatch(r"\+?[0-9]{6,15}", number):
        return False
    if number.startswith("0") and not number.startswith("00"):
        return True
    full = international(number, code)
    return full is not None and code is not None and code_of(full) == code

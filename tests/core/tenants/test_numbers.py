"""Numbers in the business's country: its calling code, the forms one number is written in, and which callers'
numbers are at home there (the only ones a text may go to)."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import InputError
from core.tenants.document import parse_tenant
from core.tenants.numbers import at_home, calling_code, code_of, forms, same_number

BASE: dict[str, Any] = {"id": "shop", "name": "Shop", "timezone": "Europe/London"}


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+13125550142", "1"),
        ("+74951234567", "7"),
        ("+61 3 9555 0142", "61"),
        ("+442079460000", "44"),
        ("00442079460000", "44"),
        ("+353 1 555 0100", "353"),  # Ireland: 35 is no two-digit code, so three
        ("+8526555 0100", "852"),
        ("+9715550100", "971"),
        ("02079460000", None),  # national: no code in it
        ("anonymous", None),
    ],
)
def test_the_calling_code_is_read_off_the_first_digits(number: str, code: str | None) -> None:
    assert code_of(number) == code


def test_the_business_s_code_is_set_or_read_from_its_numbers_then_its_phone() -> None:
    assert calling_code(parse_tenant({**BASE, "numbers": ["+61395550142"], "phone": "+44 20 7946 0000"})) == "61"
    assert calling_code(parse_tenant({**BASE, "numbers": ["1001"], "phone": "+44 20 7946 0000"})) == "44"
    assert calling_code(parse_tenant({**BASE, "numbers": ["+61395550142"], "country_code": "+64"})) == "64"
    assert calling_code(parse_tenant({**BASE, "phone": "020 7946 0000"})) is None
    with pytest.raises(InputError, match="country_code"):
        parse_tenant({**BASE, "country_code": "UK"})


def test_one_number_written_several_ways_is_the_same_number() -> None:
    assert same_number("+61412555918", "0412 555 918", "61")
    assert same_number("61412555918", "0412555918", "61")
    assert same_number("+13125550142", "(312) 555-0142", "1")
    assert same_number("+390612345678", "0612345678", "39")  # Italy keeps the 0 after its code
    assert not same_number("+61412555918", "0412555919", "61")
    assert not same_number("+61412555918", "0412555918", None)  # without a code a national number is only itself
    assert "+61412555918" in forms("0412555918", "61")


@pytest.mark.parametrize(
    ("number", "code", "home"),
    [
        ("+61412555918", "61", True),
        ("0412555918", "61", True),  # a carrier at home sends national numbers
        ("0412555918", None, True),
        ("61412555918", "61", True),
        ("+447700900123", "61", False),
        ("00447700900123", "61", False),
        ("+882123456789", "61", False),  # international networks: premium rates
        ("+13125550142", None, False),  # an international number, and no code to compare it with
        ("3125550142", "1", True),  # North American numbers have no trunk 0
        ("anonymous", "61", False),
        ("", "61", False),
        ("12345", "61", False),
    ],
)
def test_a_caller_s_number_at_home(number: str, code: str | None, home: bool) -> None:
    assert at_home(number, code) is home

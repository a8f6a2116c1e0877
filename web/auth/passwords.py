"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import InputError

MIN_LENGTH = 10
_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check, so response time does
# not tell an attacker which addresses have accounts.
_DUMMY = _hasher.hash("not a real password, only here to spend time")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InputError(f"the password must be at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise InputError("the password is too long (1024 characters at most)")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)

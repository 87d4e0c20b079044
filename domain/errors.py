"""Errors the domain and services raise; the API maps `code` to `extensions.code`."""

from __future__ import annotations


class DomainError(Exception):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    code = "BAD_USER_INPUT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class WriteConflict(Conflict):
    """The database refused a write (e.g. a concurrent writer stored the same unique key
    first); nothing of the transaction was kept, and trying again may succeed."""


class Timeout(DomainError):
    """The request ran out of its time budget; its transaction was rolled back."""

    code = "TIMEOUT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Gone(DomainError):
    """The contact was erased (GDPR): it is kept for aggregates and takes no more writes."""

    code = "GONE"


class Unavailable(DomainError):
    """The database cannot take writes now (its file is gone, replaced or not writable, or
    the disk is full); nothing of the request was stored."""

    code = "UNAVAILABLE"


class CursorExpired(DomainError):
    code = "CURSOR_EXPIRED"


def check_batch(size: int, limit: int, what: str, field: str) -> None:
    """Batch mutations take 1..limit items; anything else is refused whole."""
    if size == 0:
        raise InvalidInput(f"give at least one {what}", field=field)
    if size > limit:
        raise InvalidInput(
            f"at most {limit} {what}s per call, got {size}; split the batch", field=field
        )


# Ids are `integer` columns (32-bit on Postgres; SQLite's are wider, but its ids count up
# from 1 like Postgres' and never reach this): no stored row has a larger id, and a larger
# one bound to a Postgres statement fails in the driver instead of finding nothing.
MAX_ID = 2**31 - 1


def parse_id(raw: object, kind: str, field: str = "id") -> int:
    """Every id argument goes through here: a string of ASCII digits whose value is
    1..MAX_ID; anything else is bad input naming the argument."""
    text = raw if isinstance(raw, str) else ""
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if not 0 < value <= MAX_ID:
        shown = raw if not isinstance(raw, str) or len(raw) <= 40 else f"{raw[:40]}…"
        raise InvalidInput(
            f"{kind} id must be a positive integer up to {MAX_ID}, got {shown!r}", field=field
        )
    return value

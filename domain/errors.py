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


def parse_id(raw: str, kind: str, field: str = "id") -> int:
    """Ids are positive integers on the wire as strings; anything else is bad input."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{kind} id must be a positive integer, got {raw!r}", field=field
        ) from None
    if value <= 0:
        raise InvalidInput(f"{kind} id must be a positive integer, got {raw!r}", field=field)
    return value

"""API keys and scopes: read < write < admin. Keys are random; only their hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import Forbidden, InvalidInput

KEY_PREFIX = "sgm_"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ("read", "write", "admin").index(self.value)

    def allows(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


def parse_scope(raw: str) -> Scope:
    try:
        return Scope(raw.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"unknown scope {raw!r}; use one of read, write, admin", field="scope"
        ) from None


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    scope: Scope

    def require(self, needed: Scope, action: str) -> None:
        if not self.scope.allows(needed):
            raise Forbidden(
                f"this API key has scope '{self.scope.value}'; {action} needs '{needed.value}'"
            )


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None

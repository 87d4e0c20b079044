"""API keys: issue (the secret is shown once), authenticate, revoke."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from domain.auth import ApiKey, Principal, Scope, display_prefix, hash_key, new_key
from domain.contacts import clean_text
from domain.errors import InvalidInput, NotFound
from services.ports import UnitOfWorkFactory


async def create_api_key(
    uows: UnitOfWorkFactory, name: str, scope: Scope, now: datetime
) -> tuple[ApiKey, str]:
    clean_name = clean_text(name, "name", required=True)
    assert clean_name is not None
    secret = new_key()
    async with uows(write=True) as uow:
        key = await uow.api_keys.insert(
            clean_name, display_prefix(secret), hash_key(secret), scope, now
        )
        await uow.commit()
    return key, secret


async def bootstrap_admin_key(uows: UnitOfWorkFactory, now: datetime) -> str | None:
    """On a database with no key at all, issue an admin key and return its secret."""
    async with uows(write=True) as uow:
        if await uow.api_keys.count() > 0:
            return None
        secret = new_key()
        await uow.api_keys.insert(
            "bootstrap admin", display_prefix(secret), hash_key(secret), Scope.ADMIN, now
        )
        await uow.commit()
    return secret


class KeyCache:
    """Recent key look-ups, so a busy integrator does not cost a query per request.

    A revocation clears this process's cache at once, and tells `on_revoke` (which closes
    the key's WebSockets); other processes see it within `ttl`.
    """

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl_seconds, max_entries
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self.on_revoke: list[Callable[[int], None]] = []

    def get(self, key_hash: str) -> tuple[bool, Principal | None]:
        hit = self._entries.get(key_hash)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key_hash: str, principal: Principal | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()

    def revoked(self, key_id: int) -> None:
        self.clear()
        for listener in self.on_revoke:
            listener(key_id)


async def authenticate(
    uows: UnitOfWorkFactory, secret: str, cache: KeyCache | None = None
) -> Principal | None:
    key_hash = hash_key(secret)
    if cache is not None:
        found, principal = cache.get(key_hash)
        if found:
            return principal
    async with uows() as uow:
        key = await uow.api_keys.active_by_hash(key_hash)
    principal = Principal(key.id, key.name, key.scope) if key else None
    if cache is not None:
        cache.put(key_hash, principal)
    return principal


async def list_api_keys(uows: UnitOfWorkFactory) -> list[ApiKey]:
    async with uows() as uow:
        return await uow.api_keys.list_all()


async def revoke_api_key(
    uows: UnitOfWorkFactory,
    key_id: int,
    current: Principal,
    now: datetime,
    cache: KeyCache | None = None,
) -> None:
    if key_id == current.key_id:
        raise InvalidInput("an API key cannot revoke itself; use another admin key", field="id")
    async with uows(write=True) as uow:
        if not await uow.api_keys.revoke(key_id, now):
            raise NotFound(f"no active API key with id {key_id}", field="id")
        await uow.commit()
    if cache is not None:
        cache.revoked(key_id)

"""The key cache forgets everything on a revocation and tells who listens (the WebSocket
registry closes the key's connections)."""

from __future__ import annotations

from domain.auth import Principal, Scope
from services.auth import KeyCache


def test_a_revocation_clears_the_cache_and_tells_the_listeners():
    cache, told = KeyCache(), []
    cache.put("hash", Principal(3, "k", Scope.READ))
    cache.on_revoke.append(told.append)
    cache.revoked(3)
    assert cache.get("hash") == (False, None)
    assert told == [3]

"""Settings, read from environment variables (documented in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from domain.auth import Scope
from domain.network import ALLOW_SETTING

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/segmento.db"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broadcast_url: str = "memory://"
    migrate_on_start: bool = True
    max_body_bytes: int = 1_048_576
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5_000
    # What one request may cost (api/cost.py), by the scope of its key (anonymous: read).
    cost_limit_read: int = 10_000
    cost_limit_write: int = 10_000
    cost_limit_admin: int = 25_000
    # The time budget of one query / mutation (domain/deadline.py); past it: TIMEOUT, rolled
    # back. Chunked jobs started by a mutation (re-tiering everyone, decay) lift it.
    query_timeout_seconds: float = 10.0
    mutation_timeout_seconds: float = 30.0
    graphiql: bool = True
    decay_interval_seconds: float = 3600.0
    event_retention_days: float = 7.0
    prune_interval_seconds: float = 3600.0
    automation_interval_seconds: float = 300.0
    subscriber_buffer: int = 1000
    keep_alive_seconds: float = 15.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    # Request quotas (token buckets, per key; anonymous: per client address): requests per
    # second sustained, and the burst granted at once. 0 per second: no limit.
    rate_read: float = 1000.0
    rate_write: float = 1000.0
    rate_admin: float = 1000.0
    rate_anonymous: float = 5.0
    burst_read: int = 2000
    burst_write: int = 2000
    burst_admin: int = 2000
    burst_anonymous: int = 50
    # WebSocket caps (api/ws_limits.py). Pending: sockets that have not yet sent connection_init.
    ws_init_timeout_seconds: float = 10.0
    ws_max_connections: int = 10_000
    ws_max_pending: int = 200
    ws_max_connections_per_key: int = 1_000
    ws_max_operations_per_connection: int = 50
    ws_max_operations_per_key: int = 5_000
    ws_key_check_seconds: float = 5.0
    # CIDRs, addresses or host names webhooks may reach although inside the network
    # (domain/network.py); empty: only public addresses.
    webhook_allow: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def cost_limits(self) -> dict[Scope, int]:
        return {
            Scope.READ: self.cost_limit_read,
            Scope.WRITE: self.cost_limit_write,
            Scope.ADMIN: self.cost_limit_admin,
        }

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            broadcast_url=os.environ.get("BROADCAST_URL", "memory://"),
            migrate_on_start=os.environ.get("SEGMENTO_MIGRATE_ON_START", "1") != "0",
            max_body_bytes=_int("SEGMENTO_MAX_BODY_BYTES", 1_048_576),
            max_query_depth=_int("SEGMENTO_MAX_QUERY_DEPTH", 10),
            max_aliases=_int("SEGMENTO_MAX_ALIASES", 30),
            max_tokens=_int("SEGMENTO_MAX_TOKENS", 5_000),
            cost_limit_read=_int("SEGMENTO_COST_LIMIT_READ", 10_000),
            cost_limit_write=_int("SEGMENTO_COST_LIMIT_WRITE", 10_000),
            cost_limit_admin=_int("SEGMENTO_COST_LIMIT_ADMIN", 25_000),
            query_timeout_seconds=float(os.environ.get("SEGMENTO_QUERY_TIMEOUT_SECONDS", "10")),
            mutation_timeout_seconds=float(
                os.environ.get("SEGMENTO_MUTATION_TIMEOUT_SECONDS", "30")
            ),
            graphiql=os.environ.get("SEGMENTO_GRAPHIQL", "1") != "0",
            decay_interval_seconds=float(os.environ.get("SEGMENTO_DECAY_INTERVAL_SECONDS", "3600")),
            event_retention_days=float(os.environ.get("SEGMENTO_EVENT_RETENTION_DAYS", "7")),
            prune_interval_seconds=float(os.environ.get("SEGMENTO_PRUNE_INTERVAL_SECONDS", "3600")),
            automation_interval_seconds=float(
                os.environ.get("SEGMENTO_AUTOMATION_INTERVAL_SECONDS", "300")
            ),
            subscriber_buffer=_int("SEGMENTO_SUBSCRIBER_BUFFER", 1000),
            keep_alive_seconds=float(os.environ.get("SEGMENTO_KEEP_ALIVE_SECONDS", "15")),
            webhook_max_attempts=_int("SEGMENTO_WEBHOOK_MAX_ATTEMPTS", 8),
            webhook_backoff_seconds=float(os.environ.get("SEGMENTO_WEBHOOK_BACKOFF_SECONDS", "30")),
            webhook_timeout_seconds=float(os.environ.get("SEGMENTO_WEBHOOK_TIMEOUT_SECONDS", "10")),
            webhook_poll_seconds=float(os.environ.get("SEGMENTO_WEBHOOK_POLL_SECONDS", "1")),
            **_limits_from_env(),
            webhook_allow=tuple(
                e.strip() for e in os.environ.get(ALLOW_SETTING, "").split(",") if e.strip()
            ),
        )


def _limits_from_env() -> dict[str, Any]:
    """Quotas and WebSocket caps from SEGMENTO_<NAME> (e.g. SEGMENTO_RATE_READ), their
    defaults those of `Settings`."""
    found: dict[str, Any] = {}
    for f in fields(Settings):
        default: object = f.default
        if f.name.startswith(("rate_", "burst_", "ws_")) and isinstance(default, int | float):
            name = f"SEGMENTO_{f.name.upper()}"
            found[f.name] = (
                _int(name, default) if isinstance(default, int) else _float(name, default)
            )
    return found

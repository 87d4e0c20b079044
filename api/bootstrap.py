"""The composition root: the one place where the services' ports meet their concrete
implementations. The app, the CLI, the benches and the tests build their units of work here,
so every one of them settles its writes at commit (`services.settle`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from api.adapters.graphql_client import HttpGraphQLClient
from api.adapters.http_webhooks import HttpWebhookSenders, SystemResolver
from domain.network import NetworkPolicy
from persistence.db import Database
from persistence.job_leases import JobLeases
from persistence.unit_of_work import Publisher, UnitOfWorkFactory
from services.ports import GraphQLConnect, Resolver, WebhookSenders
from services.ports import JobLeases as JobLeasesPort
from services.settle import settle
from services.targets import TargetGuard


def unit_of_work_factory(
    db: Database,
    *,
    publish: Publisher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(db, publish=publish, clock=clock, settle=settle)


def webhook_targets(allow: Iterable[str], resolver: Resolver | None = None) -> TargetGuard:
    """Where webhooks may connect: public addresses, and what the operator allows; names
    resolved by the system unless `resolver` replaces it (tests)."""
    return TargetGuard(NetworkPolicy.parse(allow), resolver or SystemResolver())


def webhook_senders(targets: TargetGuard) -> WebhookSenders:
    """How the delivery worker reaches integrators: HTTP (httpx), on the guarded network."""
    return HttpWebhookSenders(targets)


def graphql_connect() -> GraphQLConnect:
    """How `segmento demo --stream` reaches a server: GraphQL over HTTP."""
    return HttpGraphQLClient


def job_leases(db: Database) -> JobLeasesPort:
    """Where the scheduler's leases live: the `job_lease` table of the served database."""
    return JobLeases(db)

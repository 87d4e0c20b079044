"""The composition root: the one place where the services' ports meet their concrete
implementations. The app, the CLI, the benches and the tests build their units of work here,
so every one of them settles its writes at commit (`services.settle`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from api.adapters.graphql_client import HttpGraphQLClient
from api.adapters.http_webhooks import HttpWebhookSenders
from persistence.db import Database
from persistence.job_leases import JobLeases
from persistence.unit_of_work import Publisher, UnitOfWorkFactory
from services.ports import GraphQLConnect, WebhookSenders
from services.ports import JobLeases as JobLeasesPort
from services.settle import settle


def unit_of_work_factory(
    db: Database,
    *,
    publish: Publisher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(db, publish=publish, clock=clock, settle=settle)


def webhook_senders() -> WebhookSenders:
    """How the delivery worker reaches integrators: HTTP (httpx)."""
    return HttpWebhookSenders()


def graphql_connect() -> GraphQLConnect:
    """How `segmento demo --stream` reaches a server: GraphQL over HTTP."""
    return HttpGraphQLClient


def job_leases(db: Database) -> JobLeasesPort:
    """Where the scheduler's leases live: the `job_lease` table of the served database."""
    return JobLeases(db)

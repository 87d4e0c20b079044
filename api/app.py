"""The Starlette application: /graphql (HTTP + WebSocket), /healthz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from api.bootstrap import job_leases, unit_of_work_factory, webhook_senders, webhook_targets
from api.bus import EventBus
from api.dashboard import dashboard
from api.export import export_endpoint
from api.live import LiveHub
from api.metrics import Metrics, RequestMiddleware
from api.prepared import PreparedQueries
from api.quotas import QuotaMiddleware, Quotas
from api.schema import build_schema
from api.settings import Settings
from api.view import SegmentoGraphQL
from api.ws_limits import SocketLimits, Sockets
from domain.webhooks import RetryPolicy
from persistence.db import Database, migrate
from services import lists, live
from services.decay import run_decay
from services.inactivity import run_inactivity
from services.ports import Clock, Resolver, system_clock
from services.scheduler import Lease, every
from services.webhooks import DeliveryWorker, WorkerSettings

log = logging.getLogger("segmento")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    resolver: Resolver | None = None,
) -> Starlette:
    """`resolver` replaces the system's name resolution for webhooks (tests)."""
    settings = settings or Settings.from_env()
    targets = webhook_targets(settings.webhook_allow, resolver)
    metrics = Metrics()
    db = Database(
        settings.database_url,
        statement_timeout_seconds=max(
            settings.query_timeout_seconds, settings.mutation_timeout_seconds
        ),
    )
    bus = EventBus(settings.broadcast_url, unit_of_work_factory(db))
    uows = unit_of_work_factory(db, publish=bus.publish, clock=clock)
    policy = RetryPolicy(settings.webhook_max_attempts, settings.webhook_backoff_seconds)
    webhooks = DeliveryWorker(uows, clock, WorkerSettings(
        policy, settings.webhook_timeout_seconds, settings.webhook_poll_seconds),
        senders=webhook_senders(targets))  # fmt: skip
    uows.on_webhooks_queued = webhooks.poke
    lease = Lease(job_leases(db))
    hub = LiveHub(uows, buffer=settings.subscriber_buffer, last=lambda: bus.last)
    bus.listeners.append(hub.on_events)
    bus.wanted = lambda: bool(hub.groups_listening)
    metrics.watch_live(hub, bus)
    schema = build_schema(settings)
    quotas = Quotas(settings, metrics)
    sockets = Sockets(SocketLimits.from_settings(settings), quotas, metrics)
    metrics.watch_sockets(sockets)
    view = SegmentoGraphQL(
        schema,
        uows=uows,
        clock=clock,
        metrics=metrics,
        targets=targets,
        hub=hub,
        prepared=PreparedQueries(
            schema, settings.cost_limits(), settings.query_timeout_seconds, clock
        ),
        sockets=sockets,
        graphql_ide="graphiql" if settings.graphiql else None,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
        max_subscriptions_per_connection=settings.ws_max_operations_per_connection,
        keep_alive=True,
        keep_alive_interval=settings.keep_alive_seconds,
        # CSV uploads (importContacts). CSRF-safe: writes need the Authorization header,
        # which a cross-site form cannot send, and no CORS preflight is ever approved.
        multipart_uploads_enabled=True,
    )
    hub.authorized = view.still_authorized
    view.key_cache.on_revoke.append(sockets.close_key)

    async def healthz(_request: Request) -> JSONResponse:
        """200 only when the database answers and can take writes (persistence/db.py)."""
        try:
            problem = await asyncio.wait_for(db.health(), timeout=5)
        except Exception as error:  # the probe reports any database failure
            log.warning("health check failed: %s", error)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        if problem is not None:
            log.warning("health check failed: %s", problem)
            body = {"status": "error", "database": "unavailable", "reason": problem}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "database": db.dialect})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await asyncio.to_thread(migrate, settings.database_url)
        await bus.start()
        retention = timedelta(days=settings.event_retention_days)
        jobs = [
            (settings.decay_interval_seconds, lambda: run_decay(uows, clock()), "decay run"),
            (settings.prune_interval_seconds, lambda: live.prune(uows, clock(), retention),
             "event log pruning"),
            (settings.automation_interval_seconds, lambda: run_inactivity(uows, clock()),
             "inactivity automations"),
            (settings.automation_interval_seconds,
             lambda: lists.refresh_clock_lists(uows, clock()), "time-based list membership"),
        ]  # fmt: skip
        # Each job runs in one process at a time however many serve this database (the
        # lease); webhook deliveries need none: every process's worker claims rows.
        background = [asyncio.create_task(every(*job, lease=lease)) for job in jobs if job[0] > 0]
        if settings.webhook_poll_seconds > 0:  # stopped by cancelling: see DeliveryWorker.run
            background.append(asyncio.create_task(webhooks.run()))
        if settings.ws_key_check_seconds > 0:  # keys revoked by another process
            check = sockets.watch_keys(view.still_authorized, settings.ws_key_check_seconds)
            background.append(asyncio.create_task(check))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):  # else the leases simply expire
                await lease.give_back()
            await bus.stop()
            await db.dispose()

    app = Starlette(
        middleware=[
            Middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes),
            Middleware(QuotaMiddleware, quotas=quotas, authenticate=view.principal_of),
        ],
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/metrics", metrics.endpoint),
            dashboard(),
            Route("/export/contacts.csv", export_endpoint(view), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.uows = uows
    app.state.bus = bus
    app.state.hub = hub
    app.state.webhooks = webhooks
    app.state.lease = lease
    app.state.metrics = metrics
    app.state.prepared = view.prepared
    app.state.sockets = sockets
    return app

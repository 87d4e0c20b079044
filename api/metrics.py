"""Prometheus metrics and the ASGI middlewares around the app (request id, body limit)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KNOWN_PATHS = {"/graphql", "/healthz", "/metrics", "/dashboard", "/export/contacts.csv"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "segmento_http_requests_total",
            "HTTP requests by method, path and status.",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "segmento_http_request_duration_seconds",
            "HTTP request latency.",
            ["path"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.graphql_errors = Counter(
            "segmento_graphql_errors_total",
            "GraphQL errors returned, by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "segmento_live_dropped",
            "Subscribers closed for falling too far behind (told to resume).",
            registry=self.registry,
        )
        self.refused = Counter(
            "segmento_refused_total",
            "Requests, WebSocket operations and connections refused by a quota or cap, by "
            "reason (README: Limits).",
            ["reason"],
            registry=self.registry,
        )

    def watch_sockets(self, sockets: Any) -> None:
        """Gauges of the open WebSocket connections (api/ws_limits.py), read at scrape time."""
        Gauge("segmento_ws_connections", "Open WebSocket connections.", registry=self.registry
              ).set_function(lambda: len(sockets.open))  # fmt: skip
        Gauge("segmento_ws_pending", "WebSocket connections not yet past connection_init.",
              registry=self.registry).set_function(lambda: len(sockets.pending))  # fmt: skip

    def watch_live(self, hub: Any, bus: Any) -> None:
        """Gauges read from the live hub and the event bus at scrape time."""
        readings = {
            "segmento_live_subscribers": ("Live subscriptions served.", hub.subscribers),
            "segmento_live_groups": ("Subscription shapes executing.", lambda: len(hub.groups)),
            "segmento_bus_reconnects": ("Broadcast reconnections.", lambda: bus.reconnects),
            "segmento_bus_last_cursor": ("Newest cursor handed over.", lambda: bus.last),
        }
        for name, (text, read) in readings.items():
            Gauge(name, text, registry=self.registry).set_function(read)
        hub.on_drop = self.dropped.inc

    async def endpoint(self, _request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class RequestMiddleware:
    """Gives every request an id (X-Request-ID), caps its body size, and measures it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        started, status = time.perf_counter(), 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            body_receive = await self._bounded_body(scope, receive, headers)
            if body_receive is None:
                await _too_large(self.max_body)(scope, receive, send_wrapper)
            else:
                await self.app(scope, body_receive, send_wrapper)
        finally:
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)

    async def _bounded_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
    ) -> Receive | None:
        """Read the body up to the limit; None when it is larger."""
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return None
        if scope["method"] in ("GET", "HEAD"):
            return receive
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def _too_large(limit: int) -> Any:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"request body larger than {limit} bytes; split the request",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ]
        },
        status_code=413,
    )

"""The sales dashboard: a static page (HTML, JavaScript, CSS in `static/`) served at
/dashboard, with the GraphQL documents it sends served from the contract itself
(`frontend-contract/operations/Dashboard*.graphql`: one copy, so the page cannot drift from
the contract). No build step; it talks only to /graphql on the same server, and its
Content-Security-Policy lets it reach nothing else."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"
# The contract's operations, beside the code in a checkout (where `make run` serves from).
OPERATIONS = Path(__file__).resolve().parents[2] / "frontend-contract" / "operations"
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


class _WithHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def operation(request: Request) -> Response:
    """/dashboard/operations/<Name>.graphql: a `Dashboard*` operation of the contract."""
    name = request.path_params["name"]
    path = OPERATIONS / f"{name}.graphql"
    if not (name.startswith("Dashboard") and name.isalnum() and path.is_file()):
        return PlainTextResponse("no such dashboard operation", status_code=404)
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="application/graphql")


def dashboard() -> Mount:
    """/dashboard/ (index.html) and its assets; /dashboard redirects to /dashboard/."""
    routes = [
        Route("/operations/{name}.graphql", operation),
        Mount("/", app=StaticFiles(directory=STATIC, html=True)),
    ]
    return Mount("/dashboard", app=_WithHeaders(Mount("", routes=routes)))

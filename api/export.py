"""GET /export/contacts.csv?filter=<ContactFilter JSON>&list=<list id>&raw=true: the matching
contacts (members of the list, if given) as CSV, streamed; cells a spreadsheet would run as
formulas are neutralised unless `raw=true` (domain/csv_rows.py).

The filter is the JSON a client sends as the `filter` variable of `contacts` (camelCase,
`and`/`or`/`not`), checked against the GraphQL input type, so both accept exactly the same
filters. The key goes in `Authorization: Bearer <key>` (read scope), as for /graphql.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import GraphQLInputType
from graphql.utilities import coerce_input_value, validate_input_value
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from strawberry.types.arguments import convert_argument

from api.schema.inputs import ContactFilter
from api.view import SegmentoGraphQL, bearer_token
from domain.auth import Scope
from domain.errors import DomainError, InvalidInput, parse_id
from domain.filters import ContactFilter as DomainFilter
from services import auth, csv_io


def parse_filter(raw: str | None, schema: Any) -> DomainFilter | None:
    """A ContactFilter from its GraphQL-variable JSON; None for no filter."""
    if raw is None or not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"filter is not valid JSON: {error}", field="filter") from None
    if data is None:
        return None
    kind: GraphQLInputType = schema._schema.get_type("ContactFilter")
    problems: list[str] = []
    validate_input_value(
        data, kind, lambda e, path: problems.append(f"{'.'.join(map(str, path))}: {e.message}")
    )
    if problems:
        raise InvalidInput("filter is not a ContactFilter: " + "; ".join(problems), field="filter")
    value = convert_argument(
        coerce_input_value(data, kind),
        ContactFilter,
        schema.schema_converter.scalar_registry,
        schema.config,
    )
    assert isinstance(value, ContactFilter)
    return value.to_domain()


def export_endpoint(view: SegmentoGraphQL) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint; it shares the GraphQL view's units of work, clock and key
    cache, so a revoked key stops working here at the same moment."""

    async def export_contacts_csv(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        principal = await auth.authenticate(view.uows, token, view.key_cache) if token else None
        if principal is None:
            message = (
                "the API key is not valid or has been revoked"
                if token
                else "an API key is required: send the header 'Authorization: Bearer <key>'"
            )
            return _error(401, "UNAUTHENTICATED", message, {"www-authenticate": "Bearer"})
        try:
            principal.require(Scope.READ, "exporting contacts")
            where = parse_filter(request.query_params.get("filter"), view.schema)
            raw_list = request.query_params.get("list")
            list_id = parse_id(raw_list, "list", "list") if raw_list is not None else None
            raw = _flag(request.query_params.get("raw"), "raw")
            _, chunks = await csv_io.export_selection(
                view.uows, list_id, where, view.clock(), raw=raw
            )
        except DomainError as error:
            status = {"FORBIDDEN": 403, "NOT_FOUND": 404}.get(error.code, 400)
            return _error(status, error.code, error.message, field=error.field)
        return StreamingResponse(
            chunks,
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": 'attachment; filename="contacts.csv"',
                "cache-control": "no-store",
            },
        )

    return export_contacts_csv


def _flag(value: str | None, name: str) -> bool:
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise InvalidInput(f"{name} must be true or false, got {value!r}", field=name)


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    field: str | None = None,
) -> JSONResponse:
    extensions = {"code": code, **({"field": field} if field else {})}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)

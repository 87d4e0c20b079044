"""GraphQL over HTTP (and WebSocket) on Starlette, following the GraphQL-over-HTTP spec.

Clients that accept `application/graphql-response+json` get it, with 4xx for request errors
(parse, validation, auth); `application/json` clients get 200 for every well-formed request.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, get_operation_ast, parse
from graphql import OperationType as GraphQLOperationType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.context import Context, LiveStreams, Loaders
from api.errors import REQUEST_ERROR_STATUS, UNRESOLVED_OPERATION
from api.metrics import Metrics
from api.prepared import PreparedQueries, shared_reads
from api.ws import LegacyWSHandler, TransportWSHandler
from api.ws_limits import Sockets
from domain.auth import Principal
from services import auth, live
from services.ports import Clock, UnitOfWorkFactory
from services.targets import TargetGuard

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ALL_OPERATIONS = frozenset(OperationType)


def wants_graphql_response(accept: str) -> bool:
    """Only clients that name the new media type get it; others keep application/json."""
    return GRAPHQL_RESPONSE in accept


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@functools.lru_cache(maxsize=1024)
def _document(query: str | None) -> DocumentNode | None:
    """The request's document as the view looks at it before execution (None when it does
    not parse, or is past any token limit a server would set: execution then reports that)."""
    try:
        return parse(query or "", no_location=True, max_tokens=100_000)
    except GraphQLError:
        return None


@functools.lru_cache(maxsize=1024)
def _is_query(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation that would run is a query (False when it cannot be told:
    the request then runs as before and fails where it always did)."""
    document = _document(query)
    operation = get_operation_ast(document, operation_name) if document is not None else None
    return operation is not None and operation.operation is GraphQLOperationType.QUERY


def _operation_count(query: str | None) -> int:
    """Operations in the document (0 when it cannot be parsed)."""
    document = _document(query)
    if document is None:
        return 0
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def unresolved_operation(
    context: Context, operation_name: str | None, *, several: bool = False
) -> ExecutionResult:
    """A document without the one operation to run (unknown `operationName`, fragments
    only, several operations and no name) is a request error, as the GraphQL spec's
    GetOperation() makes it (Strawberry would run the first of several)."""
    context.request_error = UNRESOLVED_OPERATION
    if several:
        message = "the document has several operations: name the one to run in operationName"
    elif operation_name is not None:
        message = f"the document has no operation named {operation_name!r}"
    else:
        message = "the document has no operation to run"
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": UNRESOLVED_OPERATION})]
    )


class SubResponse(Response):
    """The response resolvers may add headers to; it knows the context that answered."""

    context: Context | None = None


class SegmentoGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        uows: UnitOfWorkFactory,
        clock: Clock,
        metrics: Metrics,
        targets: TargetGuard,
        hub: LiveStreams | None = None,
        prepared: PreparedQueries | None = None,
        *,
        sockets: Sockets,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.prepared = prepared
        self.uows = uows
        self.clock = clock
        self.metrics = metrics
        self.targets = targets
        self.hub = hub
        self.sockets = sockets  # WebSocket caps (api/ws.py)
        self.key_cache = auth.KeyCache()
        self._encoded: dict[int, tuple[Any, bytes]] = {}

    def encode_json(self, data: object) -> str:
        """orjson; a live result shared by many subscribers is encoded once, not once per
        subscriber (only the operation id differs between their messages)."""
        payload = data.get("payload") if isinstance(data, dict) else None
        if not (
            isinstance(data, dict)
            and isinstance(payload, dict)
            and payload.keys() == {"data"}
            and payload["data"]
        ):
            return orjson.dumps(data).decode()
        shared = payload["data"]
        hit = self._encoded.get(id(shared))
        if hit is None or hit[0] is not shared:
            if len(self._encoded) >= 256:
                del self._encoded[next(iter(self._encoded))]
            hit = self._encoded[id(shared)] = (shared, orjson.dumps(shared))
        head = orjson.dumps({"id": data["id"], "type": data["type"]})
        return (head[:-1] + b',"payload":{"data":' + hit[1] + b"}}").decode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        try:
            try:
                response = None
                if self.prepared is not None and scope["method"] == "POST":
                    response = await self._prepared_response(request)
                if response is None:
                    response = await self.run(request)
            except HTTPException as e:
                response = JSONResponse(
                    {"errors": [{"message": e.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                    status_code=e.status_code,
                )
            await response(scope, receive, send)
        finally:
            # Uploads parsed from a multipart body are closed even when the request is
            # refused before any resolver reads them (e.g. no API key).
            await request.close()

    async def _prepared_response(self, request: Request) -> Response | None:
        """A query answered before, on the short way (api/prepared.py); None: the full way
        answers (the body read here stays with the request for it)."""
        assert self.prepared is not None
        if request.headers.get("content-type", "").partition(";")[0].strip() != JSON:
            return None
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        found = self.prepared.request(data)
        if found is None:
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        answer = await self.prepared.run(context, *found)
        if answer is None:
            return None
        return self.create_response({"data": answer}, sub_response)

    def parse_json(self, data: str | bytes) -> Any:
        """A body `json.loads` refuses with a plain ValueError (an integer of more than 4,300
        digits) or a RecursionError (arrays nested thousands deep) is malformed like any
        other: 400, not a server fault."""
        try:
            return super().parse_json(data)
        except (ValueError, RecursionError) as e:
            raise HTTPException(400, "Unable to parse request body as JSON") from e

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's parsing, plus the spec's rule it leaves out: `operationName` is a
        string or null, else the request is refused with 400."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null."
                )
        return data

    async def get_sub_response(self, request: Request | WebSocket) -> SubResponse:
        sub_response = SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # as Strawberry's own: unset
        del sub_response.headers["content-length"]
        return sub_response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            key_cache=self.key_cache,
            uows=self.uows,
            clock=self.clock,
            loaders=Loaders(self.uows, self.clock),
            targets=self.targets,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            request=request,
            response=response,
        )
        if isinstance(response, SubResponse):
            response.context = context
        if isinstance(request, Request):
            await self.authenticate(context, request.headers.get("authorization"))
        else:
            context.hub = self.hub
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object]:
        """WebSocket clients authenticate in connection_init: {"authorization": "Bearer <key>"}.
        A missing or bad key closes the socket (4403 on graphql-transport-ws; a
        connection_error on graphql-ws); read scope suffices for subscriptions. The
        connection_ack payload carries the log's newest cursor: subscribing with it as
        `after` misses nothing written since the connection opened."""
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        await self.authenticate(context, header if isinstance(header, str) else None)
        context.token = bearer_token(header) if isinstance(header, str) else None
        if context.principal is None and not isinstance(header, str):
            context.auth_problem = (
                'an API key is required: send {"authorization": "Bearer <key>"} as the '
                "connection_init payload"
            )
        if context.principal is None:
            raise ConnectionRejectionError(
                {"message": context.auth_problem, "code": "UNAUTHENTICATED"}
            )
        self.sockets.identify(context)  # Refused (4429) when the key has too many connections
        return {"cursor": str(await live.head(self.uows))}

    async def still_authorized(self, context: Context) -> bool:
        """Whether the key a WebSocket connected with still works (revocation is seen at
        once in this process, within the key cache's 5 s in others)."""
        if not context.token:
            return False
        return await auth.authenticate(self.uows, context.token, self.key_cache) is not None

    async def authenticate(self, context: Context, header: str | None) -> None:
        if bearer_token(header) is None:
            context.auth_problem = (
                "an API key is required: send the header 'Authorization: Bearer <key>'"
            )
            return
        context.principal = await self.principal_of(header)
        if context.principal is None:
            context.auth_problem = "the API key is not valid or has been revoked"

    async def principal_of(self, header: str | None) -> Principal | None:
        """Who an Authorization header names (None: no key, or not a valid one)."""
        token = bearer_token(header)
        return await auth.authenticate(self.uows, token, self.key_cache) if token else None

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Let every operation type through; `OperationGuard` answers GET mutations with 405.
        A query's reads share one connection and transaction (`SharedReads`)."""
        if request_data.operation_name is None and _operation_count(request_data.query) > 1:
            return unresolved_operation(context, None, several=True)
        reads = (
            shared_reads(context, self.clock)
            if _is_query(request_data.query, request_data.operation_name)
            else contextlib.nullcontext(False)
        )
        try:
            async with reads as shared:
                result = await self.schema.execute(
                    request_data.query,
                    root_value=root_value,
                    variable_values=request_data.variables,
                    context_value=context,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=ALL_OPERATIONS,
                    operation_extensions=request_data.extensions,
                )
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        except CannotGetOperationTypeError:
            return unresolved_operation(context, request_data.operation_name)
        if (
            shared
            and self.prepared is not None
            and request.method == "POST"
            and request_data.query is not None
            and not request_data.extensions
            and not result.errors
        ):
            self.prepared.remember(request_data.query, request_data.operation_name)
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        context = sub_response.context if isinstance(sub_response, SubResponse) else None
        code = context.request_error if context else None
        graphql_response = context is not None and wants_graphql_response(
            context.request.headers.get("accept", "")
        )
        if graphql_response and code and isinstance(response_data, dict):
            response_data = response_data.copy()
            response_data.pop("data", None)
        self._count_errors(response_data)
        response = super().create_response(response_data, sub_response)
        if graphql_response:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if code:
                response.status_code = REQUEST_ERROR_STATUS.get(code, 400)
        if code == "METHOD_NOT_ALLOWED":
            response.status_code = 405
            response.headers["allow"] = "POST"
        return response

    def _count_errors(self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> None:
        for item in response_data if isinstance(response_data, list) else [response_data]:
            for error in item.get("errors") or ():
                extensions = error.get("extensions") if isinstance(error, dict) else None
                code = (extensions or {}).get("code", "UNKNOWN")
                self.metrics.graphql_errors.labels(code).inc()

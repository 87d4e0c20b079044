"""Error policy: every error carries `extensions.code`; server faults are masked and logged.

Also the operation guard: a key is needed for anything but introspection, and mutations need
`write` scope. A refused operation is a request error (no `data`), which the HTTP view turns
into 401/403 for `application/graphql-response+json` clients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    SubsequentIncrementalExecutionResult,
)
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import StreamExecutionResult
from strawberry.types.graphql import OperationType

from api.context import as_context
from domain.auth import Scope
from domain.errors import DomainError, Forbidden, Unauthenticated

log = logging.getLogger("segmento.api")


class MethodNotAllowed(DomainError):
    code = "METHOD_NOT_ALLOWED"


class BadRequest(DomainError):
    code = "BAD_REQUEST"


UNRESOLVED_OPERATION = "OPERATION_RESOLUTION_FAILURE"

REQUEST_ERROR_STATUS = {
    "METHOD_NOT_ALLOWED": 405,
    "BAD_REQUEST": 400,
    "GRAPHQL_PARSE_FAILED": 400,
    "GRAPHQL_VALIDATION_FAILED": 400,
    UNRESOLVED_OPERATION: 400,
    "BAD_USER_INPUT": 400,
    "QUERY_TOO_COSTLY": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
}


def is_introspection_only(document: DocumentNode | None, operation_name: str | None) -> bool:
    if document is None:
        return False
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and definition.name and definition.name.value != operation_name:
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or not selection.name.value.startswith("__"):
                return False
    return True


class OperationGuard(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = as_context(ec.context)
        error: DomainError | None = None
        method = ctx.request.method if isinstance(ctx.request, Request) else None
        if method == "GET" and ec.operation_type is not OperationType.QUERY:
            error = MethodNotAllowed("only queries may use GET; send mutations with POST")
        elif method is not None and ec.operation_type is OperationType.SUBSCRIPTION:
            error = BadRequest(
                "subscriptions are served over WebSocket at /graphql "
                "(graphql-transport-ws or graphql-ws), not over HTTP"
            )
        elif not is_introspection_only(ec.graphql_document, ec.operation_name):
            try:
                needed = Scope.WRITE if ec.operation_type is OperationType.MUTATION else Scope.READ
                ctx.require(needed, "running mutations" if needed is Scope.WRITE else "reading")
            except (Unauthenticated, Forbidden) as refused:
                error = refused
        if error is not None:
            ctx.request_error = error.code
            ec.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(error.message, extensions={"code": error.code})],
            )
        yield


# graphql-core's words for variables nested past the interpreter's recursion limit.
VARIABLES_TOO_DEEP = "Variable values are nested too deeply."


def _code_for(error: GraphQLError, validation_failed: bool) -> tuple[str, bool]:
    """(code, is_request_error) for an error that carries no code of ours."""
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED", True
    if error.path is None and validation_failed:
        return "GRAPHQL_VALIDATION_FAILED", True
    if error.path is None and (
        error.message.startswith("Variable '$") or error.message == VARIABLES_TOO_DEEP
    ):
        return "BAD_USER_INPUT", True  # variables that do not coerce to their types
    return "INTERNAL_SERVER_ERROR", False


class ErrorPolicy(SchemaExtension):
    def __init__(self) -> None:
        self.validation_failed = False

    def on_validate(self) -> Iterator[None]:
        yield
        self.validation_failed = bool(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        self.validation_failed = False
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._format(error) for error in result.errors]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """Subscription results get the same codes (each result of the stream)."""
        if not isinstance(result, SubsequentIncrementalExecutionResult) and result.errors:
            result.errors = [self._format(error) for error in result.errors]
        yield

    def _format(self, error: GraphQLError) -> GraphQLError:
        ctx = as_context(self.execution_context.context)
        original = error.original_error
        if isinstance(original, DomainError):
            extensions = {"code": original.code}
            if original.field:
                extensions["field"] = original.field
            return _rebuild(error, original.message, extensions)
        if error.extensions and "code" in error.extensions:
            return error
        if isinstance(original, InvalidOperationTypeError):  # e.g. a query over graphql-ws
            ctx.request_error = ctx.request_error or "BAD_REQUEST"
            message = (
                f"{original.operation_type.value} operations are not accepted here; send "
                "queries and mutations over HTTP (or graphql-transport-ws)"
            )
            return _rebuild(error, message, {"code": "BAD_REQUEST"})
        code, request_error = _code_for(error, self.validation_failed)
        if request_error:
            ctx.request_error = ctx.request_error or code
            return _rebuild(error, error.message, {"code": code})
        log.error(
            "unexpected error in %s (request %s)",
            error.path,
            ctx.request_id,
            exc_info=original or error,
        )
        ctx.server_error = True
        return _rebuild(
            error,
            f"Internal server error; quote request id {ctx.request_id} when reporting it.",
            {"code": "INTERNAL_SERVER_ERROR", "requestId": ctx.request_id},
        )


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )

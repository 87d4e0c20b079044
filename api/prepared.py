"""Prepared queries: the short way for a query document the server has answered before.

Strawberry runs every operation through its schema-extension chain: eight extensions made
per request, four hook phases each, parse and validation looked up in caches (the validation
cache hashes the whole document tree on every lookup), the HTTP body parsed by a generic
adapter. For a contacts page that is about a fifth of the request's time, and none of it
depends on more than the query's text once the text has been accepted.

So a query that ran the whole way without an error is remembered by its text and operation
name. The next POST of the same text runs what still depends on the request, in the order
the extensions run it, and nothing else:

- the key is authenticated and must allow reading (`OperationGuard`);
- the cost is computed with these variables and must be within the key's budget
  (`QueryCostGuard`);
- the time budget and the request's share of the database are set (`TimeBudget`);
- the compiled plan executes it (`api.compiled`), graphql-core coercing the variables.

Parsing, the token limit and validation depend only on the text, which passed them.
Anything else (no key, a refused scope, over budget, any error in the result, a body that is
not a plain JSON object of the usual keys) gives up and the request takes the full way from
the start, so every refusal and error is produced, worded and counted exactly as before.
Giving up after execution reruns a query, which reads and writes nothing else.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, execute, parse
from graphql.pyutils import is_awaitable
from strawberry.execution import optimized_is_awaitable
from strawberry.schema import Schema

from api.budget import begin_operation
from api.compiled import CompiledExecutor
from api.context import Context, Loaders
from api.cost import Cost, operation_cost
from api.errors import is_introspection_only
from domain.auth import Scope
from domain.errors import Forbidden, Unauthenticated
from persistence.unit_of_work import SharedReads
from persistence.unit_of_work import UnitOfWorkFactory as Units
from services.ports import Clock

PREPARED_SIZE = 256
REQUEST_KEYS = frozenset({"query", "variables", "operationName"})


class PreparedQueries:
    """Query texts answered before (the newest PREPARED_SIZE), and how to run them."""

    def __init__(
        self,
        schema: Schema,
        budgets: Mapping[Scope, int],
        query_seconds: float,
        clock: Clock,
    ) -> None:
        self.schema = schema
        self.budgets = budgets
        self.query_seconds = query_seconds
        self.clock = clock
        self._documents: OrderedDict[tuple[str, str | None], DocumentNode] = OrderedDict()
        self.runs = {"prepared": 0, "gave_up": 0}
        # Strawberry's executor gets a middleware manager when an extension wraps resolvers:
        # the short way has none to give, so it stays off.
        self.enabled = not any(
            extension._implements_resolve() for extension in schema.get_extensions()
        )

    def remember(self, query: str, operation_name: str | None) -> None:
        """After `query` ran the full way without an error (a query, not introspection)."""
        key = (query, operation_name)
        if not self.enabled or key in self._documents:
            return
        try:
            document = parse(query)
        except GraphQLError:
            return
        if is_introspection_only(document, operation_name):
            return
        self._documents[key] = document
        if len(self._documents) > PREPARED_SIZE:
            self._documents.popitem(last=False)

    def request(self, data: Any) -> tuple[DocumentNode, str | None, dict[str, Any] | None] | None:
        """The prepared document of a decoded POST body, with its operation name and
        variables; None when the body is anything but a plain request for a known text."""
        if type(data) is not dict or not data.keys() <= REQUEST_KEYS:
            return None
        query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
        if type(query) is not str or not (name is None or type(name) is str):
            return None
        if not (variables is None or type(variables) is dict):
            return None
        document = self._documents.get((query, name))
        if document is None:
            return None
        return document, name, variables

    async def run(
        self,
        context: Context,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """The response's `data`, or None when the full way must answer instead."""
        try:
            principal = context.require(Scope.READ, "reading")
        except (Unauthenticated, Forbidden):
            return None
        graphql_schema = self.schema._schema
        cost = operation_cost(graphql_schema, document, operation_name, variables)
        if Cost(cost, self.budgets[principal.scope]).too_costly:
            return None
        try:
            async with shared_reads(context, self.clock):
                begin_operation(self.query_seconds)
                result = execute(
                    graphql_schema,
                    document,
                    context_value=context,
                    variable_values=variables,
                    operation_name=operation_name,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry
                    executor_class=CompiledExecutor,
                    operation_extensions=None,
                )
                if is_awaitable(result):
                    result = await result
        except Exception:  # the full way runs it again and reports whatever it was
            result = None
        if not isinstance(result, ExecutionResult) or result.errors or result.extensions:
            self.runs["gave_up"] += 1
            return None
        self.runs["prepared"] += 1
        return result.data


@contextlib.asynccontextmanager
async def shared_reads(context: Context, clock: Clock) -> AsyncIterator[bool]:
    """The operation's reads on one connection and transaction (`SharedReads`), given back
    when it ends; yields whether they are (not with a factory of another kind, e.g. a
    test's fake)."""
    uows = context.uows
    if not isinstance(uows, Units):
        yield False
        return
    reads = SharedReads(uows)
    context.uows = reads
    context.loaders = Loaders(reads, clock)
    try:
        yield True
    finally:
        await reads.close()


__all__ = ["PreparedQueries", "shared_reads"]

"""Every operation is costed before it runs (api/cost.py) and refused above its key's budget
with QUERY_TOO_COSTLY, nothing executed; introspection answers come from a cache. Queries
and mutations run under a time budget (TIMEOUT past it, rolled back)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.context import as_context
from api.cost import Cost, operation_cost
from api.errors import is_introspection_only
from domain import deadline
from domain.auth import Scope
from persistence import request_share

INTROSPECTION_CACHE = 32


class TimeBudget(SchemaExtension):
    """Each query or mutation runs under its time budget (subscriptions live on)."""

    def __init__(self, query_seconds: float, mutation_seconds: float) -> None:
        self.seconds = {
            OperationType.QUERY: query_seconds,
            OperationType.MUTATION: mutation_seconds,
        }

    def on_execute(self) -> Iterator[None]:
        seconds = self.seconds.get(self.execution_context.operation_type)
        if seconds is not None:
            begin_operation(seconds)
        yield


def begin_operation(seconds: float) -> None:
    """A query or mutation starts: its time budget, and its fair part of the database
    (persistence/request_share.py), for the rest of the current task."""
    deadline.set_budget(seconds)
    request_share.begin()


class QueryCostGuard(SchemaExtension):
    """Runs after OperationGuard (an operation it refused is not costed)."""

    def __init__(self, budgets: Mapping[Scope, int], cache: IntrospectionCache) -> None:
        self.budgets = budgets
        self.cache = cache

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.result is not None or ec.graphql_document is None:
            yield
            return
        if ec.operation_type is OperationType.SUBSCRIPTION:  # one event at a time
            yield
            return
        ctx = as_context(ec.context)
        scope = ctx.principal.scope if ctx.principal is not None else Scope.READ
        cost = Cost(
            operation_cost(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables),
            self.budgets[scope],
        )
        if cost.too_costly:
            ctx.request_error = "QUERY_TOO_COSTLY"
            ec.result = ExecutionResult(data=None, errors=[_refusal(cost, scope)])
            yield
            return
        key = None
        if is_introspection_only(ec.graphql_document, ec.operation_name):
            key = (ec.query or "", ec.operation_name, json.dumps(ec.variables, sort_keys=True))
            cached = self.cache.get(key)
            if cached is not None:
                ec.result = ExecutionResult(data=cached)
        yield
        result = ec.result
        if key is not None and isinstance(result, ExecutionResult) and not result.errors:
            self.cache.put(key, result.data)


# The largest cost reported as such: every JSON client reads it exactly, and the response
# encoder (orjson) cannot write integers past 64 bits, which page sizes of 2^31 nested three
# times reach.
REPORTED_COST_MAX = 2**53 - 1


def _refusal(cost: Cost, scope: Scope) -> GraphQLError:
    value = min(cost.value, REPORTED_COST_MAX)
    costs = f"{value:,}" if value == cost.value else f"more than {value:,}"
    return GraphQLError(
        f"this operation costs {costs}, above the {cost.limit:,} a key with scope "
        f"'{scope.value}' may spend on one request: ask for smaller pages (first/last), nest "
        "fewer connections, or split it into several requests (see the contract's Query cost "
        "chapter)",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": value, "limit": cost.limit},
    )


class IntrospectionCache:
    """Answers to introspection operations, which are the same for every caller of a
    process (the schema does not change while it runs); the newest INTROSPECTION_CACHE."""

    def __init__(self) -> None:
        self._answers: OrderedDict[tuple[str, str | None, str], dict[str, Any] | None] = (
            OrderedDict()
        )

    def get(self, key: tuple[str, str | None, str]) -> dict[str, Any] | None:
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
        return found

    def put(self, key: tuple[str, str | None, str], data: dict[str, Any] | None) -> None:
        self._answers[key] = data
        if len(self._answers) > INTROSPECTION_CACHE:
            self._answers.popitem(last=False)


def cost_guard(budgets: Mapping[Scope, int]) -> Callable[[], QueryCostGuard]:
    """A factory (Strawberry makes one extension per request); the cache is shared."""
    cache = IntrospectionCache()
    return lambda: QueryCostGuard(budgets, cache)

"""Builds the Strawberry schema from the per-aggregate modules.

The dependency runs one way: resolvers import the types of this package, and none of these
types imports a resolver. `build_schema` is the one place above both, so it takes the root
types from `api.resolvers` when it runs, not when this package is imported (importing any
type module first runs this `__init__`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import aclosing
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, get_operation_ast, parse
from graphql import OperationType as GraphQLOperationType
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from api.budget import TimeBudget, cost_guard
from api.compiled import CompiledExecutor
from api.context import Context, LiveStreams, Results, as_context
from api.errors import ErrorPolicy, OperationGuard
from api.live import REVOKED
from api.schema import input_builders
from api.settings import Settings

CACHE_SIZE = 1000


class CachedParse(ParserCache):
    """Parser cache that leaves syntax errors to Strawberry's own parse step, where they
    become ordinary request errors (with codes) instead of escaping the operation."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        try:
            ec.graphql_document = self.cached_parse_document(ec.query, **ec.parse_options)
        except GraphQLError:
            ec.graphql_document = None
        yield


class CachedNames(NameConverter):
    """Strawberry names the fields of every input object again on every request (a contact
    filter: 24 camel-case conversions, ~4 % of a contacts page); names are fixed once the
    schema is built."""

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._applied: dict[tuple[bool, str], str] = {}

    def apply_naming_config(self, name: str) -> str:
        key = (self.auto_camel_case, name)
        found = self._applied.get(key)
        if found is None:
            found = self._applied[key] = super().apply_naming_config(name)
        return found


class SegmentoSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging happens in `ErrorPolicy`, which knows client errors from server faults."""

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Results:
        """Subscriptions over WebSocket go through the live hub (shared executions)."""
        base = super().stream
        context = as_context(context_value)

        async def run(context: Context) -> Results:
            results = await base(query, variable_values, context, root_value, operation_name,
                                 operation_extensions, allowed_operation_types)  # fmt: skip
            async with aclosing(results):
                async for result in results:
                    if not isinstance(result, ExecutionResult):  # no incremental delivery here
                        raise TypeError(f"unexpected stream result {type(result).__name__}")
                    yield result

        if context.hub is None:
            return run(context)
        if not _is_subscription(query, operation_name):
            return _unless_revoked(context.hub, context, run)
        return context.hub.stream((query, operation_name, variable_values), context, run)


async def _unless_revoked(
    hub: LiveStreams, context: Context, run: Callable[[Context], Results]
) -> Results:
    """A query or mutation over WebSocket runs only while the connection's key is valid."""
    if not await hub.authorized(context):
        yield REVOKED
        return
    async for result in run(context):
        yield result


@functools.lru_cache(maxsize=CACHE_SIZE)
def _is_subscription(query: str | None, operation_name: str | None) -> bool:
    try:
        operation = get_operation_ast(parse(query or ""), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is GraphQLOperationType.SUBSCRIPTION


def build_schema(settings: Settings | None = None, *, compiled: bool = True) -> strawberry.Schema:
    """`compiled=False` runs every operation on graphql-core's executor alone (tests compare)."""
    settings = settings or Settings()
    # Rule classes made once, so the validation cache sees the same rules on every request.
    rules: list[type[ASTValidationRule]] = [
        depth_validator(settings.max_query_depth, None, None),
        alias_validator(settings.max_aliases),
    ]
    extensions: list[Callable[[], Any] | type[Any]] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: CachedParse(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        OperationGuard,
        cost_guard(settings.cost_limits()),
        lambda: TimeBudget(settings.query_timeout_seconds, settings.mutation_timeout_seconds),
        ErrorPolicy,
    ]
    from api.resolvers.roots import Mutation, Query, Subscription

    schema = SegmentoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, name_converter=CachedNames()),
        execution_context_class=CompiledExecutor if compiled else None,
    )
    input_builders.install(schema)
    return schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"

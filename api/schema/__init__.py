"""Builds the Strawberry schema from the per-aggregate modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.config import StrawberryConfig

from api.errors import ErrorPolicy, OperationGuard
from api.resolvers.mutation import Mutation
from api.resolvers.query import Query
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


class SegmentoSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Logging happens in `ErrorPolicy`, which knows client errors from server faults."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # Rule classes made once, so the validation cache sees the same rules on every request.
    rules = [
        depth_validator(settings.max_query_depth, None, None),
        alias_validator(settings.max_aliases),
    ]
    extensions: list[Callable[[], Any] | type[Any]] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: CachedParse(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        OperationGuard,
        ErrorPolicy,
    ]
    return SegmentoSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"

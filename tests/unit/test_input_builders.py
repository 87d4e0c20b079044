"""Input objects built by api/schema/input_builders.py equal what Strawberry's own generic
conversion builds, for every kind of field: scalars, enums, lists, nested and recursive
inputs, defaults and default factories, custom scalars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, parse
from graphql.execution.values import get_argument_values
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from api.schema import build_schema
from api.schema.input_builders import InputBuilder

SCHEMA = build_schema()

CASES = [
    ("Query", "contacts", "(filter: {scoreAbove: 5}, orderBy: {field: SCORE, direction: DESC})"),
    (
        "Query",
        "contacts",
        '(filter: {or: [{tierIn: ["A"]}, {not: {regionIn: ["Lazio"], scoreBetween: '
        '{min: 1, max: 9}}}], and: [{hasAnyTag: ["x"]}, {tagPoints: [{code: "t", minPoints: 3}]}], '
        'leadStatusIn: [HOT], createdBetween: {start: "2026-01-01T00:00:00Z"}}, first: 3)',
    ),
    ("Query", "contacts", ""),
    (
        "Mutation",
        "createContact",
        '(input: {email: "a@x.it", firstName: "A", customAttributes: {size: 3, tags: ["a"]}, '
        "consent: {emailMarketing: true}})",
    ),
    (
        "Mutation",
        "updateTierPolicy",
        "(input: {weights: {engagement: 1, fit: 1, source: 1, funnel: 1, intent: 1}, "
        "engagementCap: 100, fitCap: 100, sourceValues: {WEB: 5}, funnelValues: {}, "
        'intentPoints: {}, intentWindowDays: 30, tiers: [{name: "T", minIndex: 0}]})',
    ),
]


@contextmanager
def generic_conversion() -> Iterator[None]:
    """Strawberry's own conversion, the builders taken off for the duration."""
    taken: list[Any] = []
    for graphql_type in SCHEMA._schema.type_map.values():
        if isinstance(graphql_type, GraphQLInputObjectType):
            definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
            if isinstance(definition.from_input, InputBuilder):
                taken.append((definition, definition.from_input))
                definition.from_input = None
    try:
        yield
    finally:
        for definition, builder in taken:
            definition.from_input = builder


def _convert(root: str, field: str, arguments: str) -> dict[str, Any]:
    graphql_field = SCHEMA._schema.get_type(root).fields[field]  # type: ignore[union-attr]
    strawberry_type = SCHEMA.get_type_by_name(root)
    python_name = SCHEMA.config.name_converter  # fields are found by their GraphQL name
    definition = next(
        f
        for f in strawberry_type.fields
        if python_name.get_graphql_name(f) == field  # type: ignore[union-attr]
    )
    node = parse("{ " + field + arguments + " { __typename } }").definitions[0]
    selection = node.selection_set.selections[0]  # type: ignore[attr-defined]
    coerced = get_argument_values(graphql_field, selection, None)
    return convert_arguments(
        coerced,
        definition.arguments,
        scalar_registry=SCHEMA.schema_converter.scalar_registry,
        config=SCHEMA.config,
        info=None,
    )


def test_every_input_type_of_the_schema_has_a_builder():
    inputs = [t for t in SCHEMA._schema.type_map.values() if isinstance(t, GraphQLInputObjectType)]
    assert len(inputs) > 20
    for graphql_type in inputs:
        definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        assert isinstance(definition.from_input, InputBuilder), graphql_type.name


@pytest.mark.parametrize(("root", "field", "arguments"), CASES)
def test_built_inputs_equal_strawberrys_own(root: str, field: str, arguments: str):
    built = _convert(root, field, arguments)
    with generic_conversion():
        generic = _convert(root, field, arguments)
    assert built == generic
    assert repr(built) == repr(generic)


def test_default_factories_give_each_input_its_own_value():
    first = _convert(*CASES[4])["input"]
    second = _convert(*CASES[4])["input"]
    assert first == second
    for name, value in vars(first).items():
        if isinstance(value, list | dict) and not value:
            assert value is not getattr(second, name)

"""What an operation costs, computed before it runs (page sizes multiply through nesting).

The rules, stated in the contract (frontend-contract/README.md#query-cost):
- every object a field returns costs 1; scalars and enums cost nothing;
- a connection (`…Connection`) returns `first` or `last` nodes (default 50): its `edges`
  and `nodes` cost that many objects, and everything selected below them is multiplied
  by it; `pageInfo` and `totalCount` are per connection;
- a list with a `first` or `limit` argument returns that many objects; any other list is
  counted as `LIST_ESTIMATE` objects (a contact's tags or lists, a tier distribution…);
- `__schema` costs `INTROSPECTION_COST` and `__type` `TYPE_COST` (their answers are large
  and the same for everyone: they are served from a cache);
- fragments count where they are spread; every alias counts again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.type.definition import GraphQLCompositeType, GraphQLOutputType

DEFAULT_PAGE = 50  # domain.pagination.DEFAULT_PAGE: a connection asked without first/last
LIST_ESTIMATE = 10
INTROSPECTION_COST = 500
TYPE_COST = 20
SIZE_ARGUMENTS = ("first", "last", "limit")


@dataclass(frozen=True)
class Cost:
    value: int
    limit: int

    @property
    def too_costly(self) -> bool:
        return self.value > self.limit


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation of `document` that would run (0 if there is none)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    values = _variables(operation, variables or {})
    memo = _costs.get(id(operation))
    if memo is not None and memo[0] is operation and memo[1] is schema:
        key = tuple(values.get(name) for name in memo[2])
        found = memo[3].get(key)
        if found is not None:
            return found
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, values)
    cost = walk.selections(operation.selection_set, root, 1, None)
    names = tuple(sorted(walk.read))
    key = tuple(values.get(name) for name in names)
    if all(v is None or type(v) is int for v in key):  # page sizes: cheap to key
        if memo is None or memo[0] is not operation or memo[2] != names:
            if len(_costs) >= COST_CACHE_SIZE:
                del _costs[next(iter(_costs))]
            memo = _costs[id(operation)] = (operation, schema, names, {})
        if len(memo[3]) < COST_CACHE_SIZE:
            memo[3][key] = cost
    return cost


# The cost of an operation depends on its document and on the variables its page sizes read:
# remembered per parsed operation (the parser cache hands out the same document for the same
# text) and per value of those variables.
COST_CACHE_SIZE = 512
_costs: dict[
    int, tuple[OperationDefinitionNode, GraphQLSchema, tuple[str, ...], dict[tuple[Any, ...], int]]
] = {}


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _variables(operation: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    """Variable values, with the defaults of the operation's definitions."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in given:
            values[name] = given[name]
        elif isinstance(definition.default_value, IntValueNode):
            values[name] = int(definition.default_value.value)
    return values


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.read: set[str] = set()  # the variables the cost depends on

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLCompositeType,
        times: int,
        page: int | None,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        """Cost of a selection set on `parent`, fetched `times` times; `page` is the size of
        the connection `parent` is (for its edges and nodes)."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, times, page, seen)
            elif isinstance(selection, InlineFragmentNode):
                kind = parent
                if selection.type_condition is not None:
                    named = self.schema.get_type(selection.type_condition.name.value)
                    kind = named if is_composite_type(named) else parent
                total += self.selections(selection.selection_set, kind, times, page, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: validation refuses it
                    continue
                named = self.schema.get_type(fragment.type_condition.name.value)
                kind = named if is_composite_type(named) else parent
                total += self.selections(fragment.selection_set, kind, times, page, seen | {name})
        return total

    def field(
        self,
        node: FieldNode,
        parent: GraphQLCompositeType,
        times: int,
        page: int | None,
        seen: frozenset[str],
    ) -> int:
        name = node.name.value
        if name == "__schema":
            return INTROSPECTION_COST * times
        if name == "__type":
            return TYPE_COST * times
        definition = _field(parent, name)
        if definition is None:  # __typename, or a field validation refuses
            return 0
        kind = get_named_type(definition.type)
        if not is_composite_type(kind):
            return 0
        assert isinstance(kind, GraphQLCompositeType)
        asked = self._argument(node, definition)
        if _is_connection(kind):  # one connection object; its edges and nodes hold the page
            inner = asked if asked is not None else DEFAULT_PAGE
            return times + self.selections(node.selection_set, kind, times, inner, seen)
        size = 1
        if _is_list(definition.type):
            in_page = node.name.value in ("edges", "nodes") and page is not None
            size = page if in_page and page is not None else (asked or LIST_ESTIMATE)
        objects = times * size
        return objects + self.selections(node.selection_set, kind, objects, None, seen)

    def _argument(self, node: FieldNode, definition: GraphQLField) -> int | None:
        values = {a.name.value: a.value for a in node.arguments or ()}
        found: list[int] = []
        for name in SIZE_ARGUMENTS:
            value = values.get(name)
            if isinstance(value, IntValueNode):
                found.append(int(value.value))
            elif isinstance(value, VariableNode):
                self.read.add(value.name.value)
                given = self.variables.get(value.name.value)
                if isinstance(given, int):
                    found.append(given)
            elif name in definition.args and isinstance(definition.args[name].default_value, int):
                found.append(definition.args[name].default_value)
        return max(found, default=None)


def _field(parent: GraphQLCompositeType, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields is not None else None


def _is_connection(kind: GraphQLCompositeType) -> bool:
    return isinstance(kind, GraphQLObjectType) and kind.name.endswith("Connection")


def _is_list(kind: GraphQLOutputType) -> bool:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)

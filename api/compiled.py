"""Queries run by a plan compiled once per document, beside graphql-core's executor.

graphql-core completes every field of every object by walking the selection set again:
collecting fields, looking up definitions, building an info object and a path, checking
for awaitables and wrapping each step in error handling (on a page of 100 contacts that
is ~75 % of the request, see bench/README.md). Like graphql-jit does for graphql-js, a
validated query is compiled once per parsed document into a tree of plans: per selection
the response key, the field definition, how to read the value (Strawberry's plain fields
are an attribute read; resolvers are called as graphql-core would, with the same info and
arguments) and how to complete it (leaf serializers, lists, nested plans). Running it
only reads values and builds dicts. Values resolvers return as awaitables are gathered a
level at a time, so DataLoaders batch whole levels as before.

Interfaces and unions (only subscriptions return them today) are left to graphql-core.
The compiled path covers the successful case only. When anything goes wrong (a resolver
raises, a non-null field is null, a value cannot be serialized) it gives up and the
standard executor runs the operation from the start, so errors, partial data and paths
are exactly graphql-core's. Only queries take this path: they read, so running one again
changes nothing; mutations and subscriptions, documents with @skip/@include, fragment
variables or root introspection fields always use the standard executor.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    OperationType,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.language import Node, visit
from graphql.language.visitor import BREAK, Visitor
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

PLAN_CACHE_SIZE = 512
F = TypeVar("F", bound=Callable[..., object])


NOT_LOADED: object = type("NotLoaded", (), {"__repr__": lambda _self: "NOT_LOADED"})()
"""What a prefetched attribute holds until its loader ran (None is a loaded null)."""


def prefetched(attribute: str) -> Callable[[F], F]:
    """Marks a resolver whose result the source object may already carry in `attribute`
    (a page that loaded its children in one query). The resolver checks the attribute
    itself; the compiled executor (below) reads it without calling the resolver."""

    def mark(resolver: F) -> F:
        resolver.__prefetched__ = attribute  # type: ignore[attr-defined]
        return resolver

    return mark


class Fallback(Exception):
    """The compiled path cannot produce this result exactly; the standard executor runs."""


Complete = Callable[["Run", Any, Path | None], Any]


class FieldPlan:
    __slots__ = (
        "args",
        "attr",
        "complete",
        "field_def",
        "is_typename",
        "key",
        "leaf",
        "name",
        "needs_path",
        "nodes",
        "prefetched",
        "resolve",
        "static_args",
    )  # fmt: skip

    def __init__(self, key: str, name: str) -> None:
        self.key, self.name = key, name
        self.is_typename = name == "__typename"
        self.field_def: GraphQLField | None = None
        self.nodes: list[Any] = []
        self.attr: str | None = None  # a Strawberry field without resolver: getattr
        self.resolve: Callable[..., Any] | None = None
        self.prefetched: str | None = None  # the resolver's result may be on the source
        self.static_args: dict[str, Any] | None = None  # arguments without variables
        self.args: Callable[[Run], dict[str, Any]] | None = None
        self.complete: Complete = _identity
        self.needs_path = False  # the value's completion calls resolvers
        self.leaf: tuple[str | None, bool] | None = None  # a scalar: (pass-through, nullable)


class ObjectPlan:
    __slots__ = ("complete", "fields", "name", "type")

    def __init__(self, type_: GraphQLObjectType, fields: list[FieldPlan]) -> None:
        self.type, self.name, self.fields = type_, type_.name, fields
        self.complete = _generate(self)


class Run:
    """One execution of a plan: the executor it runs for and the awaitables waiting."""

    __slots__ = ("args", "executor", "pending")

    def __init__(self, executor: CompiledExecutor) -> None:
        self.executor = executor
        self.pending: list[tuple[Any, Any, Any, Complete, Path | None]] = []
        self.args: dict[int, dict[str, Any]] = {}


def _identity(_run: Run, value: Any, _path: Path | None) -> Any:
    return value


# Values of the built-in scalars that serialize to themselves (graphql-core's serializers
# would return them unchanged): the check, as an expression of `v`. Floats always go
# through the serializer (it refuses NaN and infinities).
_PASS_THROUGH: dict[object, str] = {
    GraphQLString: "v.__class__ is str",
    GraphQLID: "v.__class__ is str",
    GraphQLBoolean: "v.__class__ is bool",
    GraphQLInt: "(v.__class__ is int and -2147483648 <= v <= 2147483647)",
}


def _leaf(type_: Any) -> Complete:
    serialize = type_.serialize
    check = _PASS_THROUGH.get(type_)
    unchanged: Callable[[Any], bool] = eval(f"lambda v: {check}") if check else lambda _v: False

    def complete(_run: Run, value: Any, _path: Path | None) -> Any:
        if unchanged(value):
            return value
        serialized = serialize(value)
        if serialized is None:
            raise Fallback
        return serialized

    return complete


def _non_null(inner: Complete) -> Complete:
    def complete(run: Run, value: Any, path: Path | None) -> Any:
        if value is None:
            raise Fallback
        return inner(run, value, path)

    return complete


def _nullable(inner: Complete) -> Complete:
    def complete(run: Run, value: Any, path: Path | None) -> Any:
        return None if value is None else inner(run, value, path)

    return complete


def _list(item: Complete, needs_path: bool) -> Complete:
    def complete(run: Run, value: Any, path: Path | None) -> Any:
        if isinstance(value, str | bytes | dict):
            raise Fallback
        if needs_path:
            return [item(run, v, Path(path, i, None)) for i, v in enumerate(value)]
        return [item(run, v, None) for v in value]

    return complete


def _object(plan: ObjectPlan) -> Complete:
    def complete(run: Run, value: Any, path: Path | None) -> Any:
        return complete_object(run, plan, value, path)

    return complete


def complete_object(run: Run, plan: ObjectPlan, source: Any, path: Path | None) -> dict[str, Any]:
    """The object's selection; values resolvers return as awaitables wait in `run.pending`
    (their slot holds None until then, so the keys keep the document's order)."""
    return plan.complete(run, source, path)


def _field(
    run: Run, plan: ObjectPlan, f: FieldPlan, source: Any, path: Path | None, out: dict[str, Any]
) -> None:
    """One field of `plan` (the general case: see `_generate` for the common ones)."""
    key = f.key
    if f.attr is not None:
        value = getattr(source, f.attr)
        out[key] = f.complete(run, value, Path(path, key, plan.name) if f.needs_path else None)
    elif f.is_typename:
        out[key] = plan.name
    elif f.prefetched is not None and (value := getattr(source, f.prefetched)) is not NOT_LOADED:
        out[key] = f.complete(run, value, Path(path, key, plan.name) if f.needs_path else None)
    else:
        field_path = Path(path, key, plan.name)
        executor = run.executor
        info = executor.build_resolve_info(f.field_def, f.nodes, plan.type, field_path)  # type: ignore[arg-type]
        args = f.static_args if f.static_args is not None else f.args(run)  # type: ignore[misc]
        value = f.resolve(source, info, **args)  # type: ignore[misc]
        if executor.is_awaitable(value):
            out[key] = None
            run.pending.append((out, key, value, f.complete, field_path))
        else:
            out[key] = f.complete(run, value, field_path)


def _generate(plan: ObjectPlan) -> Callable[[Run, Any, Path | None], dict[str, Any]]:
    """The object's completion as one Python function, written for this selection: a leaf
    read off an attribute is a line (`v = source.email; out["email"] = v if v.__class__ is
    str else …`), other fields go through `_field`. On a page of 100 contacts this is
    most of the completion work."""
    env: dict[str, Any] = {"_field": _field, "plan": plan, "fields": plan.fields}
    lines = ["def complete(run, source, path):", "    out = {}"]
    for i, f in enumerate(plan.fields):
        key = repr(f.key)
        if f.is_typename:
            lines.append(f"    out[{key}] = {plan.name!r}")
        elif f.attr is not None and f.attr.isidentifier() and f.leaf is not None:
            check, nullable = f.leaf
            env[f"c{i}"] = f.complete
            lines.append(f"    v = source.{f.attr}")
            value = f"v if {check} else c{i}(run, v, None)" if check else f"c{i}(run, v, None)"
            lines.append(
                f"    out[{key}] = None if v is None else {value}"
                if nullable
                else f"    out[{key}] = {value}"
            )
        else:
            lines.append(f"    _field(run, plan, fields[{i}], source, path, out)")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<plan {plan.name}>", "exec"), env)
    return env["complete"]  # type: ignore[no-any-return]


class Unsupported(Exception):
    """The document uses something the compiled path leaves to graphql-core."""


class _Directives(Visitor):
    found = False

    def enter_directive(self, *_args: Any) -> Any:
        self.found = True
        return BREAK


def _has_directives(node: Node) -> bool:
    visitor = _Directives()
    visit(node, visitor)
    return visitor.found


class _Variables(Visitor):
    found = False

    def enter_variable(self, *_args: Any) -> Any:
        self.found = True
        return BREAK


def _uses_variables(nodes: Sequence[Node]) -> bool:
    for node in nodes:
        visitor = _Variables()
        visit(node, visitor)
        if visitor.found:
            return True
    return False


class Compiler:
    """Builds the plans of one operation, with the executor of its first run (for the
    schema, the fragments and, for arguments without variables, their values)."""

    def __init__(self, executor: CompiledExecutor) -> None:
        self.ex = executor
        self.schema = executor.schema

    def operation(self) -> ObjectPlan:
        ex = self.ex
        if _has_directives(ex.operation) or any(
            f.variable_definitions or _has_directives(f) for f in ex.fragment_definitions.values()
        ):
            raise Unsupported("directives")
        root = self.schema.query_type
        if root is None:
            raise Unsupported("no query type")
        grouped = collect_fields(
            self.schema, ex.fragments, ex.variable_values, root, ex.operation, ex.hide_suggestions
        ).grouped_field_set
        if any(d[0].node.name.value in ("__schema", "__type") for d in grouped.values()):
            raise Unsupported("introspection")
        return self.object(root, grouped)

    def object(
        self, type_: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]
    ) -> ObjectPlan:
        fields = []
        for key, details in grouped.items():
            node = details[0].node
            f = FieldPlan(key, node.name.value)
            fields.append(f)
            if f.is_typename:
                continue
            field_def = self.schema.get_field(type_, f.name)
            if field_def is None:
                raise Unsupported(f"unknown field {type_.name}.{f.name}")
            f.field_def = field_def
            f.nodes = [d.node for d in details]
            f.complete, f.needs_path = self.completion(field_def, field_def.type, details, type_)
            named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else None
            if is_leaf_type(named or field_def.type):
                f.leaf = (_PASS_THROUGH.get(named or field_def.type), named is None)
            strawberry_field = field_def.extensions.get("strawberry-definition")
            if (
                strawberry_field is not None
                and strawberry_field.is_basic_field
                and strawberry_field.default_resolver is getattr
            ):
                f.attr = strawberry_field.python_name
                continue
            f.resolve = field_def.resolve or self.ex.field_resolver
            if strawberry_field is not None and not strawberry_field.extensions:
                resolver = strawberry_field.base_resolver
                f.prefetched = getattr(
                    getattr(resolver, "wrapped_func", None), "__prefetched__", None
                )
            if not (field_def.args or node.arguments):
                f.static_args = {}
            elif (
                not _uses_variables(node.arguments or ())
                and not details[0].fragment_variable_values
            ):
                try:
                    f.static_args = self.arguments(self.ex, field_def, details[0])
                except GraphQLError as e:
                    raise Unsupported("argument errors") from e
            else:
                f.args = self.dynamic_arguments(f, field_def, details[0])
        return ObjectPlan(type_, fields)

    @staticmethod
    def arguments(
        ex: CompiledExecutor, field_def: GraphQLField, details: FieldDetails
    ) -> dict[str, Any]:
        return get_argument_values(
            field_def, details.node, ex.variable_values, details.fragment_variable_values,
            ex.hide_suggestions,
        )  # fmt: skip

    def dynamic_arguments(
        self, f: FieldPlan, field_def: GraphQLField, details: FieldDetails
    ) -> Callable[[Run], dict[str, Any]]:
        arguments, slot = self.arguments, id(f)

        def args(run: Run) -> dict[str, Any]:
            found = run.args.get(slot)
            if found is None:
                found = run.args[slot] = arguments(run.executor, field_def, details)
            return found

        return args

    def completion(
        self,
        field_def: GraphQLField,
        type_: GraphQLOutputType,
        details: list[FieldDetails],
        parent: GraphQLObjectType,
    ) -> tuple[Complete, bool]:
        """How to complete a value of `type_`, and whether that calls resolvers (then
        it needs the value's path)."""
        if isinstance(type_, GraphQLNonNull):
            inner, needs_path = self.completion(field_def, type_.of_type, details, parent)
            return _non_null(inner), needs_path
        if isinstance(type_, GraphQLList):
            item, needs_path = self.completion(field_def, type_.of_type, details, parent)
            return _nullable(_list(item, needs_path)), needs_path
        if is_leaf_type(type_):
            return _nullable(_leaf(type_)), False
        if is_object_type(type_):
            plan = self.object(type_, self.subfields(type_, details))
            needs_path = any(
                (f.attr is None and not f.is_typename) or f.needs_path for f in plan.fields
            )
            return _nullable(_object(plan)), needs_path
        raise Unsupported(f"type {type_}")

    def subfields(
        self, type_: GraphQLObjectType, details: list[FieldDetails]
    ) -> dict[str, list[FieldDetails]]:
        ex = self.ex
        return collect_subfields(
            self.schema, ex.fragments, ex.variable_values, ex.operation, type_, details,
            ex.hide_suggestions,
        ).grouped_field_set  # fmt: skip


_plans: OrderedDict[int, tuple[Any, ObjectPlan | None]] = OrderedDict()
runs = {"compiled": 0, "fallback": 0}  # queries answered by a plan / run again as standard


def plan_for(executor: CompiledExecutor) -> ObjectPlan | None:
    """The operation's plan (None: the standard executor runs it), cached per parsed
    operation; the parser cache hands out the same document for the same text."""
    operation = executor.operation
    middleware = executor.middleware_manager
    if operation.operation is not OperationType.QUERY or (middleware and middleware.middlewares):
        return None
    hit = _plans.get(id(operation))
    if hit is not None and hit[0] is operation:
        _plans.move_to_end(id(operation))
        return hit[1]
    try:
        plan: ObjectPlan | None = Compiler(executor).operation()
    except Unsupported:
        plan = None
    _plans[id(operation)] = (operation, plan)
    if len(_plans) > PLAN_CACHE_SIZE:
        _plans.popitem(last=False)
    return plan


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, running queries by their compiled plan when it can."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = plan_for(self)
        if plan is None:
            return super().execute_operation(serially)
        return self._compiled(plan, serially)

    async def _compiled(self, plan: ObjectPlan, serially: bool | None) -> Any:
        run = Run(self)
        try:
            data = complete_object(run, plan, self.root_value, None)
            while run.pending:
                batch, run.pending = run.pending, []
                values = await asyncio.gather(*(p[2] for p in batch), return_exceptions=True)
                for (target, key, _, complete, path), value in zip(batch, values, strict=True):
                    if isinstance(value, BaseException):
                        raise Fallback from value
                    target[key] = complete(run, value, path)
        except Exception:  # the standard executor runs it again and reports the errors
            runs["fallback"] += 1
            for entry in run.pending:
                if asyncio.iscoroutine(entry[2]):
                    entry[2].close()
            result = super().execute_operation(serially)
            return await result if self.is_awaitable(result) else result
        runs["compiled"] += 1
        return self.build_response(data)


__all__ = ["CompiledExecutor", "Fallback", "plan_for"]

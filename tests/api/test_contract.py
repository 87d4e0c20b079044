"""The frontend contract: committed schema, documented operations, shared fragments and README
stay in step."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    parse,
    validate,
    visit,
)

from api.schema import schema_sdl

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"
OPERATION_FILES = sorted((CONTRACT / "operations").glob("*.graphql"))
FRAGMENTS_FILE = CONTRACT / "fragments.graphql"

ERROR_CODES = (
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "METHOD_NOT_ALLOWED",
    "INTERNAL_SERVER_ERROR",
    "PAYLOAD_TOO_LARGE",
    "BAD_REQUEST",
    "CURSOR_EXPIRED",
    "RATE_LIMITED",
    "LIMIT_EXCEEDED",
    "SLOW_CONSUMER",
    "QUERY_TOO_COSTLY",
    "TIMEOUT",
)


@cache
def code_schema() -> GraphQLSchema:
    return build_schema(schema_sdl())


def parse_file(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


@cache
def fragment_definitions() -> tuple[FragmentDefinitionNode, ...]:
    """The definitions in fragments.graphql that are fragments, in file order."""
    document = parse_file(FRAGMENTS_FILE)
    return tuple(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))


@cache
def shared_fragments() -> dict[str, FragmentDefinitionNode]:
    return {fragment.name.value: fragment for fragment in fragment_definitions()}


class FragmentSpreadCollector(Visitor):
    """Collects the name of every fragment spread (`...Name`) in the visited node."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: object) -> None:
        self.names.add(node.name.value)


def spread_names(node: Node) -> set[str]:
    """Names of the fragments spread inside `node`, without following them."""
    collector = FragmentSpreadCollector()
    visit(node, collector)
    return collector.names


def used_fragment_names(document: DocumentNode) -> set[str]:
    """Shared fragments `document` spreads, directly or through other shared fragments.

    Names fragments.graphql does not define are left out, so validation reports them as
    unknown fragments.
    """
    shared = shared_fragments()
    pending = spread_names(document)
    used: set[str] = set()
    while pending:
        name = pending.pop()
        if name in used or name not in shared:
            continue
        used.add(name)
        pending |= spread_names(shared[name]) - used
    return used


def operation_document(path: Path) -> DocumentNode:
    """The operation file plus the shared fragments it uses: what a client sends."""
    document = parse_file(path)
    used = used_fragment_names(document)
    fragments = [f for f in fragment_definitions() if f.name.value in used]
    return DocumentNode(definitions=(*document.definitions, *fragments))


class RootFieldCollector(Visitor):
    """Collects `Type.field` for every field selected directly on a root type (Query,
    Mutation or Subscription)."""

    def __init__(self, type_info: TypeInfo, roots: set[str]) -> None:
        super().__init__()
        self.type_info = type_info
        self.roots = roots
        self.used: set[str] = set()

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and parent.name in self.roots:
            self.used.add(f"{parent.name}.{node.name.value}")


def test_committed_schema_matches_the_code() -> None:
    committed = (CONTRACT / "schema.graphql").read_text(encoding="utf-8")
    if committed != schema_sdl():
        pytest.fail(
            "frontend-contract/schema.graphql is out of date with the code. Run "
            "`make export-schema`, review the diff, and note the change in "
            "frontend-contract/CHANGELOG.md (list breaking changes explicitly).",
            pytrace=False,
        )


def test_the_operations_folder_is_not_empty() -> None:
    assert OPERATION_FILES, "no frontend-contract/operations/*.graphql found"


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda p: p.stem)
def test_every_documented_operation_validates_against_the_schema(path: Path) -> None:
    definitions = parse_file(path).definitions

    errors = validate(code_schema(), operation_document(path))

    assert not errors, "\n".join(str(error) for error in errors)
    assert len(definitions) == 1 and isinstance(definitions[0], OperationDefinitionNode), (
        f"{path.name} must hold exactly one operation and no fragments; "
        "shared fragments live in frontend-contract/fragments.graphql"
    )
    name = definitions[0].name.value if definitions[0].name else None
    assert name == path.stem, f"{path.name} must name its operation {path.stem!r}, not {name!r}"


def test_operations_folder_covers_every_root_field() -> None:
    schema = code_schema()
    roots_in_schema = (schema.query_type, schema.mutation_type, schema.subscription_type)
    root_types = [t for t in roots_in_schema if t is not None]
    assert schema.subscription_type is not None, "the schema has no Subscription root"
    roots = {t.name for t in root_types}
    wanted = {f"{t.name}.{field}" for t in root_types for field in t.fields}
    used: set[str] = set()
    for path in OPERATION_FILES:
        type_info = TypeInfo(schema)
        collector = RootFieldCollector(type_info, roots)
        visit(operation_document(path), TypeInfoVisitor(type_info, collector))
        used |= collector.used

    missing = sorted(wanted - used)

    assert not missing, (
        f"root fields no operation in frontend-contract/operations/ uses: {missing}; "
        "document each new field with an operation file and mention it in README.md"
    )


def test_shared_fragments_are_unique_and_each_used_by_an_operation() -> None:
    document = parse_file(FRAGMENTS_FILE)
    names = [fragment.name.value for fragment in fragment_definitions()]
    used: set[str] = set()
    for path in OPERATION_FILES:
        used |= used_fragment_names(parse_file(path))

    others = [d.kind for d in document.definitions if not isinstance(d, FragmentDefinitionNode)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    unused = sorted(set(names) - used)

    assert names, "frontend-contract/fragments.graphql defines no fragments"
    assert not others, f"fragments.graphql must hold only fragment definitions, not {others}"
    assert not duplicates, f"fragments defined more than once in fragments.graphql: {duplicates}"
    assert not unused, (
        f"fragments in fragments.graphql that no operation uses: {unused}; "
        "use them in an operation file or delete them"
    )


def test_frontend_readme_mentions_every_error_code() -> None:
    readme = (CONTRACT / "README.md").read_text(encoding="utf-8")

    missing = [code for code in ERROR_CODES if not re.search(rf"\b{code}\b", readme)]

    assert not missing, f"frontend-contract/README.md does not mention {missing}"

"""The frontend contract: committed schema, documented operations and README stay in step."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    parse,
    print_ast,
    validate,
    visit,
)

from api.schema import schema_sdl

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract"
OPERATION_FILES = sorted((CONTRACT / "operations").glob("*.graphql"))

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
)


@cache
def code_schema() -> GraphQLSchema:
    return build_schema(schema_sdl())


def parse_file(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


class RootFieldCollector(Visitor):
    """Collects `Type.field` for every field selected directly on Query or Mutation."""

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
    document = parse_file(path)

    errors = validate(code_schema(), document)

    assert not errors, "\n".join(str(error) for error in errors)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1, f"{path.name} must hold exactly one operation"
    name = operations[0].name.value if operations[0].name else None
    assert name == path.stem, f"{path.name} must name its operation {path.stem!r}, not {name!r}"


def test_operations_folder_covers_every_root_field() -> None:
    schema = code_schema()
    root_types = [t for t in (schema.query_type, schema.mutation_type) if t is not None]
    roots = {t.name for t in root_types}
    wanted = {f"{t.name}.{field}" for t in root_types for field in t.fields}
    used: set[str] = set()
    for path in OPERATION_FILES:
        type_info = TypeInfo(schema)
        collector = RootFieldCollector(type_info, roots)
        visit(parse_file(path), TypeInfoVisitor(type_info, collector))
        used |= collector.used

    missing = sorted(wanted - used)

    assert not missing, (
        f"root fields no operation in frontend-contract/operations/ uses: {missing}; "
        "document each new field with an operation file and mention it in README.md"
    )


def test_fragments_with_the_same_name_are_identical_in_every_file() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for path in OPERATION_FILES:
        for definition in parse_file(path).definitions:
            if not isinstance(definition, FragmentDefinitionNode):
                continue
            printed = print_ast(definition)
            first = seen.setdefault(definition.name.value, (path.name, printed))
            assert first[1] == printed, (
                f"fragment {definition.name.value} differs between {first[0]} and {path.name}; "
                "code generators merge all files, so keep one definition per name"
            )


def test_frontend_readme_mentions_every_error_code() -> None:
    readme = (CONTRACT / "README.md").read_text(encoding="utf-8")

    missing = [code for code in ERROR_CODES if not re.search(rf"\b{code}\b", readme)]

    assert not missing, f"frontend-contract/README.md does not mention {missing}"

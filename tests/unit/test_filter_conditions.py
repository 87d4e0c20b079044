"""Every filter condition is implemented everywhere docs/FILTERS.md says, and that checklist
names only things that exist.

The conditions come from one place, `domain.filters.CONDITIONS` (the fields of
`ContactFilter`). Each is tried alone, with the value in SAMPLES, on a contact that has
nothing (score 0, no attributes, tags or dates): a condition that is set never matches it, so
an implementation that ignores the condition is seen by matching it."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import strawberry
from sqlalchemy.dialects import postgresql, sqlite

from api.schema import build_schema
from api.schema.inputs import ContactFilter as ContactFilterInput
from api.schema.inputs import filter_json
from domain.codec import filter_from_dict, filter_to_dict
from domain.contacts import CompanyType, ContactType, ContactView, FunnelStage, Source
from domain.events import view_from_dict, view_to_dict
from domain.filters import (
    CLOCK_CONDITIONS,
    CONDITIONS,
    ContactFilter,
    DateRange,
    IntRange,
    Now,
    TagPoints,
    matches,
    predicate,
    tag_codes,
    validate_filter,
)
from persistence.filters_sql import compile_filter
from services.tiers import DATE_CONDITIONS, PLACEMENT_CONDITIONS, TAG_CONDITIONS
from tests.strategies import LEAVES

ROOT = Path(__file__).resolve().parents[2]
CHECKLIST = ROOT / "docs" / "FILTERS.md"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOBODY = ContactView(id=1, email="nobody@example.it")
# Far enough ahead for any condition that reads the clock to change its answer.
LATER = NOW + timedelta(days=40_000)

# One value per condition that NOBODY does not match. A new condition needs one here.
SAMPLES: dict[str, object] = {
    "score_above": 10,
    "score_below": -10,
    "score_between": IntRange(5, 10),
    "tier_in": ("Tier 1",),
    "segment_in": ("A",),
    "lead_status_in": ("HOT",),
    "has_any_tag": ("lead-caldo",),
    "has_all_tags": ("lead-caldo",),
    "tag_points": (TagPoints("lead-caldo", 2),),
    "sector_in": ("IT",),
    "region_in": ("Lazio",),
    "city_in": ("Roma",),
    "contact_type_in": ("PROSPECT",),
    "company_type_in": ("CLIENT",),
    "source_in": ("EVENT",),
    "funnel_stage_in": ("DECISION",),
    "company_id_in": (1,),
    "created_between": DateRange(NOW - timedelta(days=30), NOW),
    "last_activity_within_days": 7,
    "last_activity_older_than_days": 7,
    "email_contains": "rossi",
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def alone(name: str) -> ContactFilter:
    if name not in SAMPLES:
        pytest.fail(f"no sample for {name!r}: add one to SAMPLES (docs/FILTERS.md)")
    return ContactFilter(**{name: SAMPLES[name]})


each = pytest.mark.parametrize("name", CONDITIONS)


def test_the_samples_and_the_property_tests_cover_exactly_the_conditions():
    assert set(SAMPLES) == set(CONDITIONS)
    assert set(LEAVES) == set(CONDITIONS), "tests/strategies.py LEAVES"


@each
def test_the_interpreter_decides_it(name):
    assert matches(ContactFilter(), NOBODY, NOW)
    assert not matches(alone(name), NOBODY, NOW), f"domain.filters.matches ignores {name}"


@each
def test_the_compiled_predicate_decides_it(name):
    assert predicate(ContactFilter(), NOW)(NOBODY)
    assert not predicate(alone(name), NOW)(NOBODY), f"domain.filters.predicate ignores {name}"
    assert not predicate(alone(name), Now(NOW))(NOBODY)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=str)
@each
def test_the_sql_compiler_compiles_it(name, dialect):
    def sql(node: ContactFilter) -> str:
        return str(compile_filter(node, NOW).compile(dialect=dialect))

    assert sql(alone(name)) != sql(ContactFilter()), f"filters_sql ignores {name}"


@each
def test_validation_counts_and_accepts_it(name):
    assert validate_filter(alone(name)) == 1


@each
def test_it_is_stored_and_read_back(name):
    assert filter_from_dict(filter_to_dict(alone(name))) == alone(name)


def test_the_graphql_input_has_every_condition_in_camel_case():
    schema = build_schema()
    definition = schema.get_type_by_name("ContactFilter")
    assert definition is not None
    names = {schema.config.name_converter.get_graphql_name(f) for f in definition.fields}
    assert {camel(name) for name in CONDITIONS} <= names


_parsed: list[ContactFilter] = []


@strawberry.type
class Probe:
    @strawberry.field
    def parse(self, where: ContactFilterInput) -> bool:
        _parsed.append(where.to_domain())
        return True


PROBE = strawberry.Schema(query=Probe)


@each
def test_a_stored_filter_goes_out_and_back_in_through_the_graphql_input(name):
    """filter_json (a stored filter in the input's shape) -> the real ContactFilter input,
    coerced by GraphQL -> to_domain: the same filter."""
    _parsed.clear()
    sent = filter_json(alone(name))
    assert list(sent) == [camel(name)]
    done = PROBE.execute_sync("query($f: ContactFilter!) { parse(where: $f) }", {"f": sent})
    assert done.errors is None, done.errors
    assert _parsed == [alone(name)]


def test_the_contract_documents_every_condition():
    text = (ROOT / "frontend-contract" / "README.md").read_text(encoding="utf-8")
    start = text.index("## Filtering contacts")
    chapter = text[start : text.index("\n## ", start)]
    missing = [camel(n) for n in CONDITIONS if not re.search(rf"`[^`]*\b{camel(n)}\b", chapter)]
    assert not missing, "not in the README's Filtering contacts chapter"


class Reading:
    """A contact view that notes which attributes are read."""

    def __init__(self, view: ContactView) -> None:
        self._view, self.read = view, set[str]()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._view, name)


def reads(name: str) -> set[str]:
    """The ContactView attributes the condition reads: asked of the compiled predicate, which
    checks only the conditions set (`matches` reads the activity dates for every filter)."""
    seen = Reading(NOBODY)
    predicate(alone(name), NOW)(seen)  # type: ignore[arg-type]
    return {"tag_points" if attr == "tags" else attr for attr in seen.read}


def reads_the_clock(name: str) -> bool:
    active = ContactView(id=2, email="active@example.it", created_at=NOW, last_activity_at=NOW)
    return matches(alone(name), active, NOW) != matches(alone(name), active, LATER)


def conditions(test: Callable[[str], bool]) -> set[str]:
    return {name for name in CONDITIONS if test(name)}


def test_the_services_condition_sets_are_the_conditions_that_read_what_they_say():
    def reading(*attrs: str) -> Callable[[str], bool]:
        return lambda name: bool(reads(name) & set(attrs))

    assert conditions(reading("tag_points")) == TAG_CONDITIONS
    assert conditions(reading("created_at", "last_activity_at")) == DATE_CONDITIONS
    assert conditions(reading("tier", "segment", "lead_status")) == PLACEMENT_CONDITIONS
    assert conditions(reads_the_clock) == CLOCK_CONDITIONS


def test_a_condition_on_tags_names_them_for_tag_codes():
    for name in conditions(lambda n: "tag_points" in reads(n)):
        assert tag_codes(alone(name)) == {"lead-caldo"}, name


def test_event_snapshots_carry_every_attribute_a_condition_reads():
    full = ContactView(
        id=7, email="full@example.it", score=42, tier="Tier 1", segment="A", lead_status="HOT",
        sector="IT", region="Lazio", city="Roma", contact_type=ContactType.PROSPECT,
        company_type=CompanyType.CLIENT, company_id=3, source=Source.EVENT,
        funnel_stage=FunnelStage.DECISION, created_at=NOW - timedelta(days=9),
        last_activity_at=NOW, tag_points={"lead-caldo": 3},
    )  # fmt: skip
    back = view_from_dict(full.id, view_to_dict(full))
    for attr in set().union(*(reads(name) for name in CONDITIONS)):
        assert getattr(back, attr) == getattr(full, attr), attr


def _defined(path: Path, dotted: str) -> bool:
    """Whether `Name` or `Class.method` is defined at the top level of a Python file."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in dotted.split("."):
        found = [node for node in scope if part in _names(node)]
        if not found:
            return False
        scope = getattr(found[0], "body", [])
    return True


def _names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def test_the_checklist_names_only_files_and_definitions_that_exist():
    text = CHECKLIST.read_text(encoding="utf-8")
    named = re.findall(r"`([\w./-]+\.(?:py|md|graphql))(?:::([\w.]+))?`", text)
    assert len(named) > 20
    for path, symbol in named:
        assert (ROOT / path).is_file(), path
        if symbol:
            assert _defined(ROOT / path, symbol), f"{path}::{symbol}"


def test_the_checklist_names_every_place_this_test_checks():
    text = CHECKLIST.read_text(encoding="utf-8")
    checked = [
        "domain/filters.py::CONDITIONS", "domain/filters.py::_leaves_hold",
        "domain/filters.py::_leaf_checks", "domain/filters.py::validate_filter",
        "domain/filters.py::tag_codes", "domain/codec.py::filter_to_dict",
        "domain/events.py::view_to_dict", "persistence/filters_sql.py::_leaves",
        "services/tiers.py::TAG_CONDITIONS", "services/tiers.py::DATE_CONDITIONS",
        "services/tiers.py::PLACEMENT_CONDITIONS", "domain/filters.py::CLOCK_CONDITIONS",
        "api/schema/inputs.py::ContactFilter", "api/schema/inputs.py::filter_json",
        "frontend-contract/README.md",
        "tests/strategies.py::LEAVES", "tests/unit/test_filter_conditions.py::SAMPLES",
    ]  # fmt: skip
    assert [place for place in checked if f"`{place}`" not in text] == []

"""The documents of bench/isolation.py: the simple read, and "costliest admitted" reads, as
much real work as a read key may ask for in one request (cost <= its limit, api/cost.py),
each built as large as that limit and the alias limit allow."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from graphql import GraphQLSchema, parse

from api.cost import operation_cost
from api.schema import build_schema
from api.settings import Settings

SIMPLE = "query($id: ID!) { contact(id: $id) { score } }"

SCALARS = (
    "id email firstName lastName phone jobTitle contactType source funnelStage sector region "
    "city country customAttributes score tier tierIndex tierReason leadStatus createdAt "
    "updatedAt lastActivityAt fullName"
)
# Filters that match many rows, each with an order no index serves whole (scan, then sort).
FILTERS = (
    ("{scoreAbove: 0}", "SCORE", "DESC"),
    ('{emailContains: "1"}', "SCORE", "DESC"),
    ("{lastActivityWithinDays: 365}", "LAST_NAME", "ASC"),
    ('{regionIn: ["Lazio", "Lombardia", "Veneto", "Sicilia"]}', "UPDATED_AT", "DESC"),
    ('{or: [{emailContains: "7"}, {sectorIn: ["Retail", "Food"]}]}', "SCORE", "ASC"),
    ('{not: {tierIn: ["Tier 1"]}}', "LAST_NAME", "DESC"),
    ("{lastActivityOlderThanDays: 30}", "SCORE", "DESC"),
    ('{hasAnyTag: ["interest-01", "interest-02", "interest-03"]}', "LAST_NAME", "ASC"),
    ("{scoreBetween: {min: -100, max: 100000}}", "CREATED_AT", "ASC"),
)
DIMENSIONS = ("REGION", "TIER", "SECTOR", "CITY", "SEGMENT", "SOURCE", "CONTACT_TYPE",
              "LEAD_STATUS")  # fmt: skip


def _aliases(part: Callable[[int], str], count: int) -> str:
    return "{ " + " ".join(f"q{i}: {part(i)}" for i in range(count)) + " }"


def pages(count: int) -> str:
    """`count` pages of 500 contacts, every scalar field and the company."""

    def part(i: int) -> str:
        where, field, direction = FILTERS[i % len(FILTERS)]
        return (
            f"contacts(first: 500, filter: {where}, orderBy: {{field: {field}, direction: "
            f"{direction}}}) {{ totalCount nodes {{ {SCALARS} company {{ id name sector }} }} }}"
        )

    return _aliases(part, count)


def tagged(first: int) -> str:
    """One page of `first` contacts with company, tags and segment (estimated 10 tags each)."""
    where, field, direction = FILTERS[1]
    return (
        f"{{ contacts(first: {first}, filter: {where}, orderBy: {{field: {field}, direction: "
        f"{direction}}}) {{ totalCount nodes {{ {SCALARS} company {{ id name }} segment {{ code "
        "name } tags { points lastAt tag { code name } } } } }"
    )


def scans(count: int) -> str:
    """`count` LIKE scans over every contact, counted and sorted (one row each asked for)."""

    def part(i: int) -> str:
        return (
            f'contacts(first: 1, filter: {{or: [{{emailContains: "{i % 10}{(i * 7) % 10}"}}, '
            f"{{lastActivityWithinDays: {30 + i}}}]}}, orderBy: {{field: LAST_NAME, direction: "
            "ASC}) { totalCount nodes { id } }"
        )

    return _aliases(part, count)


def clusters(count: int) -> str:
    """`count` groupings of every contact (or most of them) by three to eight dimensions."""

    def part(i: int) -> str:
        by = ", ".join(DIMENSIONS[: 3 + i % 6])
        where = "" if i % 2 == 0 else f", filter: {{scoreAbove: {i - 10}}}"
        return f"clusters(by: [{by}]{where}) {{ values count averageScore }}"

    return _aliases(part, count)


def duplicates(first: int) -> str:
    return (
        f"{{ duplicateCandidates(first: {first}, minSimilarity: 0.5) {{ similarity reasons "
        "contacts { id email } } }"
    )


# (builder, largest size: aliases or page size). The cost admits 30 groupings (300), but
# they take ~10 s alone on 100,000 contacts, past the time budget: 6 take ~2 s. Duplicates
# are not in the default mix: even `first: 1` (cost 11) runs ~20 s of Python on the event
# loop (domain/duplicates.py), see bench/README.md.
BUILDERS: dict[str, tuple[Callable[[int], str], int]] = {
    "pages": (pages, 30),
    "tagged": (tagged, 500),
    "scans": (scans, 30),
    "clusters": (clusters, 6),
    "duplicates": (duplicates, 500),
}
DEFAULT = ("pages", "tagged", "scans", "clusters")


def cost_of(document: str) -> int:
    return operation_cost(_schema(), parse(document), None, None)


@cache
def _schema() -> GraphQLSchema:
    return build_schema()._schema


def costliest(names: list[str]) -> dict[str, tuple[str, int]]:
    """Per name, the largest document of that shape the read key's budget admits, and its
    cost (api.cost.operation_cost on the schema the server serves)."""
    limit = Settings.from_env().cost_limit_read
    out: dict[str, tuple[str, int]] = {}
    for name in names:
        build, largest = BUILDERS[name]
        low, high = 1, largest  # the cost grows with the size: bisect for the largest
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if cost_of(build(mid)) <= limit else (low, mid - 1)
        out[name] = (build(low), cost_of(build(low)))
    return out

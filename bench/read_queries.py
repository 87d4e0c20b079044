"""The two reads of bench/read.py: the GraphQL documents sent to `segmento serve`, the SQL
the plain endpoints run for them (the statements Segmento itself runs, as traced from its
SQLite connection) and how their rows become the same JSON body as the GraphQL response."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

PAGE = (
    "query($n: Int!, $first: Int!) { contacts(filter: {scoreAbove: $n}, orderBy: {field: SCORE, "
    "direction: DESC}, first: $first) { edges { node { id email firstName lastName score tier "
    "region company { id name } } } } }"
)
CARD = (
    "query($id: ID!) { contact(id: $id) { id email firstName lastName jobTitle score tier "
    "segment { code name } leadStatus region company { id name } tags { tag { code name } "
    "points } lists { id name } scoreBreakdown(first: 20) { edges { node { reason label points "
    "at } } } tierHistory(first: 10) { edges { node { kind fromValue toValue reason at } } } } }"
)

CONTACT_COLUMNS = (
    "id", "email", "first_name", "last_name", "phone", "job_title", "contact_type", "source",
    "funnel_stage", "sector", "region", "city", "country", "company_id", "custom_attributes",
    "consent_email", "consent_profiling", "score", "tier", "tier_index", "tier_reason",
    "tier_version", "segment", "segment_version", "lead_status", "lead_status_pinned",
    "created_at", "updated_at", "last_activity_at",
)  # fmt: skip
C = {name: n for n, name in enumerate(CONTACT_COLUMNS)}
_CONTACT = "SELECT " + ", ".join(f"contact.{c}" for c in CONTACT_COLUMNS) + " FROM contact "
COMPANY = (
    "SELECT company.id, company.name, company.company_type, company.sector, company.size, "
    "company.region, company.city, company.country, company.website, company.created_at, "
    "company.updated_at FROM company WHERE company.id {ids}"
)
# The page reads only the columns its selection shows (api/schema/contact.py
# `contact_columns`): id, then the others by name.
PAGE_COLUMNS = ("id", "company_id", "email", "first_name", "last_name", "region", "score", "tier")
P = {name: n for n, name in enumerate(PAGE_COLUMNS)}
# A page whose companies show only id and name reads only those (api/schema/contact.py).
COMPANY_NAMES = "SELECT company.id, company.name FROM company WHERE company.id {ids}"
# Named parameters (:name), in the order the bare drivers take them positionally.
SQL = {
    "page": "SELECT " + ", ".join(f"contact.{c}" for c in PAGE_COLUMNS) + " FROM contact "
    "WHERE contact.score > :n AND contact.email NOT LIKE '%@erased.invalid' "
    "ORDER BY contact.score DESC, contact.id DESC LIMIT :limit",
    "contact": _CONTACT + "WHERE contact.id = :id",
    "ledger": "SELECT score_entry.id, score_entry.contact_id, score_entry.reason, "
    "score_entry.detail, score_entry.label, score_entry.points, score_entry.rule_id, "
    "score_entry.fit_rule_id, score_entry.interaction_id, score_entry.comment, score_entry.at, "
    "score_entry.created_at FROM score_entry WHERE score_entry.contact_id = :id "
    "ORDER BY score_entry.id DESC LIMIT 21",
    "history": "SELECT tier_change.id, tier_change.contact_id, tier_change.kind, "
    "tier_change.from_value, tier_change.to_value, tier_change.version, tier_change.reason, "
    "tier_change.at FROM tier_change WHERE tier_change.contact_id = :id "
    "ORDER BY tier_change.id DESC LIMIT 11",
    "version": "SELECT version FROM definition_version WHERE kind = 'tiers'",
    "scheme": "SELECT segment_scheme.version, segment_scheme.body FROM segment_scheme "
    "ORDER BY segment_scheme.version DESC LIMIT 1",
    "tags": "SELECT contact_tag.contact_id, contact_tag.tag_id, contact_tag.points, "
    "contact_tag.first_at, contact_tag.last_at, tag.id, tag.name, tag.code, tag.description, "
    "tag.created_at FROM contact_tag JOIN tag ON tag.id = contact_tag.tag_id "
    "WHERE contact_tag.contact_id = :id "
    "ORDER BY contact_tag.contact_id, contact_tag.points DESC, tag.code",
    "lists": "SELECT contact_list.id, contact_list.name, contact_list.description, "
    "contact_list.kind, contact_list.filter, contact_list.created_at, contact_list.updated_at "
    "FROM contact_list ORDER BY contact_list.name",
    "members": "SELECT list_id FROM list_member WHERE contact_id = :id",
}


def positional(sql: str, style: str) -> str:
    """`sql` with :name parameters as `?` (sqlite3) or `$1…` (asyncpg), in order."""
    out, n = [], 0
    for word in sql.split(" "):
        if word.startswith(":"):
            n += 1
            word = "?" if style == "qmark" else f"${n}"
        out.append(word)
    return " ".join(out)


def iso(value: Any) -> str | None:
    """A stored naive-UTC timestamp as the GraphQL DateTime scalar writes it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return str(value.replace(tzinfo=UTC).isoformat())


def _company(row: Sequence[Any] | None) -> dict[str, Any] | None:
    return {"id": str(row[0]), "name": row[1]} if row else None


def page_body(rows: Sequence[Sequence[Any]], first: int, companies: dict[int, Any]) -> bytes:
    nodes = [
        {"node": {
            "id": str(r[0]), "email": r[P["email"]], "firstName": r[P["first_name"]],
            "lastName": r[P["last_name"]], "score": r[P["score"]], "tier": r[P["tier"]],
            "region": r[P["region"]], "company": _company(companies.get(r[P["company_id"]])),
        }}
        for r in rows[:first]
    ]  # fmt: skip
    return dumps({"data": {"contacts": {"edges": nodes}}})


class Schemes:
    """code -> segment name of the current scheme, parsed once per `tiers` version."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.names: dict[str, str] = {}

    def fresh(self, version: int) -> bool:
        return version == self.version

    def load(self, version: int, body: Any) -> None:
        parsed = json.loads(body) if isinstance(body, str) else body
        self.version, self.names = version, {s["code"]: s["name"] for s in parsed["segments"]}


def card_body(
    contact: Sequence[Any] | None,
    rows: dict[str, Sequence[Sequence[Any]]],
    company: Sequence[Any] | None,
    segments: dict[str, str],
) -> bytes:
    if contact is None:
        return dumps({"data": {"contact": None}})
    code = contact[C["segment"]]
    segment = {"code": code, "name": segments[code]} if code in segments else None
    held = {r[0] for r in rows["members"]}
    body = {
        "id": str(contact[0]), "email": contact[1], "firstName": contact[2],
        "lastName": contact[3], "jobTitle": contact[C["job_title"]], "score": contact[C["score"]],
        "tier": contact[C["tier"]], "segment": segment, "leadStatus": contact[C["lead_status"]],
        "region": contact[C["region"]], "company": _company(company),
        "tags": [{"tag": {"code": r[7], "name": r[6]}, "points": r[2]} for r in rows["tags"]],
        "lists": [{"id": str(r[0]), "name": r[1]} for r in rows["lists"] if r[0] in held],
        "scoreBreakdown": {"edges": [
            {"node": {"reason": r[2], "label": r[4], "points": r[5], "at": iso(r[10])}}
            for r in rows["ledger"][:20]
        ]},
        "tierHistory": {"edges": [
            {"node": {"kind": r[2], "fromValue": r[3], "toValue": r[4], "reason": r[6],
                      "at": iso(r[7])}}
            for r in rows["history"][:10]
        ]},
    }  # fmt: skip
    return dumps({"data": {"contact": body}})


def dumps(value: Any) -> bytes:
    """With orjson, as Segmento's GraphQL view (api/view.py)."""
    return orjson.dumps(value)

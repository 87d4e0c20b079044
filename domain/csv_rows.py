"""Contacts as CSV: the header and each row read into validated contact fields (the same
validation as the API), and contacts written as CSV text. Pure: lines in, values out.

Lines are numbered as a text editor shows them (the header is usually line 1); a row whose
quoted cell spans several lines is reported by its first line.

Exported cells are safe to open in a spreadsheet (OWASP "CSV injection"): a text cell that
starts with `=`, `+`, `-`, `@`, tab or carriage return — after any single quotes — gets one
more `'` in front, so a spreadsheet shows it as text instead of running it as a formula.
Import takes exactly one such quote off again (only from a cell that, past its quotes,
starts with one of those characters), so an export imports back to the stored values.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from domain.contacts import (
    Contact,
    ContactType,
    FunnelStage,
    Source,
    clean_attributes,
    clean_contact_fields,
    clean_text,
)
from domain.errors import DomainError, InvalidInput, parse_id

IMPORT_FIELDS = (
    "email", "first_name", "last_name", "phone", "job_title", "contact_type", "source",
    "funnel_stage", "sector", "region", "city", "country", "company", "company_id",
    "custom_attributes", "consent_email", "consent_profiling",
)  # fmt: skip
# Written by the export, computed by the server: skipped on import, so exports re-import.
READ_ONLY = (
    "id", "score", "tier", "segment", "lead_status", "tags", "created_at", "updated_at",
    "last_activity_at",
)  # fmt: skip
EXPORT_COLUMNS = (
    "id", "email", "first_name", "last_name", "phone", "job_title", "contact_type", "source",
    "funnel_stage", "sector", "region", "city", "country", "company", "custom_attributes",
    "consent_email", "consent_profiling", "score", "tier", "segment", "lead_status", "tags",
    "created_at", "updated_at", "last_activity_at",
)  # fmt: skip
IGNORE = "-"  # map a column to this to skip it
ALIASES = {"e_mail": "email", "email_address": "email", "company_name": "company"}
_ENUMS: dict[str, type[Enum]] = {
    "contact_type": ContactType,
    "source": Source,
    "funnel_stage": FunnelStage,
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"
_RISKY = frozenset((*FORMULA_STARTS, _QUOTE))
_TRUE = frozenset({"true", "yes", "y", "1", "si", "sì"})
_FALSE = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str
    column: str | None = None
    code: str = "BAD_USER_INPUT"


@dataclass(frozen=True)
class Header:
    line: int
    columns: tuple[str, ...]
    fields: tuple[str | None, ...]  # per column; None: skipped
    problems: tuple[RowProblem, ...] = ()

    @property
    def skipped(self) -> list[str]:
        return [c for c, f in zip(self.columns, self.fields, strict=True) if f is None]

    def column_of(self, field: str) -> str | None:
        return next((c for c, f in zip(self.columns, self.fields, strict=True) if f == field), None)


@dataclass(frozen=True)
class ParsedRow:
    line: int
    values: dict[str, Any]  # cleaned contact fields of the non-empty cells
    company: str | None = None  # a company name, for the service to resolve
    problems: tuple[RowProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def field_key(name: str) -> str:
    """`First Name`, `firstName`, `first-name` and `first_name` all read as first_name."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    key = re.sub(r"[\s\-]+", "_", snake).lower()
    return ALIASES.get(key, key)


def parse_mapping(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{column, case-insensitive → field} from (column, field) pairs; `-` skips a column."""
    mapping: dict[str, str] = {}
    for column, field in pairs:
        key, target = column.strip().casefold(), field.strip()
        target = target if target == IGNORE else field_key(target)
        if not key:
            raise InvalidInput("a mapping needs a column name", field="mapping")
        if target != IGNORE and target not in IMPORT_FIELDS:
            raise InvalidInput(
                f"mapping {column!r}: {field!r} is not a contact field; use one of "
                f"{', '.join(IMPORT_FIELDS)} (or '-' to skip the column)",
                field="mapping",
            )
        if key in mapping:
            raise InvalidInput(f"column {column!r} is mapped twice", field="mapping")
        mapping[key] = target
    return mapping


def records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of every record with a non-blank cell. The delimiter is `,`, `;`
    or tab, whichever the first line holds most of. Unreadable text is InvalidInput."""
    source = iter(lines)
    line = 1
    try:
        first = next(source, None)
        if first is None:
            return
        first = first.removeprefix("\ufeff")
        delimiter = max((",", ";", "\t"), key=first.count)
        reader = csv.reader(itertools.chain([first], source), delimiter=delimiter, strict=True)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as error:
        raise InvalidInput(f"line {line}: the file is not readable CSV ({error})") from None
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text; save it as UTF-8 (CSV UTF-8)") from None


def read_header(line: int, cells: Sequence[str], mapping: Mapping[str, str]) -> Header:
    """Each column's field: mapped, named after a field, or a read-only export column
    (skipped). Any other column is unknown: a problem for the whole file."""
    columns = tuple(cell.strip() for cell in cells)
    fields: list[str | None] = []
    problems: list[RowProblem] = []
    owner: dict[str, str] = {}
    for number, column in enumerate(columns, 1):
        field = _column_field(column, mapping)
        if field == "":
            reason = f"unknown column {column!r}" if column else f"column {number} has no name"
            problems.append(RowProblem(line, _unknown_advice(reason), column or None))
            field = None
        if field is not None and field in owner:
            message = f"columns {owner[field]!r} and {column!r} are both {field}"
            problems.append(RowProblem(line, message, column))
            field = None
        elif field is not None:
            owner[field] = column
        fields.append(field)
    named = {c.casefold() for c in columns}
    for key in mapping:
        if key not in named:
            message = f"the mapping names column {key!r}, which is not in the header"
            problems.append(RowProblem(line, message))
    if "email" not in owner:
        problems.append(RowProblem(line, "no column holds the email, which is required"))
    return Header(line, columns, tuple(fields), tuple(problems))


def _column_field(column: str, mapping: Mapping[str, str]) -> str | None:
    """The field of a column, None to skip it, "" when unknown."""
    mapped = mapping.get(column.casefold())
    if mapped is not None:
        return None if mapped == IGNORE else mapped
    key = field_key(column)
    if key in IMPORT_FIELDS:
        return key
    return None if key in READ_ONLY else ""


def _unknown_advice(reason: str) -> str:
    return (
        f"{reason}: map it to a contact field ({', '.join(IMPORT_FIELDS)}) or to '-' to "
        "skip it; nothing is imported until every column is known"
    )


def parse_row(header: Header, line: int, cells: Sequence[str]) -> ParsedRow:
    """One record's cells, validated field by field; every problem of the row is listed."""
    width = len(header.columns)
    if len(cells) != width:
        what = "unknown column (a value past the last column)" if len(cells) > width else (
            "missing columns"
        )  # fmt: skip
        message = f"{what}: {len(cells)} values, the header has {width} columns"
        return ParsedRow(line, {}, problems=(RowProblem(line, message),))
    values: dict[str, Any] = {}
    company: str | None = None
    problems: list[RowProblem] = []
    for column, field, cell in zip(header.columns, header.fields, cells, strict=True):
        if field is None or not cell.strip():
            continue
        cell = unneutralised(cell)
        try:
            if field == "company":
                company = clean_text(cell, "company")
            else:
                values.update(clean_contact_fields({field: _typed(field, cell)}))
        except DomainError as error:
            problems.append(RowProblem(line, f"{column}: {error.message}", column, error.code))
    email_column = header.column_of("email")
    if "email" not in values and not any(p.column == email_column for p in problems):
        problems.append(RowProblem(line, "email is required", email_column))
    return ParsedRow(line, values, company, tuple(problems))


def _typed(field: str, cell: str) -> Any:
    """A cell's text as the value the contact validation takes."""
    text = cell.strip()
    if field in _ENUMS:
        kind = _ENUMS[field]
        value = re.sub(r"[\s\-]+", "_", text).upper()
        if value not in kind.__members__:
            allowed = ", ".join(kind.__members__)
            raise InvalidInput(f"{text!r} is not a valid {field}; use one of {allowed}")
        return kind(value)
    if field == "company_id":
        return parse_id(text, "company", "company_id")
    if field == "custom_attributes":
        try:
            return clean_attributes(json.loads(text), field)
        except ValueError:
            raise InvalidInput(f"{field} must be a JSON object, got {text!r}") from None
    if field in ("consent_email", "consent_profiling"):
        word = text.lower()
        if word not in _TRUE | _FALSE:
            raise InvalidInput(f"{text!r} is not true/false (also yes/no, 1/0)")
        return word in _TRUE
    return cell


class DuplicateEmails:
    """The first valid row with an email keeps it; a later row with the same email is
    rejected, naming the line of the first."""

    def __init__(self) -> None:
        self.first: dict[str, int] = {}

    def check(self, row: ParsedRow, column: str | None) -> ParsedRow:
        if not row.ok:
            return row
        email = row.values["email"]
        first = self.first.setdefault(email, row.line)
        if first == row.line:
            return row
        message = f"duplicate email {email}: already on line {first}"
        return replace(row, problems=(RowProblem(row.line, message, column, "CONFLICT"),))


def resolve_company(
    header: Header, row: ParsedRow, by_name: Mapping[str, list[int]], known: set[int]
) -> ParsedRow:
    """The row with its company name turned into company_id, given the companies of those
    names (lower-cased name -> ids) and the ids that exist; a row naming a missing or an
    ambiguous company, or a name and an id that disagree, is rejected."""
    given = row.values.get("company_id")
    if given is not None and given not in known:
        return _rejected(row, f"no company with id {given}", header.column_of("company_id"))
    if row.company is None:
        return row
    column, found = header.column_of("company"), by_name.get(row.company.lower(), [])
    if not found:
        return _rejected(row, f"no company named {row.company!r}", column)
    if len(found) > 1:
        message = f"{len(found)} companies are named {row.company!r}; give company_id instead"
        return _rejected(row, message, column, "CONFLICT")
    if given is not None and given != found[0]:
        message = f"company {row.company!r} has id {found[0]}, but company_id is {given}"
        return _rejected(row, message, column, "CONFLICT")
    return replace(row, values={**row.values, "company_id": found[0]})


def _rejected(
    row: ParsedRow, message: str, column: str | None, code: str = "NOT_FOUND"
) -> ParsedRow:
    return replace(row, problems=(RowProblem(row.line, message, column, code),))


def changed_fields(current: Contact, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the contact's (an import leaves equal ones alone)."""
    return {k: v for k, v in values.items() if getattr(current, k) != v}


def _attributes(value: Mapping[str, Any] | str | None) -> str:
    """JSON text as stored, or a mapping; an empty object is an empty cell."""
    if isinstance(value, str):
        return "" if value.replace(" ", "") == "{}" else value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _when(value: datetime | str | None) -> str:
    """ISO 8601 text as given, or a datetime."""
    return value.isoformat() if isinstance(value, datetime) else value or ""


def _tags(codes: Sequence[str] | None) -> str:
    return ";".join(codes) if codes else ""


_FORMAT: dict[str, Callable[[Any], str]] = {
    "custom_attributes": _attributes,
    "consent_email": _flag,
    "consent_profiling": _flag,
    "tags": _tags,
    "created_at": _when,
    "updated_at": _when,
    "last_activity_at": _when,
}
_FORMATTED = [(i, _FORMAT[c]) for i, c in enumerate(EXPORT_COLUMNS) if c in _FORMAT]


def _formula_like(text: str) -> bool:
    """Starts, past any single quotes, with a character a spreadsheet reads as a formula."""
    return text.lstrip(_QUOTE).startswith(FORMULA_STARTS)


def neutralised(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, with one `'` in front."""
    if isinstance(value, str) and value[:1] in _RISKY and _formula_like(value):
        return _QUOTE + value
    return value


def unneutralised(cell: str) -> str:
    """An exported cell back to the stored value: one `'` off a neutralised cell."""
    if cell.startswith(_QUOTE) and _formula_like(cell):
        return cell[1:]
    return cell


def csv_text(rows: Iterable[Sequence[Any]], *, raw: bool = False) -> str:
    """Rows of EXPORT_COLUMNS values as CSV text (RFC 4180: CRLF, quotes where needed), each
    formula-like text cell neutralised unless `raw` (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        cells = list(row)
        for index, format_cell in _FORMATTED:
            cells[index] = format_cell(cells[index])
        writer.writerow(cells if raw else [neutralised(cell) for cell in cells])
    return out.getvalue()


def header_text() -> str:
    out = io.StringIO()
    csv.writer(out).writerow(EXPORT_COLUMNS)
    return out.getvalue()

"""CSV import and export of contacts.

Import is atomic: the whole file is one transaction, validated and written chunk by chunk
(CHUNK rows at a time, so 100,000-row files keep memory flat). By default the good rows
are stored and the bad ones reported; with `strict` nothing is stored if any row is bad; a
file whose header has problems (an unknown column…) stores nothing; a database error stores
nothing. Contacts are matched by normalised email: rows equal to the stored contact are left
alone (their `updated_at` does not move), so importing the same file twice changes nothing.

Export streams every contact matching a filter, read by id in chunks (keyset), each chunk in
its own short read transaction: a million contacts never sit in memory at once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from domain import csv_rows
from domain.csv_rows import Header, ParsedRow, RowProblem
from domain.errors import InvalidInput, NotFound
from domain.filters import ContactFilter, validate_filter
from services.chunks import CHUNK
from services.contacts import count_contacts
from services.ports import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    pass

Progress = Callable[[int], None]
_ID = csv_rows.EXPORT_COLUMNS.index("id")
T = TypeVar("T")


@dataclass
class ImportReport:
    """What an import did, or (when not `applied`) what it would have done."""

    strict: bool
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    applied: bool = False
    file_refused: bool = False
    skipped_columns: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    problems_left_out: int = 0
    max_problems: int | None = None

    @property
    def storing(self) -> bool:
        """Whether the good rows are to be stored (nothing is, once this turns false)."""
        return not (self.dry_run or self.file_refused or (self.strict and self.rejected))

    def note(self, problems: Iterable[RowProblem]) -> None:
        for problem in problems:
            if self.max_problems is None or len(self.problems) < self.max_problems:
                self.problems.append(problem)
            else:
                self.problems_left_out += 1


async def import_contacts(
    uows: UnitOfWorkFactory,
    lines: Iterable[str],
    now: datetime,
    *,
    mapping: Sequence[tuple[str, str]] = (),
    strict: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    max_problems: int | None = None,
) -> ImportReport:
    """Create or update contacts from CSV lines (header first); see the module docstring."""
    columns = csv_rows.parse_mapping(mapping)
    records = csv_rows.records(lines)
    first = next(records, None)
    if first is None:
        raise InvalidInput("the file is empty: it needs a header line naming its columns")
    header = csv_rows.read_header(*first, columns)
    report = ImportReport(strict, dry_run, max_problems=max_problems)
    report.skipped_columns = header.skipped
    report.file_refused = bool(header.problems)
    report.note(header.problems)
    duplicates = csv_rows.DuplicateEmails()
    email_column = header.column_of("email")
    async with uows(write=report.storing) as uow:
        for chunk in _batches(records, CHUNK):
            rows = [
                duplicates.check(csv_rows.parse_row(header, line, cells), email_column)
                for line, cells in chunk
            ]
            await _apply(uow, header, rows, now, report, write=report.storing)
            if progress is not None:
                progress(report.rows)
            await asyncio.sleep(0)  # let other requests run between chunks
        if report.storing:
            await uow.commit()
            report.applied = True
    return report


async def _apply(
    uow: UnitOfWork,
    header: Header,
    rows: list[ParsedRow],
    now: datetime,
    report: ImportReport,
    *,
    write: bool,
) -> None:
    """Counts (and with `write`, stores) one chunk: new emails are created, contacts with
    changed values updated, equal ones left alone."""
    report.rows += len(rows)
    rows = await _with_companies(uow, header, rows)
    bad = [row for row in rows if not row.ok]
    report.rejected += len(bad)
    report.note(problem for row in bad for problem in row.problems)
    good = [row.values for row in rows if row.ok]
    existing = await uow.contacts.get_many_by_email(v["email"] for v in good) if good else {}
    creates: list[dict[str, Any]] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    for values in good:
        current = existing.get(values["email"])
        if current is None:
            creates.append(values)
        elif changes := csv_rows.changed_fields(current, values):
            updates.append((current.id, changes))
    report.created += len(creates)
    report.updated += len(updates)
    report.unchanged += len(good) - len(creates) - len(updates)
    if not write:
        return
    await uow.contacts.insert_contacts(creates, now)
    for contact_id, changes in updates:
        await uow.contacts.update(contact_id, changes, now)


async def _with_companies(
    uow: UnitOfWork, header: Header, rows: list[ParsedRow]
) -> list[ParsedRow]:
    names = {row.company for row in rows if row.ok and row.company}
    ids = {row.values["company_id"] for row in rows if row.ok and "company_id" in row.values}
    if not names and not ids:
        return rows
    by_name = await uow.companies.ids_by_name(names) if names else {}
    known = set(await uow.companies.get_many(ids)) if ids else set()
    return [
        csv_rows.resolve_company(header, row, by_name, known) if row.ok else row for row in rows
    ]


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def export_contacts(
    uows: UnitOfWorkFactory,
    where: ContactFilter | None,
    now: datetime,
    *,
    within: int | None = None,
    chunk: int | None = None,
    raw: bool = False,
) -> AsyncIterator[str]:
    """CSV text of every contact matching `where` (members of the list `within` only, if
    given), header first, then one piece per chunk; formula-like cells neutralised unless
    `raw` (domain/csv_rows.py). The filter is checked here, before anything is streamed."""
    if where is not None:
        validate_filter(where)
    return _export(uows, where, now, within, chunk or CHUNK, raw)


async def _export(
    uows: UnitOfWorkFactory,
    where: ContactFilter | None,
    now: datetime,
    within: int | None,
    chunk: int,
    raw: bool,
) -> AsyncIterator[str]:
    yield csv_rows.header_text()
    columns, last = csv_rows.EXPORT_COLUMNS, 0
    while True:
        async with uows() as uow:
            rows = await uow.contacts.export_chunk(columns, where, last, chunk, now, within)
        if rows:
            yield csv_rows.csv_text(rows, raw=raw)
        if len(rows) < chunk:
            return
        last = rows[-1][_ID]


async def export_selection(
    uows: UnitOfWorkFactory,
    list_id: int | None,
    where: ContactFilter | None,
    now: datetime,
    *,
    raw: bool = False,
) -> tuple[int, AsyncIterator[str]]:
    """The contacts matching `where` (members of list `list_id` only, if given) as streamed
    CSV, with how many there are. NOT_FOUND for an unknown list, before anything streams."""
    if where is not None:
        validate_filter(where)
    in_list = None
    if list_id is not None:
        async with uows() as uow:
            in_list = await uow.lists.get(list_id)
        if in_list is None:
            raise NotFound(f"no list with id {list_id}", field="list")
    total = await count_contacts(uows, where, now, in_list)
    within = in_list.id if in_list is not None else None
    return total, export_contacts(uows, where, now, within=within, raw=raw)

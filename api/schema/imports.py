"""Types of the CSV import: the column mapping and the report."""

from __future__ import annotations

import strawberry

from api.schema.enums import ErrorCode
from domain.csv_rows import RowProblem
from services.csv_io import ImportReport


@strawberry.input(
    description=(
        "Read CSV column `column` (its header, case-insensitive) as contact field `field` "
        "(e.g. `email`, `first_name`, `company`, `consent_email`; snake_case or camelCase), "
        'or skip the column with `field: "-"`.'
    )
)
class ColumnMappingInput:
    column: str
    field: str


@strawberry.type(description="One problem of an import: a bad row, or a problem of the file.")
class ImportProblem:
    line: int = strawberry.field(
        description="Line of the file (the header is line 1); a row spanning lines is "
        "reported by its first line."
    )
    column: str | None = strawberry.field(description="The CSV column, when one is at fault.")
    code: ErrorCode
    message: str

    @classmethod
    def from_domain(cls, problem: RowProblem) -> ImportProblem:
        return cls(
            line=problem.line,
            column=problem.column,
            code=ErrorCode(problem.code),
            message=problem.message,
        )


@strawberry.type(
    description=(
        "What an import did. When `applied` is false nothing was stored, and the counts say "
        "what the import would have done."
    )
)
class ImportContactsPayload:
    applied: bool = strawberry.field(description="True when the good rows were committed.")
    file_refused: bool = strawberry.field(
        description="The header has problems (e.g. an unknown column): nothing is stored."
    )
    strict: bool
    dry_run: bool
    row_count: int = strawberry.field(description="Data rows read (blank lines not counted).")
    created_count: int
    updated_count: int
    unchanged_count: int = strawberry.field(
        description="Rows equal to the stored contact: left alone, updatedAt unchanged."
    )
    rejected_count: int
    skipped_columns: list[str] = strawberry.field(
        description="Columns not imported: read-only export columns and columns mapped to -."
    )
    problems: list[ImportProblem] = strawberry.field(
        description="File problems and rejected rows by line; at most 1,000 listed."
    )
    problems_left_out: int = strawberry.field(
        description="Problems beyond the first 1,000, counted but not listed."
    )

    @classmethod
    def from_domain(cls, report: ImportReport) -> ImportContactsPayload:
        return cls(
            applied=report.applied,
            file_refused=report.file_refused,
            strict=report.strict,
            dry_run=report.dry_run,
            row_count=report.rows,
            created_count=report.created,
            updated_count=report.updated,
            unchanged_count=report.unchanged,
            rejected_count=report.rejected,
            skipped_columns=report.skipped_columns,
            problems=[ImportProblem.from_domain(p) for p in report.problems],
            problems_left_out=report.problems_left_out,
        )

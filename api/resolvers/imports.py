"""The CSV import mutation: an uploaded file (multipart) or CSV text."""

from __future__ import annotations

import io
from typing import cast

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from api.context import AppInfo
from api.schema.imports import ColumnMappingInput, ImportContactsPayload
from domain.errors import InvalidInput
from services import csv_io

MAX_PROBLEMS = 1000


async def import_contacts(
    info: AppInfo,
    file: Upload | None = None,
    text: str | None = None,
    mapping: list[ColumnMappingInput] | None = None,
    strict: bool = False,
    dry_run: bool = False,
) -> ImportContactsPayload:
    ctx = info.context
    if file is not None and not isinstance(file, UploadFile):  # e.g. a string literal
        raise InvalidInput("file must be a multipart upload (see the contract)", field="file")
    upload = cast(UploadFile | None, file)
    try:
        with _lines(upload, text) as lines:
            report = await csv_io.import_contacts(
                ctx.uows,
                lines,
                ctx.clock(),
                mapping=[(m.column, m.field) for m in mapping or ()],
                strict=strict,
                dry_run=dry_run,
                max_problems=MAX_PROBLEMS,
            )
    finally:
        if upload is not None:
            await upload.close()
    return ImportContactsPayload.from_domain(report)


def _lines(upload: UploadFile | None, text: str | None) -> io.TextIOBase:
    """The CSV as text lines: an upload is read as UTF-8 (a byte-order mark is dropped)."""
    if (upload is None) == (text is None):
        raise InvalidInput("give either file (a multipart upload) or text", field="file")
    if text is not None:
        return io.StringIO(text, newline="")
    assert upload is not None
    return io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")


@strawberry.type
class ImportMutations:
    import_contacts: ImportContactsPayload | None = strawberry.field(
        resolver=import_contacts,
        description=(
            "Create or update contacts from CSV (an uploaded `file`, multipart, or `text`), "
            "matched by normalised email. One transaction: good rows are stored and bad rows "
            "reported by line; with `strict`, nothing is stored if any row is bad; a header "
            "with an unknown column stores nothing. `dryRun` only reports. Rows equal to the "
            "stored contact are left alone, so re-importing a file changes nothing."
        ),
    )

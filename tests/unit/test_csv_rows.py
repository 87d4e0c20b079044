"""Reading CSV rows into contact fields and writing contacts as CSV (pure domain)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from domain.contacts import ContactType
from domain.csv_rows import (
    EXPORT_COLUMNS,
    DuplicateEmails,
    csv_text,
    field_key,
    header_text,
    parse_mapping,
    parse_row,
    read_header,
    records,
    unneutralised,
)
from domain.errors import InvalidInput


def header(*columns: str, mapping: dict[str, str] | None = None):
    return read_header(1, list(columns), mapping or {})


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("email", "email"),
        ("First Name", "first_name"),
        ("firstName", "first_name"),
        ("last-name", "last_name"),
        (" E-mail ", "email"),
        ("Company Name", "company"),
        ("consentEmail", "consent_email"),
    ],
)
def test_header_names_are_read_as_snake_case_fields(name, field):
    assert field_key(name) == field


def test_records_report_the_first_physical_line_of_each_row_and_skip_blank_lines():
    text = 'email,city\na@x.it,Roma\n\n"b@x.it","Reggio\nEmilia"\n,\nc@x.it,Bari\n'

    found = list(records(io.StringIO(text, newline="")))

    assert [line for line, _ in found] == [1, 2, 4, 7]
    assert found[2][1] == ["b@x.it", "Reggio\nEmilia"]


def test_semicolon_and_tab_separated_files_are_recognised_from_the_header():
    assert list(records(["email;city\n", "a@x.it;Roma\n"]))[1] == (2, ["a@x.it", "Roma"])
    assert list(records(["email\tcity\n", "a@x.it\tRoma\n"]))[1] == (2, ["a@x.it", "Roma"])


def test_a_byte_order_mark_does_not_become_part_of_the_first_column():
    assert list(records(["\ufeffemail\n"])) == [(1, ["email"])]


def test_broken_quoting_is_refused_with_its_line():
    with pytest.raises(InvalidInput, match="line 2"):
        list(records(["email\n", '"a@x.it"oops\n']))


def test_an_unknown_column_is_a_problem_of_the_whole_file_naming_it():
    found = header("email", "Nickname")

    assert [(p.line, p.column) for p in found.problems] == [(1, "Nickname")]
    assert "unknown column 'Nickname'" in found.problems[0].message


def test_read_only_export_columns_and_columns_mapped_to_a_dash_are_skipped():
    found = header("id", "email", "score", "notes", mapping=parse_mapping([("Notes", "-")]))

    assert found.problems == ()
    assert found.skipped == ["id", "score", "notes"]


def test_a_mapping_reads_a_column_as_a_field():
    found = header("Posta", "Città", mapping=parse_mapping([("posta", "email"), ("CITTÀ", "city")]))

    assert found.fields == ("email", "city") and found.problems == ()


def test_a_mapping_to_an_unknown_field_is_refused():
    with pytest.raises(InvalidInput, match="nickname"):
        parse_mapping([("Nick", "nickname")])


def test_a_file_without_an_email_column_or_with_two_is_refused():
    assert "email" in header("city").problems[0].message
    assert "both email" in header("email", "E-mail").problems[0].message


def test_a_good_row_becomes_cleaned_contact_fields():
    cols = header("email", "contact_type", "consent_email", "custom_attributes", "city", "company")

    row = parse_row(cols, 2, [" A@X.it ", "prospect", "Yes", '{"plan": "pro"}', "  Roma ", "Acme"])

    assert row.ok
    assert row.values == {
        "email": "a@x.it",
        "contact_type": ContactType.PROSPECT,
        "consent_email": True,
        "custom_attributes": {"plan": "pro"},
        "city": "Roma",
    }
    assert row.company == "Acme"


def test_empty_cells_leave_the_field_out():
    row = parse_row(header("email", "city", "phone"), 2, ["a@x.it", "", "  "])

    assert row.values == {"email": "a@x.it"}


def test_every_problem_of_a_row_is_reported_with_its_column():
    cols = header("email", "contact_type", "consent_email", "country")

    row = parse_row(cols, 5, ["not-an-email", "VIP", "maybe", "Italy"])

    assert [(p.line, p.column) for p in row.problems] == [
        (5, "email"),
        (5, "contact_type"),
        (5, "consent_email"),
        (5, "country"),
    ]
    assert "not a valid email" in row.problems[0].message
    assert "use one of CLIENT, PROSPECT" in row.problems[1].message


def test_a_row_without_an_email_is_rejected():
    row = parse_row(header("email", "city"), 3, ["", "Roma"])

    assert [p.message for p in row.problems] == ["email is required"]


def test_a_value_past_the_last_column_is_an_unknown_column_of_that_row():
    row = parse_row(header("email", "city"), 4, ["a@x.it", "Roma", "surprise"])

    assert "unknown column" in row.problems[0].message and row.problems[0].line == 4


def test_a_repeated_email_is_rejected_naming_the_line_of_the_first():
    cols, seen = header("email"), DuplicateEmails()

    first = seen.check(parse_row(cols, 2, ["a@x.it"]), "email")
    second = seen.check(parse_row(cols, 7, [" A@x.IT"]), "email")

    assert first.ok
    assert second.problems[0].code == "CONFLICT"
    assert "already on line 2" in second.problems[0].message


def test_an_invalid_first_occurrence_does_not_block_a_later_valid_row():
    cols, seen = header("email", "country"), DuplicateEmails()

    seen.check(parse_row(cols, 2, ["a@x.it", "Italy"]), "email")

    assert seen.check(parse_row(cols, 3, ["a@x.it", "IT"]), "email").ok


def test_export_rows_are_written_as_csv_that_reads_back():
    when = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    values = dict.fromkeys(EXPORT_COLUMNS)
    values.update(id=1, email="a@x.it", first_name='Anna "Nina", jr', custom_attributes={"a": 1},
                  consent_email=True, consent_profiling=False, score=5, tags=["vip", "b2b"],
                  created_at=when, updated_at=when)  # fmt: skip

    text = header_text() + csv_text([tuple(values[c] for c in EXPORT_COLUMNS)])

    back = list(csv.DictReader(io.StringIO(text, newline="")))
    assert back[0]["first_name"] == 'Anna "Nina", jr'
    assert back[0]["custom_attributes"] == '{"a":1}'
    assert (back[0]["consent_email"], back[0]["consent_profiling"]) == ("true", "false")
    assert back[0]["tags"] == "vip;b2b"
    assert back[0]["created_at"] == "2026-11-23T09:00:00+00:00"
    assert back[0]["phone"] == "" and back[0]["last_activity_at"] == ""


def test_text_that_is_not_utf8_is_refused():
    lines = io.TextIOWrapper(io.BytesIO(b"email\n\xff\xfe@x.it\n"), encoding="utf-8-sig")

    with pytest.raises(InvalidInput, match="not UTF-8"):
        list(records(lines))


@pytest.mark.parametrize(
    "value",
    ["=HYPERLINK(\"http://evil\")", "+39 06 1234567", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
     "\tx", "\rx", "'=already quoted", "''+twice", "'plain quote", "plain", "a=b"],
)  # fmt: skip
def test_a_neutralised_export_cell_imports_back_to_the_stored_value(value):
    values = dict.fromkeys(EXPORT_COLUMNS)
    values.update(id=1, email="a@x.it", job_title=value)

    text = header_text() + csv_text([tuple(values[c] for c in EXPORT_COLUMNS)])

    cell = next(csv.DictReader(io.StringIO(text, newline="")))["job_title"]
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralised(cell) == value


def test_only_formula_like_cells_get_a_quote_and_raw_keeps_them_as_stored():
    values = dict.fromkeys(EXPORT_COLUMNS)
    values.update(id=1, email="a@x.it", first_name="=1+1", last_name="Rossi", score=-5)
    row = tuple(values[c] for c in EXPORT_COLUMNS)

    safe = next(csv.DictReader(io.StringIO(header_text() + csv_text([row]), newline="")))
    raw = next(csv.DictReader(io.StringIO(header_text() + csv_text([row], raw=True), newline="")))

    assert (safe["first_name"], safe["last_name"], safe["score"]) == ("'=1+1", "Rossi", "-5")
    assert raw["first_name"] == "=1+1"


def test_import_takes_the_quote_off_only_before_a_formula_character():
    cols = header("email", "first_name", "last_name", "job_title")

    row = parse_row(cols, 2, ["a@x.it", "'=1+1", "'Neil", "''@x"])

    assert row.ok, row.problems
    assert (row.values["first_name"], row.values["last_name"]) == ("=1+1", "'Neil")
    assert row.values["job_title"] == "'@x"


@pytest.mark.parametrize("raw", ["99999999999999999999", "2147483648", "0", "\u0661\u0662"])
def test_a_company_id_outside_the_id_range_is_a_problem_of_its_column(raw):
    row = parse_row(header("email", "company_id"), 2, ["a@x.it", raw])

    assert [(p.line, p.column) for p in row.problems] == [(2, "company_id")]
    assert "positive integer" in row.problems[0].message

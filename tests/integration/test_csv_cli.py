"""`segmento import` and `segmento export` against a SQLite file."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from api.cli import main

FILE = (
    "email,first_name,city,Contact Type\n"
    "anna@x.it,Anna,Roma,client\n"
    "broken,Bo,Milano,\n"
    "bruno@x.it,Bruno,Bari,\n"
    "anna@x.it,Anna again,Napoli,\n"
)


@pytest.fixture
def database(tmp_path, monkeypatch, sqlite_template):
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)  # migrated already: the commands' migrate is a no-op
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def write(tmp_path, text, name="contacts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def exported(capsys, *args):
    assert main(["export", *args]) == 0
    out = capsys.readouterr()
    return list(csv.DictReader(io.StringIO(out.out, newline=""))), out.err


def test_import_stores_the_good_rows_and_reports_the_bad_ones(database, tmp_path, capsys):
    path = write(tmp_path, FILE)

    code = main(["import", path])

    out = capsys.readouterr()
    assert code == 1  # some rows were rejected
    assert "4 rows: 2 created, 0 updated, 0 unchanged, 2 rejected; stored" in out.out
    assert "line 3: email: 'broken' is not a valid email address" in out.out
    assert "line 5: duplicate email anna@x.it: already on line 2" in out.out
    assert "[##############################] 4/4 rows" in out.err  # the progress bar
    found, _ = exported(capsys)
    assert [(r["email"], r["contact_type"]) for r in found] == [
        ("anna@x.it", "CLIENT"),
        ("bruno@x.it", ""),
    ]


def test_importing_the_same_file_again_changes_nothing(database, tmp_path, capsys):
    path = write(tmp_path, FILE)
    main(["import", path])
    capsys.readouterr()
    before, _ = exported(capsys)

    main(["import", path])

    assert "0 created, 0 updated, 2 unchanged, 2 rejected" in capsys.readouterr().out
    assert exported(capsys)[0] == before


def test_strict_and_dry_run_store_nothing(database, tmp_path, capsys):
    path = write(tmp_path, FILE)

    assert main(["import", path, "--strict"]) == 1
    assert "strict: nothing stored, 2 bad rows" in capsys.readouterr().out
    assert main(["import", path, "--dry-run"]) == 1
    assert "2 created" in capsys.readouterr().out
    assert exported(capsys)[0] == []


def test_a_clean_file_exits_0_and_mappings_rename_or_skip_columns(database, tmp_path, capsys):
    path = write(tmp_path, "Posta;Città;Note\nx@x.it;Lecce;hello\n")

    code = main(["import", path, "--map", "Posta=email", "--map", "Città=city", "--map", "Note=-"])

    assert code == 0
    assert "skipped columns: Note" in capsys.readouterr().out
    assert [(r["email"], r["city"]) for r in exported(capsys)[0]] == [("x@x.it", "Lecce")]


def test_an_unknown_column_stores_nothing_and_names_it(database, tmp_path, capsys):
    path = write(tmp_path, "email,Shoe size\na@x.it,42\n")

    assert main(["import", path]) == 1

    out = capsys.readouterr().out
    assert "nothing stored: the header has problems" in out
    assert "line 1: unknown column 'Shoe size'" in out


def test_export_applies_the_filter_and_writes_the_file(database, tmp_path, capsys):
    main(["import", write(tmp_path, FILE)])
    capsys.readouterr()
    out = tmp_path / "roma.csv"

    assert main(["export", "--filter", json.dumps({"cityIn": ["Roma"]}), "--out", str(out)]) == 0

    assert "exported 1 contacts to" in capsys.readouterr().err
    with out.open(encoding="utf-8", newline="") as written:
        assert [r["email"] for r in csv.DictReader(written)] == ["anna@x.it"]


def test_a_bad_filter_or_a_missing_file_is_an_error(database, tmp_path, capsys):
    assert main(["export", "--filter", '{"cityIn": "Roma", "nope": 1}']) == 2
    assert "error: filter is not a ContactFilter" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_export_neutralises_formula_cells_and_raw_writes_them_as_stored(database, tmp_path, capsys):
    main(["import", write(tmp_path, "email,first_name,job_title\neve@x.it,=1+1,@cmd\n")])
    capsys.readouterr()

    safe, _ = exported(capsys)
    raw, _ = exported(capsys, "--raw")

    assert (safe[0]["first_name"], safe[0]["job_title"]) == ("'=1+1", "'@cmd")
    assert (raw[0]["first_name"], raw[0]["job_title"]) == ("=1+1", "@cmd")
    main(["import", write(tmp_path, "email,first_name\neve@x.it,'=1+1\n", "back.csv")])
    assert "0 updated, 1 unchanged" in capsys.readouterr().out

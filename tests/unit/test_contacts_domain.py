"""Normalisation and validation of contact and company fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contacts import clean_company_fields, clean_contact_fields, normalise_email
from domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mario.Rossi@Example.IT ", "mario.rossi@example.it"),
        ("a+tag@sub.domain.it", "a+tag@sub.domain.it"),
        ("O'Brien@x.ie", "o'brien@x.ie"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plain",
        "@x.it",
        "a@",
        "a@b",
        "a b@x.it",
        "a..b@x.it",
        ".a@x.it",
        "a@-x.it",
        "a@x..it",
        "x" * 65 + "@x.it",
    ],
)
def test_implausible_emails_are_refused_with_the_field_named(raw):
    with pytest.raises(InvalidInput) as error:
        normalise_email(raw)
    assert error.value.field == "email"


@given(st.emails())
def test_normalising_a_valid_email_is_idempotent(email):
    try:
        once = normalise_email(email)
    except InvalidInput:
        return
    assert normalise_email(once) == once
    assert normalise_email(f"  {once.upper()} ") == once


def test_text_fields_collapse_whitespace_and_blank_becomes_null():
    cleaned = clean_contact_fields({"first_name": "  Maria   Grazia ", "city": "   "})
    assert cleaned == {"first_name": "Maria Grazia", "city": None}


def test_unknown_fields_are_refused():
    with pytest.raises(InvalidInput):
        clean_contact_fields({"shoe_size": 42})


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"phone": "abc"}, "phone"),
        ({"country": "ITA"}, "country"),
        ({"consent_email": "false"}, "consentEmail"),
        ({"company_id": 0}, "companyId"),
        ({"custom_attributes": {"": 1}}, "customAttributes"),
    ],
)
def test_bad_contact_fields_name_the_field(values, field):
    with pytest.raises(InvalidInput) as error:
        clean_contact_fields(values)
    assert error.value.field == field


@pytest.mark.parametrize(
    "values",
    [{"name": " "}, {"size": -1}, {"size": True}, {"size": "12"}, {"website": "ftp://x.it"}],
)
def test_bad_company_fields_are_refused(values):
    with pytest.raises(InvalidInput):
        clean_company_fields(values)


def test_country_codes_are_upper_cased():
    assert clean_company_fields({"country": " it "}) == {"country": "IT"}


def test_the_fast_view_constructors_equal_the_dataclass_ones():
    import dataclasses
    from datetime import UTC, datetime

    from domain.contacts import VIEW_FIELDS, ContactView, Source

    at = datetime(2026, 11, 23, tzinfo=UTC)
    values = (7, "a@x.it", 12, "Tier 1", "A", "COLD", "IT", "Lazio", "Roma", None, None, 3,
              Source.EVENT, None, at, None, {"vip": 2})  # fmt: skip
    built = ContactView(*values)
    assert ContactView.of(values) == built
    assert hash(ContactView.of(values).id) == hash(7)
    assert len(VIEW_FIELDS) == len(values)
    moved = built.placed("Tier 2", "WARM", "B")
    assert moved == dataclasses.replace(built, tier="Tier 2", lead_status="WARM", segment="B")
    assert built.tier == "Tier 1"  # the original is unchanged
    with __import__("pytest").raises(dataclasses.FrozenInstanceError):
        moved.tier = "x"  # type: ignore[misc]

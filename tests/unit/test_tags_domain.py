"""Tag codes: slugs derived from names, stable and API-safe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.tags import CODE_RE, MAX_CODE, code_for, label, slugify


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Interessato a servizi premium", "interessato-a-servizi-premium"),
        ("Fiere 2025", "fiere-2025"),
        ("Lead caldo", "lead-caldo"),
        ("Perché è così?", "perche-e-cosi"),
        ("  apertura   sondaggio ", "apertura-sondaggio"),
    ],
)
def test_codes_are_slugs_of_the_name(name, code):
    assert code_for(name) == code


@given(st.text(max_size=200))
def test_any_slug_is_empty_or_a_valid_code(name):
    slug = slugify(name)
    assert slug == "" or (CODE_RE.match(slug) and len(slug) <= MAX_CODE)


@given(st.from_regex(CODE_RE, fullmatch=True).filter(lambda c: len(c) <= MAX_CODE))
def test_a_valid_code_is_its_own_slug(code):
    assert slugify(code) == code


def test_a_name_without_letters_needs_an_explicit_code():
    with pytest.raises(InvalidInput) as error:
        code_for("!!!")
    assert error.value.field == "code"
    assert code_for("!!!", "bang") == "bang"


@pytest.mark.parametrize("code", ["Upper", "two  spaces", "-lead", "lead-", "a--b", "x" * 65])
def test_explicit_codes_must_be_slugs(code):
    with pytest.raises(InvalidInput):
        code_for("Name", code)


def test_label_shows_name_and_code():
    assert label("Lead caldo", "lead-caldo") == "Lead caldo (lead-caldo)"

"""Duplicate detection: normalisation, similarity, blocking and reasons."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.duplicates import (
    Person,
    candidates,
    candidates_in_steps,
    email_key,
    fold,
    jaro_winkler,
    name_key,
    phone_key,
)

words = st.text(alphabet="abcdeèéfghijklmnopqrstuvwxyz.+ ", max_size=20)


@given(words, words)
def test_similarity_is_symmetric_and_between_zero_and_one(a, b):
    assert jaro_winkler(a, b) == jaro_winkler(b, a)
    assert 0.0 <= jaro_winkler(a, b) <= 1.0


@given(words)
def test_a_string_is_fully_similar_to_itself(a):
    assert jaro_winkler(a, a) == 1.0


def test_similarity_matches_the_textbook_values():
    assert round(jaro_winkler("martha", "marhta"), 3) == 0.961
    assert round(jaro_winkler("dwayne", "duane"), 2) == 0.84
    assert jaro_winkler("abc", "xyz") == 0.0


def test_emails_are_normalised_without_case_dots_plus_suffix_or_accents():
    assert email_key("Mario.Rossi+crm@X.it") == "mariorossi@x.it"
    assert email_key("niccolò.verdi@y.it") == "niccoloverdi@y.it"


def test_phones_compare_by_their_last_nine_digits():
    assert phone_key("+39 333 123 4567") == phone_key("3331234567") == "331234567"
    assert phone_key("12") is None and phone_key(None) is None


def test_names_fold_accents_and_order():
    assert fold("  Niccolò  ROSSI ") == "niccolo rossi"
    assert name_key("Rossi", "Mario") == name_key("mario", "rossi")


def test_candidates_give_reasons_strongest_first():
    people = [
        Person(1, "mario.rossi@x.it", "Mario", "Rossi", "+39 333 1234567", 5),
        Person(2, "mariorossi@x.it"),
        Person(3, "m.bianchi@y.it", "Mario", "Rossi", "3331234567", 5),
        Person(4, "unrelated@z.it", "Anna", "Neri"),
    ]
    found = {c.ids: (c.similarity, c.reasons) for c in candidates(people, 0.85, 10)}
    assert found == {
        (1, 2): (1.0, ("same normalised email",)),
        (1, 3): (0.95, ("same phone", "same name at the same company")),
    }


def test_similar_emails_on_one_domain_are_candidates():
    people = [Person(1, "francesca.esposito@x.it"), Person(2, "francesca.espsito@x.it")]
    [pair] = candidates(people, 0.9, 10)
    assert pair.ids == (1, 2) and pair.reasons[0].startswith("similar email (0.9")


def test_contacts_sharing_no_block_are_never_compared():
    people = [Person(1, "alpha@x.it"), Person(2, "alpha@y.it".replace("alpha", "zeta"))]
    assert candidates(people, 0.0, 10) == []


def test_erased_contacts_are_left_out_and_first_bounds_the_answer():
    people = [Person(i, f"erased-{i}@erased.invalid") for i in range(1, 5)]
    people += [Person(10, "a.b@x.it"), Person(11, "ab@x.it"), Person(12, "a.b+1@x.it")]
    found = candidates(people, 0.85, 2)
    assert [c.ids for c in found] == [(10, 11), (10, 12)]


people_lists = st.lists(
    st.builds(
        Person,
        st.integers(1, 10_000),
        st.sampled_from(["mario.rossi", "mariorossi", "m.rossi", "anna", "ana", "lucab"]).map(
            lambda local: f"{local}@x.it"
        )
        | words.map(lambda local: f"{local}@y.it"),
        st.sampled_from([None, "Mario", "Maria", "Anna"]),
        st.sampled_from([None, "Rossi", "Rosi", "Neri"]),
        st.sampled_from([None, "+39 333 1234567", "333 765 4321"]),
        st.sampled_from([None, 1, 2]),
    ),
    max_size=30,
    unique_by=lambda p: p.id,
)


@given(people_lists, st.sampled_from([0.0, 0.5, 0.85, 0.95]), st.integers(0, 12))
def test_the_first_n_are_the_first_n_of_every_candidate(people, min_similarity, first):
    """Asking for fewer skips pairs that cannot make the cut: the answer is still the head
    of the whole ordered list."""
    every = candidates(people, min_similarity, 10_000)
    assert candidates(people, min_similarity, first) == every[:first]
    assert [(-c.similarity, c.ids) for c in every] == sorted((-c.similarity, c.ids) for c in every)


def test_the_search_yields_while_it_works_and_returns_the_answer():
    people = [Person(i, f"same@host{i}.it") for i in range(1, 200)]
    steps = candidates_in_steps(people, 0.5, 3)
    yields = 0
    while True:
        try:
            next(steps)
            yields += 1
        except StopIteration as done:
            assert done.value == candidates(people, 0.5, 3)
            break
    assert yields > 1

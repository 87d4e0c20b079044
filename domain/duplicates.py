"""Duplicate candidates: contacts that are probably the same person.

Identifiers are normalised first (case, accents, dots and `+suffix` in an email's local
part, phone digits), then pairs are scored: the same normalised email (1.0), the same
phone (0.95), the same name at the same company (0.9), or a Jaro-Winkler similarity of
emails, or of names at the same company. Only contacts sharing a *block* (a normalised
key, or an email domain with the local part's first letters, or a company with the last
name's first letters) are compared, so the work grows with the block sizes, not with n².
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations

SAME_EMAIL, SAME_PHONE, SAME_NAME_AT_COMPANY = 1.0, 0.95, 0.9
MAX_FUZZY_BLOCK = 200  # larger fuzzy blocks (a freemail domain) are skipped, not compared
ERASED_DOMAIN = "erased.invalid"


@dataclass(frozen=True)
class Person:
    """What duplicate detection reads of a contact."""

    id: int
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company_id: int | None = None


@dataclass(frozen=True)
class Candidate:
    ids: tuple[int, int]
    similarity: float
    reasons: tuple[str, ...]


def fold(text: str | None) -> str:
    """Lower case, no accents, single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


def email_key(email: str) -> str:
    """`Mario.Rossi+crm@X.it` -> `mariorossi@x.it`."""
    local, _, domain = fold(email).partition("@")
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def phone_key(phone: str | None) -> str | None:
    """The last 9 digits (drops country prefixes and formatting); None if too short."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits[-9:] if len(digits) >= 7 else None


def name_key(first: str | None, last: str | None) -> str:
    return " ".join(sorted(f"{fold(first)} {fold(last)}".split()))


def jaro_winkler(a: str, b: str) -> float:
    """Similarity in [0, 1]; 1 for equal strings; symmetric (computed in a fixed order)."""
    if a > b:
        a, b = b, a
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    taken = [False] * len(b)
    matched_a: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not taken[j] and b[j] == ch:
                taken[j] = True
                matched_a.append(ch)
                break
    m = len(matched_a)
    if m == 0:
        return 0.0
    matched_b = [b[j] for j in range(len(b)) if taken[j]]
    half_transpositions = sum(x != y for x, y in zip(matched_a, matched_b, strict=True))
    jaro = (m / len(a) + m / len(b) + (m - half_transpositions / 2) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return min(1.0, jaro + prefix * 0.1 * (1 - jaro))


def _blocks(person: Person) -> Iterable[tuple[Hashable, bool]]:
    """(block key, fuzzy?) for one contact."""
    key = email_key(person.email)
    local, _, domain = key.partition("@")
    yield ("email", key), False
    yield ("local", local), False
    if domain:
        yield ("domain", domain, local[:2]), True
    phone = phone_key(person.phone)
    if phone:
        yield ("phone", phone), False
    name = name_key(person.first_name, person.last_name)
    if name and person.company_id is not None:
        yield ("name", name, person.company_id), False
        yield ("company", person.company_id, fold(person.last_name)[:2]), True


def compare(a: Person, b: Person) -> list[tuple[float, str]]:
    """Every way two contacts look alike, as (score, reason), strongest first."""
    found: list[tuple[float, str]] = []
    emails = email_key(a.email), email_key(b.email)
    if emails[0] == emails[1]:
        found.append((SAME_EMAIL, "same normalised email"))
    else:
        similar = round(jaro_winkler(*emails), 2)
        found.append((similar, f"similar email ({similar:.2f})"))
    phone = phone_key(a.phone)
    if phone is not None and phone == phone_key(b.phone):
        found.append((SAME_PHONE, "same phone"))
    names = name_key(a.first_name, a.last_name), name_key(b.first_name, b.last_name)
    if all(names) and a.company_id is not None and a.company_id == b.company_id:
        if names[0] == names[1]:
            found.append((SAME_NAME_AT_COMPANY, "same name at the same company"))
        else:
            similar = round(jaro_winkler(*names), 2)
            found.append((similar, f"similar name at the same company ({similar:.2f})"))
    return sorted(found, key=lambda pair: -pair[0])


def candidates(people: Iterable[Person], min_similarity: float, first: int) -> list[Candidate]:
    """Pairs at least `min_similarity` alike, most alike first (then by ids)."""
    blocks: dict[Hashable, list[Person]] = defaultdict(list)
    fuzzy: set[Hashable] = set()
    for person in people:
        if person.email.endswith("@" + ERASED_DOMAIN):
            continue
        for key, is_fuzzy in _blocks(person):
            blocks[key].append(person)
            if is_fuzzy:
                fuzzy.add(key)
    pairs: dict[tuple[int, int], tuple[Person, Person]] = {}
    for key, members in blocks.items():
        if len(members) < 2 or (key in fuzzy and len(members) > MAX_FUZZY_BLOCK):
            continue
        for a, b in combinations(members, 2):
            if a.id != b.id:
                low, high = (a, b) if a.id < b.id else (b, a)
                pairs[(low.id, high.id)] = (low, high)
    found: list[Candidate] = []
    for ids, (a, b) in pairs.items():
        reasons = [(score, why) for score, why in compare(a, b) if score >= min_similarity]
        if reasons:
            found.append(Candidate(ids, reasons[0][0], tuple(why for _, why in reasons)))
    found.sort(key=lambda c: (-c.similarity, c.ids))
    return found[:first]

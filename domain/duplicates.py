"""Duplicate candidates: contacts that are probably the same person.

Identifiers are normalised first (case, accents, dots and `+suffix` in an email's local
part, phone digits), then pairs are scored: the same normalised email (1.0), the same
phone (0.95), the same name at the same company (0.9), or a Jaro-Winkler similarity of
emails, or of names at the same company. Only contacts sharing a *block* (a normalised
key, or an email domain with the local part's first letters, or a company with the last
name's first letters) are compared, so the work grows with the block sizes, not with n².
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Callable, Generator, Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations

from domain.contacts import is_erased

SAME_EMAIL, SAME_PHONE, SAME_NAME_AT_COMPANY = 1.0, 0.95, 0.9
MAX_FUZZY_BLOCK = 200  # larger fuzzy blocks (a freemail domain) are skipped, not compared


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
    taken = bytearray(len(b))
    matched_a: list[str] = []
    for i, ch in enumerate(a):  # each character takes the first free equal one in its window
        high = i + window + 1
        j = b.find(ch, max(0, i - window), high)
        while j != -1 and taken[j]:
            j = b.find(ch, j + 1, high)
        if j != -1:
            taken[j] = 1
            matched_a.append(ch)
    m = len(matched_a)
    if m == 0:
        return 0.0
    matched_b = [ch for ch, used in zip(b, taken, strict=True) if used]
    half_transpositions = sum(x != y for x, y in zip(matched_a, matched_b, strict=True))
    jaro = (m / len(a) + m / len(b) + (m - half_transpositions / 2) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return min(1.0, jaro + prefix * 0.1 * (1 - jaro))


def _blocks(person: Person, keys: _Keys) -> Iterable[tuple[Hashable, bool]]:
    """(block key, fuzzy?) for one contact."""
    key = keys.email
    local, _, domain = key.partition("@")
    yield ("email", key), False
    yield ("local", local), False
    if domain:
        yield ("domain", domain, local[:2]), True
    phone = keys.phone
    if phone:
        yield ("phone", phone), False
    name = keys.name
    if name and person.company_id is not None:
        yield ("name", name, person.company_id), False
        yield ("company", person.company_id, fold(person.last_name)[:2]), True


@dataclass(frozen=True)
class _Keys:
    """A contact's normalised identifiers, computed once per search."""

    person: Person
    email: str
    phone: str | None
    name: str


def _keys(person: Person) -> _Keys:
    return _Keys(
        person,
        email_key(person.email),
        phone_key(person.phone),
        name_key(person.first_name, person.last_name),
    )


def compare(a: Person, b: Person) -> list[tuple[float, str]]:
    """Every way two contacts look alike, as (score, reason), strongest first."""
    return _compare(_keys(a), _keys(b), jaro_winkler)


def _compare(
    a: _Keys, b: _Keys, names_similarity: Callable[[str, str], float]
) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    if a.email == b.email:
        found.append((SAME_EMAIL, "same normalised email"))
    else:
        similar = round(jaro_winkler(a.email, b.email), 2)
        found.append((similar, f"similar email ({similar:.2f})"))
    if a.phone is not None and a.phone == b.phone:
        found.append((SAME_PHONE, "same phone"))
    company = a.person.company_id
    if a.name and b.name and company is not None and company == b.person.company_id:
        if a.name == b.name:
            found.append((SAME_NAME_AT_COMPANY, "same name at the same company"))
        else:
            similar = round(names_similarity(a.name, b.name), 2)
            found.append((similar, f"similar name at the same company ({similar:.2f})"))
    return sorted(found, key=lambda pair: -pair[0])


STEP = 500  # units of work (a contact blocked, a pair compared) between two yields


def candidates(people: Iterable[Person], min_similarity: float, first: int) -> list[Candidate]:
    """Pairs at least `min_similarity` alike, most alike first (then by ids)."""
    steps = candidates_in_steps(people, min_similarity, first)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            found: list[Candidate] = done.value
            return found


def candidates_in_steps(
    people: Iterable[Person], min_similarity: float, first: int
) -> Generator[None, None, list[Candidate]]:
    """`candidates` as a generator that yields every STEP units of work and returns the
    answer, so that a caller sharing its thread (an event loop) can let others run and stop
    when its time is up."""
    if first < 1:
        return []
    # Few objects live at once (a block of one is its member, a pair seen is one int): the
    # garbage collector's full passes, which stop everything, stay short.
    blocks: dict[Hashable, _Keys | list[_Keys]] = {}
    fuzzy: set[Hashable] = set()
    for n, person in enumerate(people, 1):
        if is_erased(person.email):
            continue
        keyed = _keys(person)
        for key, is_fuzzy in _blocks(person, keyed):
            members = blocks.get(key)
            if members is None:
                blocks[key] = keyed
            elif isinstance(members, list):
                members.append(keyed)
            else:
                blocks[key] = [members, keyed]
            if is_fuzzy:
                fuzzy.add(key)
        if n % STEP == 0:
            yield
    names: dict[tuple[str, str], float] = {}  # names repeat (Rossi, Maria) far more than emails

    def names_similarity(x: str, y: str) -> float:
        key = (x, y) if x < y else (y, x)
        found = names.get(key)
        if found is None:
            found = names[key] = jaro_winkler(x, y)
        return found

    seen: set[int] = set()  # pairs compared, as low id << 64 | high id
    best: list[tuple[float, tuple[int, int], Candidate]] = []  # heap: the worst on top
    n = 0
    for key, members in blocks.items():
        if not isinstance(members, list) or (key in fuzzy and len(members) > MAX_FUZZY_BLOCK):
            continue
        for one, other in combinations(members, 2):
            a, b = (one, other) if one.person.id < other.person.id else (other, one)
            pair = a.person.id << 64 | b.person.id
            if a.person.id == b.person.id or pair in seen:
                continue
            seen.add(pair)
            n += 1
            if n % STEP == 0:
                yield
            if len(best) == first and _at_most(a, b, names_similarity) < best[0][0]:
                continue  # cannot be among the `first` most alike: skip its Jaro-Winkler
            alike = [(s, why) for s, why in _compare(a, b, names_similarity) if s >= min_similarity]
            if not alike:
                continue
            ids = (a.person.id, b.person.id)
            found = Candidate(ids, alike[0][0], tuple(why for _, why in alike))
            entry = (found.similarity, (-ids[0], -ids[1]), found)
            if len(best) < first:
                heapq.heappush(best, entry)
            elif entry[:2] > best[0][:2]:
                heapq.heapreplace(best, entry)
    return [c for _, _, c in sorted(best, key=lambda e: (-e[0], e[2].ids))]


def _at_most(a: _Keys, b: _Keys, names_similarity: Callable[[str, str], float]) -> float:
    """An upper bound of the pair's similarity that costs less than comparing it."""
    if a.email == b.email:
        return SAME_EMAIL
    bound = _jaro_winkler_at_most(a.email, b.email)
    if a.phone is not None and a.phone == b.phone:
        bound = max(bound, SAME_PHONE)
    company = a.person.company_id
    if a.name and b.name and company is not None and company == b.person.company_id:
        bound = max(bound, 1.0 if a.name == b.name else names_similarity(a.name, b.name))
    return bound + 0.01  # the scores are rounded to two decimals


def _jaro_winkler_at_most(a: str, b: str) -> float:
    """Jaro-Winkler cannot exceed this: at most the characters the two share can match."""
    common = 0  # the size of the two strings' multisets' intersection
    for ch in set(a):
        here, there = a.count(ch), b.count(ch)
        common += here if here < there else there
    if common == 0:
        return 0.0
    jaro = (common / len(a) + common / len(b) + 1) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return min(1.0, jaro + prefix * 0.1 * (1 - jaro))

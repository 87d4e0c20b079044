"""Saved lists: DYNAMIC lists hold a `ContactFilter` (membership is whatever matches it now);
STATIC lists hold explicit members. Membership of one changed contact is decided here by the
domain predicate; list queries compile the same filter to SQL, and a property test keeps the
two in agreement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.contacts import ContactView, is_erased
from domain.errors import InvalidInput
from domain.filters import ContactFilter, Now, Predicate, predicate, validate_filter

MAX_NAME = 100
MAX_DESCRIPTION = 500


class ListKind(StrEnum):
    DYNAMIC = "DYNAMIC"
    STATIC = "STATIC"


@dataclass(frozen=True)
class ContactList:
    id: int
    name: str
    kind: ListKind
    filter: ContactFilter | None
    description: str | None
    created_at: datetime
    updated_at: datetime


def clean_name(name: str | None) -> str:
    """A name is required: null (an update's explicit `name: null`) is refused like blank."""
    cleaned = " ".join(name.split()) if name is not None else ""
    if not cleaned:
        raise InvalidInput("a list needs a name", field="name")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(f"list names have at most {MAX_NAME} characters", field="name")
    return cleaned


def clean_description(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"descriptions have at most {MAX_DESCRIPTION} characters", field="description"
        )
    return text.strip()


def check_definition(kind: ListKind, node: ContactFilter | None) -> None:
    """A dynamic list needs a valid filter; a static one takes none."""
    if kind is ListKind.DYNAMIC:
        if node is None:
            raise InvalidInput("a dynamic list needs a filter", field="filter")
        validate_filter(node)
    elif node is not None:
        raise InvalidInput(
            "a static list has explicit members, not a filter; use a dynamic list",
            field="filter",
        )


@dataclass(frozen=True)
class Membership:
    """Which dynamic lists a contact belongs to, decided for many contacts at once."""

    tests: Mapping[int, Predicate]

    @classmethod
    def of(cls, lists: Iterable[ContactList], now: datetime | Now) -> Membership:
        return cls(
            {
                lst.id: predicate(lst.filter, now)
                for lst in lists
                if lst.kind is ListKind.DYNAMIC and lst.filter is not None
            }
        )

    def lists_of(self, view: ContactView) -> set[int]:
        """The dynamic lists whose filter selects the contact; none for an erased one."""
        if is_erased(view.email):
            return set()
        return {list_id for list_id, test in self.tests.items() if test(view)}

    def changes(self, view: ContactView, before: set[int]) -> tuple[set[int], set[int]]:
        """(entered, left) dynamic lists for a contact that was in `before`."""
        now_in = self.lists_of(view)
        dynamic = before & self.tests.keys()
        return now_in - dynamic, dynamic - now_in

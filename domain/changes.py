"""What the writes of one unit of work touched, recorded by the repositories as they write
and read once by the settle step at commit (place tiers and segments, decide lists, run
automations). No service calls that step: a write that records nothing settles nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.fit import FIT_ATTRIBUTES

# Contact columns that fit rules read: a change to one of them re-computes fit points.
FIT_COLUMNS = frozenset(
    {a for a in FIT_ATTRIBUTES if not a.startswith("company_")} | {"company_id"}
)


@dataclass
class Changes:
    """Contacts to place again (`placed`), of which those whose fit inputs may have changed
    (`attributes`); tags given or taken ((contact, tag id, added?), in order); score
    deltas per contact (for SCORE_CHANGED); a span of contact ids whose tier policy or
    segment scheme changed and nothing else (placed set-based); and the time of the
    latest write (`now`), which the settle step stamps its work with."""

    placed: set[int] = field(default_factory=set)
    attributes: set[int] = field(default_factory=set)
    tags: list[tuple[int, int, bool]] = field(default_factory=list)
    scores: dict[int, int] = field(default_factory=dict)
    span: tuple[int, int] | None = None
    now: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.placed or self.tags or self.span)

    def _at(self, now: datetime | None) -> None:
        if now is not None and (self.now is None or now > self.now):
            self.now = now

    def touch(self, ids: Iterable[int], now: datetime | None, *, attributes: bool = False) -> None:
        """These contacts changed (with `attributes`: something fit rules read)."""
        wanted = set(ids)
        self.placed |= wanted
        if attributes:
            self.attributes |= wanted
        self._at(now)

    def scored(self, contact_id: int, delta: int, now: datetime | None) -> None:
        self.scores[contact_id] = self.scores.get(contact_id, 0) + delta
        self.placed.add(contact_id)
        self._at(now)

    def tagged(self, contact_id: int, tag_id: int, added: bool, now: datetime | None) -> None:
        self.tags.append((contact_id, tag_id, added))
        self.placed.add(contact_id)
        self._at(now)

    def rules_changed(self, low: int, high: int, now: datetime) -> None:
        """The policy or scheme changed for contacts low..high, nothing else about them."""
        self.span = (low, high) if self.span is None else (
            min(low, self.span[0]), max(high, self.span[1])
        )  # fmt: skip
        self._at(now)

    def forget(self, ids: Iterable[int]) -> None:
        """These contacts are gone: nothing to place."""
        gone = set(ids)
        self.placed -= gone
        self.attributes -= gone
        self.tags = [t for t in self.tags if t[0] not in gone]
        for cid in gone:
            self.scores.pop(cid, None)

    def take(self) -> Changes:
        """Everything recorded so far, leaving this record empty for what settling writes."""
        taken = Changes(self.placed, self.attributes, self.tags, self.scores, self.span, self.now)
        self.placed, self.attributes, self.tags, self.scores = set(), set(), [], {}
        self.span = None
        return taken

    def absorb(self, later: Changes) -> None:
        """Adds what was recorded after `take` (e.g. fit points written while settling)."""
        self.placed |= later.placed
        self.attributes |= later.attributes
        self.tags.extend(later.tags)
        for cid, delta in later.scores.items():
            self.scores[cid] = self.scores.get(cid, 0) + delta
        self._at(later.now)

"""KPIs per tier, segment or list over a time window [start, end).

Per group: the contacts in it now that were created before the window ends, their
average score, the conversion rate (the share of them with an interaction of a
conversion type in the window: `SEGMENTO_CONVERSION_TYPES`, comma-separated, default
`PURCHASE`), the email open rate (EMAIL_OPEN / EMAIL_SENT interactions of those contacts
in the window; null without sends) and their tier transitions in the window. Erased
contacts keep counting (erasure keeps score, tier, segment and interaction types).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import InvalidInput
from domain.kpis import KpiCounts, Window
from services.ports import UnitOfWorkFactory

DEFAULT_CONVERSION_TYPES = ("PURCHASE",)
EMAIL_OPEN, EMAIL_SENT = "EMAIL_OPEN", "EMAIL_SENT"


class KpiGroup(StrEnum):
    TIER = "TIER"
    SEGMENT = "SEGMENT"
    LIST = "LIST"


@dataclass(frozen=True)
class KpiRow:
    key: str | None  # the tier or segment code, or the list id; None: contacts without one
    name: str | None  # the list's name
    contacts: int
    average_score: float | None
    conversions: int
    conversion_rate: float | None
    email_sends: int
    email_opens: int
    email_open_rate: float | None
    tier_transitions: int


def conversion_types() -> tuple[str, ...]:
    raw = os.environ.get("SEGMENTO_CONVERSION_TYPES", "")
    chosen = tuple(t.strip().upper() for t in raw.split(",") if t.strip())
    return chosen or DEFAULT_CONVERSION_TYPES


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(key: str | None, name: str | None, c: KpiCounts) -> KpiRow:
    average = round(c.score_sum / c.contacts, 2) if c.contacts else None
    return KpiRow(
        key, name, c.contacts, average, c.converted, _ratio(c.converted, c.contacts),
        c.sends, c.opens, _ratio(c.opens, c.sends), c.tier_transitions,
    )  # fmt: skip


async def kpis(
    uows: UnitOfWorkFactory, group: KpiGroup, start: datetime, end: datetime, now: datetime
) -> list[KpiRow]:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("`from` and `to` need a UTC offset", field="from")
    if end <= start:
        raise InvalidInput("`to` must be after `from`", field="to")
    window = Window(start, end, conversion_types(), EMAIL_OPEN, EMAIL_SENT)
    async with uows() as uow:
        queries = uow.kpis
        if group is KpiGroup.LIST:
            return [
                _row(
                    str(lst.id),
                    lst.name,
                    await queries.within(lst.id, window),
                )
                for lst in await uow.lists.all()
            ]
        found = await queries.by_column(group.value.lower(), window)
    return [_row(k, None, found[k]) for k in sorted(found, key=lambda k: (k is None, k or ""))]

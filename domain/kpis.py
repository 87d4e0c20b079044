"""What KPIs count over a time window, per group of contacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    conversion_types: Sequence[str]
    open_type: str
    sent_type: str


@dataclass
class KpiCounts:
    contacts: int = 0
    score_sum: int = 0
    converted: int = 0
    opens: int = 0
    sends: int = 0
    tier_transitions: int = 0

"""Score decay, from a versioned policy.

Half-life: each behavioural award (a RULE ledger entry) is worth its points halved once for
every full `half_life_days` of its age, rounding towards zero; a decay run writes the
difference between that and what the ledger holds, so it is exact whenever it runs and
running it twice changes nothing.
Inactivity: after `inactivity_days` without activity (or since creation for a contact that
never acted) a contact loses `inactivity_points` once per inactive spell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInput
from domain.scoring import MAX_POINTS


@dataclass(frozen=True)
class DecayPolicy:
    version: int
    half_life_days: int | None
    inactivity_days: int | None
    inactivity_points: int


def validate_policy(half_life_days: int | None, inactivity_days: int | None, points: int) -> None:
    for name, days in (("halfLifeDays", half_life_days), ("inactivityDays", inactivity_days)):
        if days is not None and not 1 <= days <= 3650:
            raise InvalidInput(f"{name} must be between 1 and 3650 days", field=name)
    if not 0 <= points <= MAX_POINTS:
        raise InvalidInput(
            f"inactivityPoints is the number of points lost, 0 to {MAX_POINTS}",
            field="inactivityPoints",
        )
    if inactivity_days is not None and points == 0:
        raise InvalidInput(
            "give inactivityPoints > 0 with inactivityDays", field="inactivityPoints"
        )


def halved(points: int, age: timedelta, half_life_days: int | None) -> int:
    if half_life_days is None or age < timedelta(days=half_life_days):
        return points
    halvings = age // timedelta(days=half_life_days)
    if halvings >= 63:
        return 0
    magnitude = abs(points) >> halvings
    return magnitude if points >= 0 else -magnitude


def behaviour_target(
    awards: Iterable[tuple[int, datetime]], now: datetime, policy: DecayPolicy
) -> int:
    """What the behavioural awards (points, when) are worth now."""
    return sum(halved(points, now - at, policy.half_life_days) for points, at in awards)


def halving_delta(
    awards: Iterable[tuple[int, datetime]], written_decay: int, now: datetime, policy: DecayPolicy
) -> int:
    """The DECAY entry to write now (0 when the ledger is already right)."""
    awards = list(awards)
    raw = sum(points for points, _ in awards)
    return behaviour_target(awards, now, policy) - raw - written_decay


def inactivity_penalty(
    activity_reference: datetime,
    last_penalty_at: datetime | None,
    now: datetime,
    policy: DecayPolicy,
) -> int:
    """-points when the contact has been inactive long enough and not yet penalised for it."""
    if policy.inactivity_days is None or policy.inactivity_points == 0:
        return 0
    if now - activity_reference < timedelta(days=policy.inactivity_days):
        return 0
    if last_penalty_at is not None and last_penalty_at >= activity_reference:
        return 0
    return -policy.inactivity_points

"""Any sequence of interactions, rule edits, manual adjustments and decays leaves every
contact's score equal to its ledger sum and to an independent re-computation (`Model`)."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.bootstrap import unit_of_work_factory
from domain.scoring import RuleStatus, ScoringRule
from persistence.db import Database
from services import ledger, rules
from services.decay import run_decay
from services.interactions import InteractionInput, record_interactions

EXAMPLES = int(os.environ.get("SCORE_INVARIANT_EXAMPLES", "100"))
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
EMAILS = ["a@x.it", "b@x.it", "c@x.it"]
TYPES = ["EMAIL_OPEN", "DEMO_REQUEST", "UNSUBSCRIBE", "UNKNOWN_TYPE"]
EDITABLE = [1, 3, 8]  # email open, unsubscribe, demo request (presets)
HALF_LIFE_DAYS = 90  # the seeded decay policy (version 1): no inactivity penalty


@dataclass(frozen=True)
class Interact:
    contact: int
    type: str
    hours_ago: int
    key: int


@dataclass(frozen=True)
class EditRule:
    rule_id: int
    points: int
    active: bool
    cap: int | None


@dataclass(frozen=True)
class Adjust:
    contact: int
    points: int


@dataclass(frozen=True)
class Decay:
    days_later: int


operations = st.one_of(
    st.builds(
        Interact, st.integers(0, 1), st.sampled_from(TYPES), st.integers(0, 30), st.integers(0, 15)
    ),
    st.builds(
        Interact, st.integers(0, 1), st.sampled_from(TYPES), st.integers(0, 30), st.integers(0, 15)
    ),
    st.builds(
        EditRule,
        st.sampled_from(EDITABLE),
        st.integers(-50, 50),
        st.booleans(),
        st.sampled_from([None, 10, 25]),
    ),
    st.builds(Adjust, st.integers(0, 2), st.integers(-30, 30).filter(bool)),
    st.builds(Decay, st.integers(0, 120)),
)


@dataclass
class Awarded:
    points: int
    at: datetime
    valued_at: datetime | None = None  # the last decay run since it was awarded


class Model:
    """An independent, deliberately plain re-computation of the scores, written from the
    rules as domain/scoring.py and domain/decay.py state them (none of their functions is
    used here):
    - an interaction earns the points of every ACTIVE rule of its type (the rules edited
      here name no page, and the interactions carry none);
    - a daily cap bounds what one rule gives one contact in one UTC day: the day's total of
      that rule for that contact stays within -cap..cap, an award being cut towards zero
      (never past it) just enough to keep it there;
    - a decay run at time T values every award recorded before it at its points halved once
      for every full half-life in its age T - at, rounded towards zero; awards recorded
      after the last run count in full until the next one;
    - manual adjustments count as they are.
    """

    def __init__(self, presets: list[ScoringRule]) -> None:
        self.rules = {r.id: r for r in presets}
        self.awards: dict[int, list[Awarded]] = defaultdict(list)
        self.day_totals: dict[tuple[int, int, date], int] = defaultdict(int)
        self.other: dict[int, int] = defaultdict(int)
        self.keys: set[int] = set()
        self.known: set[int] = set()

    def interact(self, op: Interact, at: datetime) -> None:
        if op.key in self.keys:
            return
        self.keys.add(op.key)
        self.known.add(op.contact)
        utc_day = at.astimezone(UTC).date()
        for rule in self.rules.values():
            if rule.status != RuleStatus.ACTIVE or rule.interaction_type != op.type:
                continue
            points = rule.points
            if rule.daily_cap is not None:
                total = self.day_totals[(op.contact, rule.id, utc_day)]
                if points > 0:
                    points = max(0, min(points, rule.daily_cap - total))
                else:
                    points = min(0, max(points, -rule.daily_cap - total))
            self.day_totals[(op.contact, rule.id, utc_day)] += points
            self.awards[op.contact].append(Awarded(points, at))

    def decay(self, now: datetime) -> None:
        for awards in self.awards.values():
            for award in awards:
                award.valued_at = now

    def score(self, contact: int) -> int:
        total = self.other[contact]
        for a in self.awards[contact]:
            total += a.points if a.valued_at is None else halve(a.points, a.valued_at - a.at)
        return total


def halve(points: int, age: timedelta) -> int:
    """Halved once per full half-life of the age, rounded towards zero."""
    halvings = int(age.total_seconds()) // (HALF_LIFE_DAYS * 24 * 3600)
    value = abs(points)
    for _ in range(halvings):
        value //= 2
    return value if points >= 0 else -value


async def _apply(uows, model: Model, op, now: datetime) -> datetime:
    if isinstance(op, Interact):
        at = now - timedelta(hours=op.hours_ago)
        item = InteractionInput(
            type=op.type, occurred_at=at, idempotency_key=f"k{op.key}", email=EMAILS[op.contact]
        )
        [result] = await record_interactions(uows, [item], now)
        assert result.error is None
        model.interact(op, at)
    elif isinstance(op, EditRule):
        status = RuleStatus.ACTIVE if op.active else RuleStatus.SUSPENDED
        changes = {"points": op.points, "status": status, "daily_cap": op.cap}
        await rules.update_rule(uows, op.rule_id, changes, now)
        model.rules[op.rule_id] = replace(
            model.rules[op.rule_id], points=op.points, status=status, daily_cap=op.cap
        )
    elif isinstance(op, Adjust):
        contact_id = await _contact_id(uows, op.contact)
        if contact_id is None:
            return now
        await ledger.adjust_score(uows, contact_id, op.points, "test", now)
        model.other[op.contact] += op.points
    else:
        now += timedelta(days=op.days_later)
        await run_decay(uows, now)
        model.decay(now)
    return now


async def _contact_id(uows, index: int) -> int | None:
    async with uows() as uow:
        found = await uow.contacts.get_by_email(EMAILS[index])
    return found.id if found else None


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, max_size=30))
@example(  # an odd negative award halves towards zero: -25 -> -12
    ops=[EditRule(3, -25, True, None), Interact(0, "UNSUBSCRIBE", 0, 1), Decay(91)]
)
@example(
    ops=[EditRule(1, 9, True, 10), Interact(0, "EMAIL_OPEN", 0, 1), Interact(0, "EMAIL_OPEN", 1, 2)]
)
@example(
    ops=[Interact(0, "DEMO_REQUEST", 0, 1), Decay(100), Interact(0, "EMAIL_OPEN", 0, 2), Decay(91)]
)
@example(
    ops=[
        Interact(1, "UNSUBSCRIBE", 5, 1),
        Adjust(1, 7),
        Decay(200),
        Interact(1, "UNSUBSCRIBE", 0, 1),
    ]
)
async def test_score_equals_ledger_sum_and_the_pure_recomputation(
    database_url, reset_database, ops
):
    await reset_database()
    db = Database(database_url)
    uows = unit_of_work_factory(db)
    try:
        model = Model(await rules.list_rules(uows))
        now = START
        for op in ops:
            now = await _apply(uows, model, op, now)
        for index, email in enumerate(EMAILS):
            async with uows() as uow:
                contact = await uow.contacts.get_by_email(email)
            if contact is None:
                assert index not in model.known
                continue
            sums = await ledger.ledger_sums(uows, [contact.id])
            assert contact.score == sums.get(contact.id, 0) == model.score(index), (email, ops)
    finally:
        await db.dispose()

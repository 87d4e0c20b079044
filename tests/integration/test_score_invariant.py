"""Any sequence of interactions, rule edits, manual adjustments and decays leaves every
contact's score equal to its ledger sum and to a pure re-computation from the domain."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.bootstrap import unit_of_work_factory
from domain.decay import DecayPolicy, halving_delta
from domain.scoring import RuleStatus, ScoringRule, award, day_bounds
from persistence.db import Database
from services import ledger, rules
from services.decay import run_decay
from services.interactions import InteractionInput, record_interactions

EXAMPLES = int(os.environ.get("SCORE_INVARIANT_EXAMPLES", "100"))
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
EMAILS = ["a@x.it", "b@x.it", "c@x.it"]
TYPES = ["EMAIL_OPEN", "DEMO_REQUEST", "UNSUBSCRIBE", "UNKNOWN_TYPE"]
EDITABLE = [1, 3, 8]  # email open, unsubscribe, demo request (presets)
POLICY = DecayPolicy(1, 90, None, 0)


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


class Model:
    """The pure re-computation: the domain functions applied to the same sequence."""

    def __init__(self, presets: list[ScoringRule]) -> None:
        self.rules = {r.id: r for r in presets}
        self.awards: dict[int, list[tuple[int, int, datetime]]] = defaultdict(list)
        self.other: dict[int, int] = defaultdict(int)
        self.decayed: dict[int, int] = defaultdict(int)
        self.keys: set[int] = set()
        self.known: set[int] = set()

    def interact(self, op: Interact, at: datetime) -> None:
        if op.key in self.keys:
            return
        self.keys.add(op.key)
        self.known.add(op.contact)
        day = day_bounds(at)[0]
        used: dict[int, int] = defaultdict(int)
        for rule_id, points, when in self.awards[op.contact]:
            if day_bounds(when)[0] == day:
                used[rule_id] += points
        for a in award(self.rules.values(), op.type, None, used):
            self.awards[op.contact].append((a.rule_id, a.points, at))

    def decay(self, now: datetime) -> None:
        for contact, awards in self.awards.items():
            pairs = [(points, when) for _, points, when in awards]
            self.decayed[contact] += halving_delta(pairs, self.decayed[contact], now, POLICY)

    def score(self, contact: int) -> int:
        awarded = sum(points for _, points, _ in self.awards[contact])
        return awarded + self.other[contact] + self.decayed[contact]


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

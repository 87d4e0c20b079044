"""Score decay runs (services.decay) on the fake unit of work: half-life and inactivity
entries in the ledger, exact and idempotent, and every contact of a chunk re-placed."""

from __future__ import annotations

from datetime import timedelta

from domain.decay import DecayPolicy
from domain.scoring import LedgerEntry, LedgerReason
from services.decay import DecayRun, run_decay
from tests.fakes import T0, FakeUnitOfWorkFactory, contact

DAY = timedelta(days=1)


def award(entry_id: int, contact_id: int, points: int, at=T0) -> LedgerEntry:
    return LedgerEntry(entry_id, contact_id, LedgerReason.RULE, None, "rule", points, 1, None,
                       None, None, at)  # fmt: skip


def decay_entries(uows: FakeUnitOfWorkFactory) -> list[tuple[int, str | None, int]]:
    return [(e.contact_id, e.detail, e.points) for e in uows.store.ledger
            if e.reason is LedgerReason.DECAY]  # fmt: skip


def with_awards(*awards: LedgerEntry, policy=DecayPolicy(2, 30, None, 0)) -> FakeUnitOfWorkFactory:
    """Contacts 1-3 whose scores are their awards, under `policy`."""
    uows = FakeUnitOfWorkFactory().seed(policy, *awards)
    for cid in (1, 2, 3):
        score = sum(a.points for a in awards if a.contact_id == cid)
        uows.seed(contact(cid, score=score, last_activity_at=T0))
    return uows


async def test_an_award_loses_half_its_points_per_full_half_life():
    uows = with_awards(award(1, 1, 40), award(2, 2, -25), award(3, 3, 7, at=T0 + 5 * DAY))

    run = await run_decay(uows, T0 + 30 * DAY)

    assert decay_entries(uows) == [(1, "HALF_LIFE", -20), (2, "HALF_LIFE", 13)]
    assert run == DecayRun(policy_version=2, contacts_changed=2, points=-7)
    assert [uows.store.contacts[c].score for c in (1, 2, 3)] == [20, -12, 7]


async def test_a_later_run_writes_only_the_further_halving():
    uows = with_awards(award(1, 1, 40))

    await run_decay(uows, T0 + 30 * DAY)
    await run_decay(uows, T0 + 59 * DAY)
    await run_decay(uows, T0 + 60 * DAY)

    assert decay_entries(uows) == [(1, "HALF_LIFE", -20), (1, "HALF_LIFE", -10)]
    assert uows.store.contacts[1].score == 10


async def test_a_second_run_at_the_same_moment_writes_nothing():
    uows = with_awards(award(1, 1, 40), policy=DecayPolicy(2, 30, 20, 5))
    first = await run_decay(uows, T0 + 45 * DAY)

    again = await run_decay(uows, T0 + 45 * DAY)

    assert (first.contacts_changed, first.points) == (3, -20 - 5 * 3)
    assert again == DecayRun(2, 0, 0)
    assert len(decay_entries(uows)) == 4


async def test_an_inactive_contact_is_penalised_once_per_inactive_spell():
    policy = DecayPolicy(2, None, 30, 5)
    uows = with_awards(policy=policy)
    uows.seed(contact(4, last_activity_at=T0 + 20 * DAY))
    uows.seed(contact(5, created_at=T0 - 40 * DAY))  # never acted: counted from creation

    await run_decay(uows, T0 + 31 * DAY)
    await run_decay(uows, T0 + 45 * DAY)

    assert decay_entries(uows) == [(c, "INACTIVITY", -5) for c in (1, 2, 3, 5)]
    [entry] = [e for e in uows.store.ledger if e.contact_id == 5]
    assert (entry.label, entry.at) == ("decay: inactivity (policy v2)", T0 + 31 * DAY)


async def test_activity_after_a_penalty_starts_a_new_spell():
    uows = with_awards(policy=DecayPolicy(2, None, 30, 5))
    await run_decay(uows, T0 + 31 * DAY)
    uows.seed(contact(1, last_activity_at=T0 + 32 * DAY, score=-5))

    await run_decay(uows, T0 + 63 * DAY)

    assert [e.points for e in uows.store.ledger if e.contact_id == 1] == [-5, -5]


async def test_decay_touches_every_contact_of_the_chunk():
    uows = with_awards(award(1, 1, 40))

    await run_decay(uows, T0 + DAY)  # nothing to halve yet

    [chunk] = uows.committed
    assert chunk.changes.placed == {1, 2, 3} and chunk.changes.now == T0 + DAY
    assert chunk.changes.scores == {} and uows.store.ledger == [award(1, 1, 40)]

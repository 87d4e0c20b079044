"""Automations firing (services.automations.react / run_firings, domain.automations) on the
fake unit of work: which events fire which automation, the condition, consent and the chain
bound, and what the actions do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import events
from domain.automations import (
    MAX_CHAIN_DEPTH,
    Action,
    ActionKind,
    Automation,
    RunOutcome,
    Trigger,
    TriggerKind,
)
from domain.events import EventType
from domain.filters import ContactFilter
from services.automations import inactive_firings, react, run_firings
from tests.fakes import T0, FakeUnitOfWork, FakeUnitOfWorkFactory, automation, contact, tag, view_of

NOW = T0 + timedelta(hours=1)
ADD_HOT = Action(ActionKind.ADD_TAG, tag="hot")
ALERT = Action(ActionKind.RAISE_ALERT, message="call them", level="WARNING")
LAZIO = ContactFilter(region_in=("Lazio",))


def uows_with(*automations: Automation) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory().seed(
        contact(1, region="Lazio", score=55),
        contact(2, region="Veneto", score=55),
        contact(3, region="Lazio", score=55, consent_profiling=False),
        tag(1, "fiera"),
        tag(2, "hot"),
        *automations,
    )


def tag_added(uows: FakeUnitOfWorkFactory, cid: int, code: str = "fiera") -> events.Event:
    return events.tag_changed(view_of(uows.store.contacts[cid]), code, True, T0)


async def reacting(uows: FakeUnitOfWorkFactory, *happened: events.Event, depth=0) -> FakeUnitOfWork:
    async with uows(write=True) as uow:
        await react(uow, happened, NOW, depth)
        await uow.commit()
    return uow


def outcomes(uows: FakeUnitOfWorkFactory) -> list[tuple[int, int, str]]:
    return [(r["automation_id"], r["contact_id"], r["outcome"]) for r in uows.store.runs]


async def test_a_tag_added_event_fires_the_automation_watching_that_tag():
    uows = uows_with(
        automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT),
        automation(2, Trigger(TriggerKind.TAG_ADDED, tag="hot"), ALERT),
    )

    await reacting(uows, tag_added(uows, 1))

    assert outcomes(uows) == [(1, 1, "DONE")]
    [run] = uows.store.runs
    assert run["trigger"] == "TAG_ADDED fiera (by TAG_ADDED)" and run["depth"] == 0
    assert run["actions"] == [{**vars(ADD_HOT), "kind": "ADD_TAG", "result": "tag added"}]


async def test_adding_a_tag_records_a_tagged_change_for_settling():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT))

    uow = await reacting(uows, tag_added(uows, 1))

    assert uow.changes.tags == [(1, 2, True)]
    assert uows.store.held[(1, 2)].points == 1


async def test_a_list_entered_event_fires_the_automation_of_that_list_only():
    uows = uows_with(
        automation(1, Trigger(TriggerKind.LIST_ENTERED, list_id=4), ADD_HOT),
        automation(2, Trigger(TriggerKind.LIST_ENTERED, list_id=5), ADD_HOT),
        automation(3, Trigger(TriggerKind.LIST_LEFT, list_id=4), ADD_HOT),
    )
    entered = events.list_changed(view_of(uows.store.contacts[2]), 4, "Fiera 2026", True, T0)

    await reacting(uows, entered)

    assert outcomes(uows) == [(1, 2, "DONE")]


async def test_a_score_crossing_its_threshold_upwards_fires_and_a_rise_above_it_does_not():
    uows = uows_with(
        automation(1, Trigger(TriggerKind.SCORE_CROSSED_ABOVE, threshold=50), ADD_HOT),
        automation(2, Trigger(TriggerKind.SCORE_CROSSED_BELOW, threshold=50), ADD_HOT),
    )
    crossed = events.score_changed(view_of(uows.store.contacts[1]), 10, T0)  # 45 -> 55
    above = events.score_changed(view_of(uows.store.contacts[2]), 5, T0)  # 50 -> 55

    await reacting(uows, crossed, above)

    assert outcomes(uows) == [(1, 1, "DONE")]


async def test_an_event_whose_contact_misses_the_condition_fires_nothing():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT,
                                condition=LAZIO))  # fmt: skip

    await reacting(uows, tag_added(uows, 2), tag_added(uows, 1))

    assert outcomes(uows) == [(1, 1, "DONE")]


async def test_an_inactive_contact_missing_the_condition_is_logged_condition_unmet():
    uows = uows_with(automation(1, Trigger(TriggerKind.INACTIVE, days=30), ADD_HOT,
                                condition=LAZIO))  # fmt: skip
    later = T0 + timedelta(days=31)
    async with uows(write=True) as uow:
        [inactive] = await uow.automations.all()
        await run_firings(uow, await inactive_firings(uow, inactive, later), later, 0)
        await uow.commit()

    assert outcomes(uows) == [(1, 1, "DONE"), (1, 2, "CONDITION_UNMET"), (1, 3, "NO_CONSENT")]
    assert set(uows.store.held) == {(1, 2)}


async def test_a_contact_without_profiling_consent_is_logged_and_left_alone():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT, ALERT))

    uow = await reacting(uows, tag_added(uows, 3))

    assert outcomes(uows) == [(1, 3, "NO_CONSENT")]
    assert uows.store.runs[0]["actions"] == []
    assert uow.changes.tags == [] and uow.published == []


async def test_at_the_chain_bound_a_firing_is_logged_chain_limit_and_runs_nothing():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT))

    uow = await reacting(uows, tag_added(uows, 1), depth=MAX_CHAIN_DEPTH)

    assert outcomes(uows) == [(1, 1, "CHAIN_LIMIT")]
    assert uows.store.runs[0]["depth"] == MAX_CHAIN_DEPTH
    assert uow.changes.tags == [] and uows.store.held == {}


async def test_one_step_below_the_chain_bound_the_actions_still_run():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ADD_HOT))

    await reacting(uows, tag_added(uows, 1), depth=MAX_CHAIN_DEPTH - 1)

    assert outcomes(uows) == [(1, 1, "DONE")]


async def test_raise_alert_queues_an_alert_event_for_the_contact():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), ALERT))

    uow = await reacting(uows, tag_added(uows, 1))

    [alert] = uow.published
    assert (alert.type, alert.contact_id, alert.at) == (EventType.ALERT, 1, NOW)
    assert {k: alert.payload[k] for k in ("automation_id", "message", "level")} == {
        "automation_id": 1, "message": "call them", "level": "WARNING"
    }  # fmt: skip
    assert alert.payload["contact"]["region"] == "Lazio"


async def test_an_action_on_a_deleted_tag_fails_the_run_and_skips_the_rest():
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"),
                                Action(ActionKind.ADD_TAG, tag="gone"), ALERT))  # fmt: skip

    uow = await reacting(uows, tag_added(uows, 1))

    assert outcomes(uows) == [(1, 1, RunOutcome.FAILED.value)]
    assert uows.store.runs[0]["actions"][0]["result"] == "tag 'gone' no longer exists"
    assert uow.published == []


@pytest.mark.parametrize("status", ["HOT", "COLD"])
async def test_set_lead_status_pins_it_and_records_the_contact_for_placing(status):
    action = Action(ActionKind.SET_LEAD_STATUS, lead_status=status)
    uows = uows_with(automation(1, Trigger(TriggerKind.TAG_ADDED, tag="fiera"), action))

    uow = await reacting(uows, tag_added(uows, 1))

    assert uows.store.contacts[1].lead_status == status and uows.store.pinned[1] == status
    assert 1 in uow.changes.placed and uow.changes.attributes == set()

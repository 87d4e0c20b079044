"""Automations: definitions, and reacting to what a write just did.

`react` runs inside the write's transaction, after the changed contacts were re-placed:
the events of that step fire automations, whose actions may change contacts again (tags,
lead status). The settle step (`services.settle`, run at commit) repeats place → lists →
automations until nothing changes, or until the chain bound, where the run log records
CHAIN_LIMIT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from domain import events
from domain.automations import (
    MAX_CHAIN_DEPTH,
    Action,
    ActionKind,
    Automation,
    AutomationStatus,
    Firing,
    RunOutcome,
    Trigger,
    TriggerKind,
    action_to_dict,
    condition_holds,
    firings,
    validate_automation,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import Event, view_to_dict
from domain.filters import ContactFilter, tag_codes
from domain.lists import clean_description, clean_name
from domain.tags import Tag
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.versioned import ByVersion

Definition = tuple[Trigger, ContactFilter | None, Sequence[Action]]

_active_by_version: ByVersion[list[Automation]] = ByVersion()


async def _active(uow: UnitOfWork) -> list[Automation]:
    """Active automations, parsed once per set of definitions."""

    async def build() -> list[Automation]:
        everything = await uow.automations.all()
        return [a for a in everything if a.status is AutomationStatus.ACTIVE]

    return await _active_by_version.get(uow, await uow.automations.version(), build)


async def react(uow: UnitOfWork, happened: Sequence[Event], now: datetime, depth: int) -> None:
    """Runs the automations these events fire (the contacts their actions change are
    recorded by the repositories and settled again, which may fire more at `depth + 1`)."""
    if not happened:
        return
    automations = await _active(uow)
    if not automations:
        return
    fired = firings(automations, happened, now)
    if fired:
        await run_firings(uow, fired, now, depth)


async def run_firings(uow: UnitOfWork, fired: Sequence[Firing], now: datetime, depth: int) -> None:
    """Runs each firing's actions (unless at the chain bound or without consent) and logs
    every run."""
    refused = await uow.contacts.without_profiling_consent({f.contact_id for f in fired})
    runs = []
    for firing in fired:
        cid = firing.contact_id
        if firing.outcome is not RunOutcome.DONE:
            pass  # decided before running (e.g. CONDITION_UNMET): logged only
        elif depth >= MAX_CHAIN_DEPTH:
            firing.outcome = RunOutcome.CHAIN_LIMIT
        elif cid in refused:
            firing.outcome = RunOutcome.NO_CONSENT
        else:
            await _run(uow, firing, now)
        runs.append(_run_row(firing, depth, now))
    await uow.automations.log_runs(runs)


def _run_row(firing: Firing, depth: int, now: datetime) -> dict[str, Any]:
    automation = firing.automation
    return {
        "automation_id": automation.id,
        "contact_id": firing.contact_id,
        "trigger": f"{automation.trigger.describe()} (by {firing.cause})"[:300],
        "depth": depth,
        "outcome": firing.outcome.value,
        "actions": firing.results,
        "at": now,
    }


async def _run(uow: UnitOfWork, firing: Firing, now: datetime) -> None:
    """Runs the actions in order; the first that cannot run fails the run (later actions
    are skipped, earlier ones stay: they are part of the same transaction as the trigger,
    which is kept)."""
    for action in firing.automation.actions:
        try:
            detail = await _act(uow, firing, action, now)
        except _ActionFailed as failure:
            firing.results.append({**action_to_dict(action), "result": str(failure)})
            firing.outcome = RunOutcome.FAILED
            break
        firing.results.append({**action_to_dict(action), "result": detail})


class _ActionFailed(Exception):
    pass


async def _tag(uow: UnitOfWork, code: str) -> Tag:
    tag = await uow.tags.get_by_code(code)
    if tag is None:
        raise _ActionFailed(f"tag {code!r} no longer exists")
    return tag


async def _act(uow: UnitOfWork, firing: Firing, action: Action, now: datetime) -> str:
    cid = firing.contact_id
    if action.kind is ActionKind.ADD_TAG:
        assert action.tag is not None
        tag = await _tag(uow, action.tag)
        added = await uow.tags.add_points(cid, tag.id, 1, now)
        return "tag added" if added else "tag point added"
    if action.kind is ActionKind.REMOVE_TAG:
        assert action.tag is not None
        tag = await _tag(uow, action.tag)
        if not await uow.tags.remove(cid, tag.id):
            return "contact did not have the tag"
        return "tag removed"
    if action.kind is ActionKind.SET_LEAD_STATUS:
        status = action.lead_status
        await uow.contacts.update(cid, {"lead_status": status, "lead_status_pinned": status}, now)
        return f"lead status pinned to {status}"
    view = firing.view
    if view is None:
        raise _ActionFailed("the trigger carries no contact")
    automation = firing.automation
    if action.kind is ActionKind.RAISE_ALERT:
        assert action.message is not None
        alert = events.alert(view, (automation.id, automation.name), action.message,
                             action.level, now)  # fmt: skip
        uow.events.add([alert])
        return "alert raised"
    assert action.kind is ActionKind.CALL_WEBHOOK and action.webhook_id is not None
    body = {
        "automation": {"id": automation.id, "name": automation.name},
        "trigger": automation.trigger.describe(),
        "cause": {"type": firing.cause, "at": firing.at.isoformat()},
        "contact": view_to_dict(view),
    }
    delivery = await uow.webhooks.enqueue(action.webhook_id, "AUTOMATION", body, cid, now)
    if delivery is None:
        raise _ActionFailed(f"webhook {action.webhook_id} is gone or inactive")
    return f"webhook delivery {delivery} queued"


# -- definitions --------------------------------------------------------------------------


async def _check_references(uow: UnitOfWork, definition: Definition) -> None:
    """Tags, lists and webhooks an automation names must exist."""
    trigger, condition, actions = definition
    codes = {a.tag for a in actions if a.tag} | (tag_codes(condition) if condition else set())
    if trigger.tag:
        codes.add(trigger.tag)
    missing = sorted(codes - set(await uow.tags.get_by_codes(codes))) if codes else []
    if missing:
        raise InvalidInput(f"unknown tags: {', '.join(missing)}; create them first",
                           field="actions")  # fmt: skip
    if trigger.list_id is not None and await uow.lists.get(trigger.list_id) is None:
        raise NotFound(f"no list with id {trigger.list_id}", field="trigger")
    for action in actions:
        if action.webhook_id is not None and await uow.webhooks.get(action.webhook_id) is None:
            raise NotFound(f"no webhook with id {action.webhook_id}", field="actions")


async def create_automation(
    uows: UnitOfWorkFactory,
    name: str,
    description: str | None,
    status: AutomationStatus,
    definition: Definition,
    now: datetime,
) -> Automation:
    name, description = clean_name(name), clean_description(description)
    validate_automation(*definition)
    async with uows(write=True) as uow:
        if await uow.automations.get_by_name(name):
            raise Conflict(f"an automation named {name!r} already exists", field="name")
        await _check_references(uow, definition)
        new_id = await uow.automations.insert(name, description, status, definition, now)
        created = await uow.automations.get(new_id)
        await uow.commit()
    assert created is not None
    return created


async def update_automation(
    uows: UnitOfWorkFactory,
    automation_id: int,
    values: Mapping[str, Any],
    definition: Definition | None,
    now: datetime,
) -> Automation:
    """Changes name, description, status (ACTIVE / SUSPENDED) or the whole definition."""
    changes = dict(values)
    if "name" in changes:
        changes["name"] = clean_name(changes["name"])
    if "description" in changes:
        changes["description"] = clean_description(changes["description"])
    if definition is not None:
        validate_automation(*definition)
    async with uows(write=True) as uow:
        if await uow.automations.get(automation_id) is None:
            raise NotFound(f"no automation with id {automation_id}", field="id")
        if "name" in changes:
            other = await uow.automations.get_by_name(changes["name"])
            if other and other.id != automation_id:
                raise Conflict(f"an automation named {changes['name']!r} already exists",
                               field="name")  # fmt: skip
        if definition is not None:
            await _check_references(uow, definition)
        await uow.automations.update(automation_id, changes, definition, now)
        updated = await uow.automations.get(automation_id)
        await uow.commit()
    assert updated is not None
    return updated


async def delete_automation(uows: UnitOfWorkFactory, automation_id: int) -> None:
    async with uows(write=True) as uow:
        if not await uow.automations.delete(automation_id):
            raise NotFound(f"no automation with id {automation_id}", field="id")
        await uow.commit()


async def get_automation(uows: UnitOfWorkFactory, automation_id: int) -> Automation:
    async with uows() as uow:
        found = await uow.automations.get(automation_id)
    if found is None:
        raise NotFound(f"no automation with id {automation_id}", field="id")
    return found


async def all_automations(uows: UnitOfWorkFactory) -> list[Automation]:
    async with uows() as uow:
        return await uow.automations.all()


async def runs(
    uows: UnitOfWorkFactory, automation_id: int | None, contact_id: int | None, limit: int
) -> list[Any]:
    if not 1 <= limit <= 500:
        raise InvalidInput("first must be between 1 and 500", field="first")
    async with uows() as uow:
        return await uow.automations.runs(automation_id, contact_id, limit)


INACTIVE_BATCH = 200


async def inactive_firings(uow: UnitOfWork, automation: Automation, now: datetime) -> list[Firing]:
    """The next batch of contacts newly inactive for the automation's `days` (each spell of
    inactivity fires once: a logged run after the last activity marks it seen)."""
    assert automation.trigger.days is not None
    since = now - timedelta(days=automation.trigger.days)
    ids = await uow.automations.inactive(automation.id, since, INACTIVE_BATCH)
    found = await uow.contacts.placement_views(ids, tags=True, dates=True)
    out = []
    for cid in ids:
        view = found[cid][0]
        firing = Firing(automation, cid, view, "INACTIVE", now)
        if not condition_holds(automation, view, now):
            firing.outcome = RunOutcome.CONDITION_UNMET
        out.append(firing)
    return out


async def inactivity_automations(uow: UnitOfWork) -> list[Automation]:
    return [a for a in await _active(uow) if a.trigger.kind is TriggerKind.INACTIVE]

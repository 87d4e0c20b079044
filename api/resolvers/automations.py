"""Automations (admin) and their run log."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.permissions import IsAdmin
from api.schema.automations import (
    AutomationInput,
    AutomationRun,
    AutomationType,
    AutomationUpdateInput,
)
from api.schema.inputs import set_fields
from domain.automations import AutomationStatus
from domain.errors import InvalidInput, parse_id
from services import automations

ADMIN_ACTION = "changing automations"


async def automation_list(info: AppInfo) -> list[AutomationType]:
    found = await automations.all_automations(info.context.uows)
    return [AutomationType.from_domain(a) for a in found]


async def automation(info: AppInfo, id: strawberry.ID) -> AutomationType:
    found = await automations.get_automation(info.context.uows, parse_id(id, "automation"))
    return AutomationType.from_domain(found)


async def automation_runs(
    info: AppInfo,
    automation_id: strawberry.ID | None = None,
    contact_id: strawberry.ID | None = None,
    first: int = 50,
) -> list[AutomationRun]:
    """Newest first."""
    auto = parse_id(automation_id, "automation", "automationId") if automation_id else None
    contact = parse_id(contact_id, "contact", "contactId") if contact_id else None
    rows = await automations.runs(info.context.uows, auto, contact, first)
    return [AutomationRun.from_row(r) for r in rows]


async def create_automation(info: AppInfo, input: AutomationInput) -> AutomationType:
    ctx = info.context
    definition = (
        input.trigger.to_domain(),
        input.condition.to_domain() if input.condition is not None else None,
        [a.to_domain() for a in input.actions],
    )
    created = await automations.create_automation(
        ctx.uows, input.name, input.description, AutomationStatus(input.status.value),
        definition, ctx.clock(),
    )  # fmt: skip
    return AutomationType.from_domain(created)


async def update_automation(
    info: AppInfo, id: strawberry.ID, input: AutomationUpdateInput
) -> AutomationType:
    ctx = info.context
    given = set_fields(input)
    parts = [k for k in ("trigger", "condition", "actions") if k in given]
    definition = None
    if parts:
        if "trigger" not in given or "actions" not in given or given["trigger"] is None:
            raise InvalidInput(
                "give trigger and actions together (and condition, or it is removed)",
                field="trigger",
            )
        condition = given.get("condition")
        definition = (
            given["trigger"].to_domain(),
            condition.to_domain() if condition is not None else None,
            [a.to_domain() for a in given["actions"] or []],
        )
    values = {k: v for k, v in given.items() if k in ("name", "description", "status")}
    if values.get("status") is not None:
        values["status"] = AutomationStatus(values["status"].value)
    elif "status" in values:
        raise InvalidInput("status cannot be null", field="status")
    updated = await automations.update_automation(
        ctx.uows, parse_id(id, "automation"), values, definition, ctx.clock()
    )
    return AutomationType.from_domain(updated)


async def delete_automation(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    await automations.delete_automation(info.context.uows, parse_id(id, "automation"))
    return id


@strawberry.type
class AutomationQueries:
    automations: list[AutomationType] | None = strawberry.field(
        resolver=automation_list, description="Every automation, oldest first."
    )
    automation: AutomationType | None = strawberry.field(resolver=automation)
    automation_runs: list[AutomationRun] | None = strawberry.field(
        resolver=automation_runs,
        description="The run log, newest first (1-500): trigger, actions, outcome.",
    )


@strawberry.type
class AutomationMutations:
    create_automation: AutomationType | None = strawberry.field(
        resolver=create_automation,
        permission_classes=[IsAdmin.doing(ADMIN_ACTION)],
        description="Admin.",
    )
    update_automation: AutomationType | None = strawberry.field(
        resolver=update_automation,
        permission_classes=[IsAdmin.doing(ADMIN_ACTION)],
        description="Admin. Suspend with status SUSPENDED; resume with ACTIVE.",
    )
    delete_automation: strawberry.ID | None = strawberry.field(
        resolver=delete_automation,
        permission_classes=[IsAdmin.doing(ADMIN_ACTION)],
        description="Admin. Its run log goes with it.",
    )

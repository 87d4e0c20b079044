"""Automations and their run log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, insert, not_, select, update

from domain.automations import (
    Action,
    ActionKind,
    Automation,
    AutomationStatus,
    Trigger,
    TriggerKind,
    action_to_dict,
    trigger_to_dict,
)
from domain.codec import filter_from_dict, filter_to_dict
from domain.filters import ContactFilter
from persistence.base import Repository
from persistence.filters_sql import contact_t, not_erased
from persistence.tables import metadata

automation_t: Table = metadata.tables["automation"]
run_t: Table = metadata.tables["automation_run"]


def automation_from_row(row: Any) -> Automation:
    trigger = dict(row.trigger)
    return Automation(
        id=row.id,
        name=row.name,
        status=AutomationStatus(row.status),
        trigger=Trigger(**{**trigger, "kind": TriggerKind(trigger["kind"])}),
        condition=filter_from_dict(row.condition) if row.condition is not None else None,
        actions=tuple(Action(**{**a, "kind": ActionKind(a["kind"])}) for a in row.actions),
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(
    trigger: Trigger, condition: ContactFilter | None, actions: Sequence[Action]
) -> dict[str, Any]:
    return {
        "trigger": trigger_to_dict(trigger),
        "condition": filter_to_dict(condition) if condition is not None else None,
        "actions": [action_to_dict(a) for a in actions],
    }


class AutomationRepository(Repository):
    async def insert(
        self,
        name: str,
        description: str | None,
        status: AutomationStatus,
        definition: tuple[Trigger, ContactFilter | None, Sequence[Action]],
        now: datetime,
    ) -> int:
        values = {
            "name": name, "description": description, "status": status.value,
            **_values(*definition), "created_at": now, "updated_at": now,
        }  # fmt: skip
        stmt = insert(automation_t).values(values).returning(automation_t.c.id)
        automation_id = int((await self.conn.execute(stmt)).scalar_one())
        await self.seen.bump("automations")
        return automation_id

    async def update(
        self,
        automation_id: int,
        values: Mapping[str, Any],
        definition: tuple[Trigger, ContactFilter | None, Sequence[Action]] | None,
        now: datetime,
    ) -> None:
        changes = {**values, **(_values(*definition) if definition else {}), "updated_at": now}
        if isinstance(changes.get("status"), AutomationStatus):
            changes["status"] = changes["status"].value
        stmt = update(automation_t).where(automation_t.c.id == automation_id).values(changes)
        await self.conn.execute(stmt)
        await self.seen.bump("automations")

    async def delete(self, automation_id: int) -> bool:
        result = await self.conn.execute(
            delete(automation_t).where(automation_t.c.id == automation_id)
        )
        await self.seen.bump("automations")
        return bool(getattr(result, "rowcount", 0))

    async def get(self, automation_id: int) -> Automation | None:
        stmt = select(automation_t).where(automation_t.c.id == automation_id)
        row = (await self.conn.execute(stmt)).first()
        return automation_from_row(row) if row else None

    async def get_by_name(self, name: str) -> Automation | None:
        row = (
            await self.conn.execute(select(automation_t).where(automation_t.c.name == name))
        ).first()
        return automation_from_row(row) if row else None

    async def all(self) -> list[Automation]:
        rows = await self._rows(select(automation_t).order_by(automation_t.c.id))
        return [automation_from_row(r) for r in rows]

    async def version(self) -> int:
        """Bumped in the transaction of every automation definition change."""
        return await self.seen.version("automations")

    async def log_runs(self, runs: Sequence[Mapping[str, Any]]) -> None:
        if runs:
            await self.conn.execute(insert(run_t), list(runs))

    async def runs(
        self, automation_id: int | None, contact_id: int | None, limit: int
    ) -> list[Any]:
        stmt = select(run_t).order_by(run_t.c.id.desc()).limit(limit)
        if automation_id is not None:
            stmt = stmt.where(run_t.c.automation_id == automation_id)
        if contact_id is not None:
            stmt = stmt.where(run_t.c.contact_id == contact_id)
        return list(await self._rows(stmt))

    async def inactive(self, automation_id: int, since: datetime, limit: int) -> list[int]:
        """Contacts with no activity since `since` that this automation has not run for
        since their last activity (each inactivity spell triggers once); never an erased
        one (an automation would write to it)."""
        activity = func.coalesce(contact_t.c.last_activity_at, contact_t.c.created_at)
        ran = exists(
            select(1).where(
                run_t.c.automation_id == automation_id,
                run_t.c.contact_id == contact_t.c.id,
                run_t.c.at >= activity,
            )
        )
        stmt = (
            select(contact_t.c.id)
            .where(and_(activity < since, not_(ran), not_erased()))
            .order_by(contact_t.c.id)
            .limit(limit)
        )
        return [r.id for r in await self._rows(stmt)]

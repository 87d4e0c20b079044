"""The scheduled job behind INACTIVE automation triggers: contacts with no activity for an
automation's `days` run its actions once per spell of inactivity, in batches, each batch one
transaction settled like any other write (re-placed, lists followed, cascades bounded)."""

from __future__ import annotations

from datetime import datetime

from services import automations
from services.ports import UnitOfWorkFactory


async def run_inactivity(uows: UnitOfWorkFactory, now: datetime) -> int:
    """Returns how many contacts were seen inactive (whatever the outcome of their runs)."""
    async with uows() as uow:
        watching = await automations.inactivity_automations(uow)
    seen = 0
    for automation in watching:
        while True:
            async with uows(write=True) as uow:
                fired = await automations.inactive_firings(uow, automation, now)
                if not fired:
                    break
                await automations.run_firings(uow, fired, now, 0)
                await uow.commit()
            seen += len(fired)
    return seen

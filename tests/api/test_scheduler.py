"""Decay runs on its own inside the server, and from the CLI."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from api.app import create_app
from api.cli import main
from api.settings import Settings
from services.interactions import InteractionInput, record_interactions


async def test_the_server_scheduler_applies_decay(database_url, clock):
    app = create_app(
        Settings(database_url=database_url, migrate_on_start=False, decay_interval_seconds=0.05),
        clock=clock,
    )
    uows = app.state.uows
    item = InteractionInput("DEMO_REQUEST", clock(), "s1", email="s@x.it")
    await record_interactions(uows, [item], clock())
    clock.now += timedelta(days=91)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            async with uows() as uow:
                contact = await uow.contacts.get_by_email("s@x.it")
            if contact is not None and contact.score == 20:
                break
            await asyncio.sleep(0.05)
    await app.state.db.dispose()
    assert contact is not None and contact.score == 20


def test_the_decay_command_reports_what_it_did(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    assert main(["decay"]) == 0
    assert "decay (policy v1): 0 contacts changed, 0 points" in capsys.readouterr().out

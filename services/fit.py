"""Fit rules and the FIT part of the ledger, kept in step with contacts' attributes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from domain.fit import (
    FitRule,
    fit_adjustments,
    fit_attributes,
    fit_breakdown,
)
from domain.scoring import LedgerReason, ledger_entry
from services.ports import UnitOfWork, UnitOfWorkFactory


async def list_fit_rules(uows: UnitOfWorkFactory) -> list[FitRule]:
    async with uows() as uow:
        return await uow.fit_rules.find()


async def fit_rules_by_id(uows: UnitOfWorkFactory, ids: list[int]) -> dict[int, FitRule]:
    async with uows() as uow:
        return await uow.fit_rules.get_many(ids)


async def refresh_fit(uow: UnitOfWork, contact_ids: Iterable[int], now: datetime) -> None:
    """Write FIT ledger entries so each contact holds exactly the fit points it deserves."""
    ids = list(contact_ids)
    rules = [r for r in await uow.fit_rules.find() if r.active]
    current = await uow.ledger.fit_sums(ids)
    if not rules and not current:
        return
    contacts = await uow.contacts.get_many(ids)
    companies = await uow.companies.get_many(
        {c.company_id for c in contacts.values() if c.company_id is not None}
    )
    names = {r.id: r.name for r in rules}
    entries: list[dict[str, Any]] = []
    deltas: dict[int, int] = {}
    for contact in contacts.values():
        company = companies.get(contact.company_id) if contact.company_id else None
        view = fit_attributes(asdict(contact), asdict(company) if company else None)
        target = fit_breakdown(rules, view)
        for rule_id, delta in fit_adjustments(current.get(contact.id, {}), target).items():
            label = names.get(rule_id, "fit rule removed")
            entries.append(
                ledger_entry(
                    contact.id, LedgerReason.FIT, label, delta, now, now, fit_rule_id=rule_id
                )
            )
            deltas[contact.id] = deltas.get(contact.id, 0) + delta
    await uow.ledger.add(entries)
    await uow.contacts.add_scores(
        [{"cid": cid, "delta": d, "activity": None, "now": now} for cid, d in deltas.items()]
    )

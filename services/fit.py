"""Fit rules and the FIT part of the ledger, kept in step with contacts' attributes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from domain.contacts import clean_text
from domain.errors import Conflict, NotFound
from domain.fit import (
    FitOperator,
    FitRule,
    fit_adjustments,
    fit_attributes,
    fit_breakdown,
    validate_fit_rule,
)
from domain.scoring import LedgerReason
from persistence.unit_of_work import UnitOfWork
from services.ledger import entry
from services.ports import UnitOfWorkFactory
from services.rules import refuse_nulls

CHUNK = 1000


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
                entry(contact.id, LedgerReason.FIT, label, delta, now, now, fit_rule_id=rule_id)
            )
            deltas[contact.id] = deltas.get(contact.id, 0) + delta
    await uow.ledger.add(entries)
    await uow.contacts.add_scores(
        [{"cid": cid, "delta": d, "activity": None, "now": now} for cid, d in deltas.items()]
    )


async def refresh_all(uows: UnitOfWorkFactory, now: datetime) -> int:
    """Chunked, one transaction per chunk, so reads keep being served meanwhile."""
    last, done = 0, 0
    while True:
        async with uows(write=True) as uow:
            ids = await uow.contacts.ids_after(last, CHUNK)
            if not ids:
                return done
            await uow.contacts.lock(ids)
            await refresh_fit(uow, ids, now)
            await uow.commit()
        last, done = ids[-1], done + len(ids)


def _clean(values: Mapping[str, Any], current: FitRule | None) -> dict[str, Any]:
    refuse_nulls(
        values, {k: k for k in ("name", "attribute", "operator", "value", "points", "active")}
    )
    merged = {**(asdict(current) if current else {}), **values}
    validate_fit_rule(
        merged["attribute"], FitOperator(merged["operator"]), str(merged["value"]), merged["points"]
    )
    cleaned = {k: v for k, v in values.items() if k != "id"}
    if "name" in cleaned:
        cleaned["name"] = clean_text(cleaned["name"], "name", required=True)
    return cleaned


async def _require(uow: UnitOfWork, rule_id: int) -> FitRule:
    rule = await uow.fit_rules.get(rule_id)
    if rule is None:
        raise NotFound(f"no fit rule with id {rule_id}", field="id")
    return rule


async def _check_name(uow: UnitOfWork, name: str | None, rule_id: int | None) -> None:
    other = await uow.fit_rules.by_name(name) if name else None
    if other is not None and other.id != rule_id:
        raise Conflict(f"a fit rule named {name!r} already exists", field="name")


async def save_fit_rule(
    uows: UnitOfWorkFactory, rule_id: int | None, values: Mapping[str, Any], now: datetime
) -> FitRule:
    """Create (rule_id None) or update a fit rule, then re-score every contact's fit."""
    async with uows(write=True) as uow:
        current = await _require(uow, rule_id) if rule_id is not None else None
        cleaned = _clean(values, current)
        await _check_name(uow, cleaned.get("name"), rule_id)
        if rule_id is None:
            rule_id = await uow.fit_rules.insert(cleaned, now)
        else:
            await uow.fit_rules.update(rule_id, cleaned, now)
        await uow.commit()
    await refresh_all(uows, now)
    async with uows() as uow:
        return await _require(uow, rule_id)


async def delete_fit_rule(uows: UnitOfWorkFactory, rule_id: int, now: datetime) -> None:
    """The points it gave are taken back (FIT entries), then the rule goes."""
    async with uows(write=True) as uow:
        await _require(uow, rule_id)
        await uow.fit_rules.update(rule_id, {"active": False}, now)
        await uow.commit()
    await refresh_all(uows, now)
    async with uows(write=True) as uow:
        await uow.fit_rules.delete(rule_id)
        await uow.commit()

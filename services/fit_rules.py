"""Fit rules: create, update, delete; each change re-scores every contact's fit and tier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from domain.contacts import clean_text
from domain.errors import Conflict, NotFound
from domain.fit import FitOperator, FitRule, validate_fit_rule
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.rules import refuse_nulls
from services.tiers import retier_all


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
    await retier_all(uows, now, fit=True)
    async with uows() as uow:
        return await _require(uow, rule_id)


async def delete_fit_rule(uows: UnitOfWorkFactory, rule_id: int, now: datetime) -> None:
    """The points it gave are taken back (FIT entries), then the rule goes."""
    async with uows(write=True) as uow:
        await _require(uow, rule_id)
        await uow.fit_rules.update(rule_id, {"active": False}, now)
        await uow.commit()
    await retier_all(uows, now, fit=True)
    async with uows(write=True) as uow:
        await uow.fit_rules.delete(rule_id)
        await uow.commit()

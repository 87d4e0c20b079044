"""Scoring rules: presets (SYSTEM) and custom rules. Edits apply to future interactions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.contacts import clean_text
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.scoring import (
    RuleGroup,
    RuleKind,
    RuleStatus,
    ScoringRule,
    check_cap,
    check_points,
    clean_interaction_type,
    clean_rule_page,
)
from services.ports import UnitOfWork, UnitOfWorkFactory

SYSTEM_EDITABLE = {"points", "status", "page", "daily_cap", "tag_code", "description"}


async def list_rules(
    uows: UnitOfWorkFactory,
    group: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[ScoringRule]:
    async with uows() as uow:
        return await uow.rules.find(group, status, kind)


async def rules_by_id(uows: UnitOfWorkFactory, ids: list[int]) -> dict[int, ScoringRule]:
    async with uows() as uow:
        return await uow.rules.get_many(ids)


async def get_rule(uows: UnitOfWorkFactory, rule_id: int) -> ScoringRule:
    async with uows() as uow:
        return await _require(uow, rule_id)


async def _require(uow: UnitOfWork, rule_id: int) -> ScoringRule:
    rule = await uow.rules.get(rule_id)
    if rule is None:
        raise NotFound(f"no scoring rule with id {rule_id}", field="id")
    return rule


REQUIRED = {"name": "name", "group": "group", "interaction_type": "interactionType",
            "points": "points", "status": "status"}  # fmt: skip


def refuse_nulls(values: Mapping[str, Any], required: Mapping[str, str]) -> None:
    """A field the API lets clients send as null, but that the record cannot lack."""
    for key, api_name in required.items():
        if key in values and values[key] is None:
            raise InvalidInput(f"{api_name} cannot be null", field=api_name)


async def _clean(uow: UnitOfWork, values: Mapping[str, Any], group: RuleGroup) -> dict[str, Any]:
    refuse_nulls(values, REQUIRED)
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            cleaned[key] = clean_text(value, "name", required=True)
        elif key == "description":
            cleaned[key] = clean_text(value, "description")
        elif key == "interaction_type":
            cleaned[key] = clean_interaction_type(value, "interactionType")
        elif key == "points":
            cleaned[key] = check_points(value)
        elif key == "daily_cap":
            cleaned[key] = check_cap(value)
        elif key == "status":
            cleaned[key] = RuleStatus(value)
        elif key == "tag_code":
            cleaned["tag_id"] = await _tag_id(uow, value)
        elif key not in ("page", "group"):
            raise InvalidInput(f"unknown rule field {key!r}", field=key)
    if "page" in values or "group" in values:
        cleaned["page"] = clean_rule_page(group, values.get("page"))
    return cleaned


async def _tag_id(uow: UnitOfWork, code: str | None) -> int | None:
    if code is None:
        return None
    tag = await uow.tags.get_by_code(code)
    if tag is None:
        raise NotFound(f"no tag with code {code!r}; create it first", field="tagCode")
    return tag.id


async def _check_name(uow: UnitOfWork, name: str | None, rule_id: int | None = None) -> None:
    if name is None:
        return
    other = await uow.rules.by_name(name)
    if other is not None and other.id != rule_id:
        raise Conflict(f"a scoring rule named {name!r} already exists", field="name")


async def create_rule(
    uows: UnitOfWorkFactory, values: Mapping[str, Any], now: datetime
) -> ScoringRule:
    group = RuleGroup(values["group"])
    async with uows(write=True) as uow:
        cleaned = await _clean(uow, values, group)
        await _check_name(uow, cleaned.get("name"))
        cleaned.update(group=group, kind=RuleKind.CUSTOM)
        cleaned.setdefault("status", RuleStatus.ACTIVE)
        rule_id = await uow.rules.insert(cleaned, now)
        await uow.commit()
        return await _require(uow, rule_id)


async def update_rule(
    uows: UnitOfWorkFactory, rule_id: int, values: Mapping[str, Any], now: datetime
) -> ScoringRule:
    """SYSTEM presets keep name, group and type; their points, status, page, cap and tag change."""
    async with uows(write=True) as uow:
        rule = await _require(uow, rule_id)
        if rule.kind is RuleKind.SYSTEM and set(values) - SYSTEM_EDITABLE:
            fixed = ", ".join(sorted(set(values) - SYSTEM_EDITABLE))
            raise InvalidInput(f"SYSTEM rule {rule.name!r} keeps its {fixed}", field="input")
        refuse_nulls(values, REQUIRED)
        group = RuleGroup(values.get("group", rule.group))
        merged = dict(values)
        if "group" in values and "page" not in values:
            merged["page"] = rule.page
        cleaned = await _clean(uow, merged, group)
        await _check_name(uow, cleaned.get("name"), rule_id)
        if cleaned:
            await uow.rules.update(rule_id, cleaned, now)
            await uow.commit()
        return await _require(uow, rule_id)


async def delete_rule(uows: UnitOfWorkFactory, rule_id: int) -> None:
    """Ledger entries keep their points and label; SYSTEM presets cannot be deleted."""
    async with uows(write=True) as uow:
        rule = await _require(uow, rule_id)
        if rule.kind is RuleKind.SYSTEM:
            raise Forbidden(
                f"{rule.name!r} is a SYSTEM rule and cannot be deleted; suspend it instead"
            )
        await uow.rules.delete(rule_id)
        await uow.commit()

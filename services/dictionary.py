"""The segmentation dictionary: everything that decides scores, tiers and segments."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from domain import dictionary
from domain.codec import policy_to_dict, scheme_to_dict
from services import decay, fit, rules, tags, tiers
from services.ports import UnitOfWorkFactory


async def dictionary_data(uows: UnitOfWorkFactory) -> dict[str, Any]:
    codes = {t.id: t.code for t in await tags.list_tags(uows)}
    policy, scheme = await tiers.current_policy(uows), await tiers.current_scheme(uows)
    return {
        "scoring_rules": [
            {
                "name": r.name,
                "group": r.group.value,
                "interaction_type": r.interaction_type,
                "page": r.page,
                "points": r.points,
                "daily_cap": r.daily_cap,
                "tag": codes.get(r.tag_id) if r.tag_id else None,
                "kind": r.kind.value,
                "status": r.status.value,
                "description": r.description,
            }
            for r in await rules.list_rules(uows)
        ],
        "fit_rules": [
            {**asdict(r), "operator": r.operator.value} for r in await fit.list_fit_rules(uows)
        ],
        "decay_policy": asdict(await decay.current_policy(uows)),
        "tier_policy": {"version": policy.version, **policy_to_dict(policy)},
        "segment_scheme": {"version": scheme.version, **scheme_to_dict(scheme)},
    }


async def render(uows: UnitOfWorkFactory, markdown: bool) -> str:
    data = await dictionary_data(uows)
    return dictionary.to_markdown(data) if markdown else dictionary.to_json(data)

"""JSON-ready dicts for filters, tier policies and segment schemes (stored versioned)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from domain.errors import InvalidInput
from domain.filters import ContactFilter, DateRange, IntRange, TagPoints
from domain.segments import Segment, SegmentScheme
from domain.tiers import Override, TierBand, TierPolicy

_NESTED = ("all_of", "any_of", "not_")


def filter_to_dict(node: ContactFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if value is None or (f.name in ("all_of", "any_of") and not value):
            continue
        if f.name in ("all_of", "any_of"):
            out[f.name] = [filter_to_dict(child) for child in value]
        elif f.name == "not_":
            out[f.name] = filter_to_dict(value)
        elif isinstance(value, IntRange):
            out[f.name] = {"min": value.min, "max": value.max}
        elif isinstance(value, DateRange):
            out[f.name] = {
                k: (d.isoformat() if d else None)
                for k, d in (("start", value.start), ("end", value.end))
            }
        elif f.name == "tag_points":
            out[f.name] = [{"code": t.code, "min_points": t.min_points} for t in value]
        else:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def filter_from_dict(data: dict[str, Any]) -> ContactFilter:
    known = {f.name for f in fields(ContactFilter)}
    unknown = set(data) - known
    if unknown:
        raise InvalidInput(f"unknown filter fields: {', '.join(sorted(unknown))}", field="filter")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("all_of", "any_of"):
            values[key] = tuple(filter_from_dict(child) for child in value)
        elif key == "not_":
            values[key] = filter_from_dict(value)
        elif key == "score_between":
            values[key] = IntRange(value["min"], value["max"])
        elif key == "created_between":
            values[key] = DateRange(*(_dt(value.get(k)) for k in ("start", "end")))
        elif key == "tag_points":
            values[key] = tuple(TagPoints(t["code"], t["min_points"]) for t in value)
        else:
            values[key] = tuple(value) if isinstance(value, list) else value
    return ContactFilter(**values)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def policy_to_dict(policy: TierPolicy) -> dict[str, Any]:
    return {
        "weights": dict(policy.weights),
        "engagement_cap": policy.engagement_cap,
        "fit_cap": policy.fit_cap,
        "source_values": dict(policy.source_values),
        "funnel_values": dict(policy.funnel_values),
        "intent_points": dict(policy.intent_points),
        "intent_window_days": policy.intent_window_days,
        "bands": [{"name": b.name, "min_index": b.min_index} for b in policy.bands],
        "overrides": [
            {
                "name": o.name,
                "tier": o.tier,
                "filter": filter_to_dict(o.filter) if o.filter else None,
                "min_engagement": o.min_engagement,
                "below_engagement": o.below_engagement,
            }
            for o in policy.overrides
        ],
        "hot_score": policy.hot_score,
    }


def policy_from_dict(version: int, data: dict[str, Any]) -> TierPolicy:
    return TierPolicy(
        version=version,
        weights=dict(data["weights"]),
        engagement_cap=data["engagement_cap"],
        fit_cap=data["fit_cap"],
        source_values=dict(data["source_values"]),
        funnel_values=dict(data["funnel_values"]),
        intent_points=dict(data["intent_points"]),
        intent_window_days=data["intent_window_days"],
        bands=tuple(TierBand(b["name"], b["min_index"]) for b in data["bands"]),
        overrides=tuple(
            Override(
                o["name"],
                o["tier"],
                filter_from_dict(o["filter"]) if o.get("filter") else None,
                o.get("min_engagement"),
                o.get("below_engagement"),
            )
            for o in data.get("overrides", [])
        ),
        hot_score=data.get("hot_score"),
    )


def scheme_to_dict(scheme: SegmentScheme) -> dict[str, Any]:
    return {
        "segments": [
            {
                "code": s.code,
                "name": s.name,
                "filter": filter_to_dict(s.filter),
                "min_signals": dict(s.min_signals),
                "suggested_tier": s.suggested_tier,
                "description": s.description,
            }
            for s in scheme.segments
        ]
    }


def scheme_from_dict(version: int, data: dict[str, Any]) -> SegmentScheme:
    return SegmentScheme(
        version,
        tuple(
            Segment(
                s["code"],
                s["name"],
                filter_from_dict(s.get("filter") or {}),
                dict(s.get("min_signals") or {}),
                s.get("suggested_tier"),
                s.get("description"),
            )
            for s in data["segments"]
        ),
    )

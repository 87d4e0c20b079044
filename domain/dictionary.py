"""The segmentation dictionary (seed guide): every rule, weight, threshold, override and
segment definition, with the versions in force, as JSON-ready data or Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = (
            ""
            if value is None
            else (
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, (dict, list))
                else str(value)
            )
        )
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def to_markdown(data: Mapping[str, Any]) -> str:
    """`data` has scoring_rules, fit_rules, decay_policy, tier_policy, segment_scheme."""
    policy, scheme, decay = data["tier_policy"], data["segment_scheme"], data["decay_policy"]
    out = ["# Segmentation dictionary", ""]
    out += [f"Tier policy v{policy['version']}, segment scheme v{scheme['version']}, "
            f"decay policy v{decay['version']}.", "", "## Scoring rules", ""]  # fmt: skip
    out += _table(
        ["name", "group", "type", "page", "points", "daily cap", "tag", "kind", "status"],
        [[r["name"], r["group"], r["interaction_type"], r["page"], r["points"], r["daily_cap"],
          r["tag"], r["kind"], r["status"]] for r in data["scoring_rules"]],
    )  # fmt: skip
    out += ["", "## Fit rules", ""]
    out += _table(
        ["name", "attribute", "operator", "value", "points", "active"],
        [[r["name"], r["attribute"], r["operator"], r["value"], r["points"], r["active"]]
         for r in data["fit_rules"]],
    )  # fmt: skip
    half_life, idle_days = decay["half_life_days"], decay["inactivity_days"]
    out += ["", "## Decay", "",
            f"- half-life: {half_life} days" if half_life else
            "- half-life: none (behavioural points do not fade)",
            f"- inactivity: {decay['inactivity_points']} points after {idle_days} days"
            if idle_days else "- inactivity: none (no points for inactivity)",
            "", "## Tier index", ""]  # fmt: skip
    out += _table(["criterion", "weight %"], sorted(policy["weights"].items()))
    out += ["", "Index = sum of weight % x criterion (each 0-100) / 100, kept to two decimals "
            "with halves rounded up.",
            f"Engagement cap {policy['engagement_cap']} points, fit cap {policy['fit_cap']} "
            f"points, intent window {policy['intent_window_days']} days.", ""]  # fmt: skip
    for title, key in (("Source values", "source_values"), ("Funnel values", "funnel_values"),
                       ("Intent points", "intent_points")):  # fmt: skip
        out += [f"### {title}", "", *_table(["key", "value"], sorted(policy[key].items())), ""]
    out += ["## Tiers", ""]
    out += _table(["tier", "from index"], [[b["name"], b["min_index"]] for b in policy["bands"]])
    out += ["", "## Overrides (in priority order)", ""]
    out += _table(
        ["#", "name", "tier", "filter", "min engagement", "below engagement"],
        [[i + 1, o["name"], o["tier"], o["filter"], o["min_engagement"], o["below_engagement"]]
         for i, o in enumerate(policy["overrides"])],
    )  # fmt: skip
    out += ["", "## Segments (first match wins)", ""]
    out += _table(
        ["code", "name", "filter", "min signals", "suggested tier", "description"],
        [[s["code"], s["name"], s["filter"], s["min_signals"], s["suggested_tier"],
          s["description"]] for s in scheme["segments"]],
    )  # fmt: skip
    return "\n".join(out) + "\n"

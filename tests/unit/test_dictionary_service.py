"""The segmentation dictionary export (services.dictionary) on the fake unit of work: every
rule, fit rule, weight, threshold and segment, as JSON and as Markdown."""

from __future__ import annotations

import json

import pytest

from domain.decay import DecayPolicy
from domain.fit import FitOperator
from domain.scoring import RuleGroup, RuleStatus
from domain.tier_defaults import DEFAULT_POLICY, DEFAULT_SCHEME
from services.dictionary import dictionary_data, render
from tests.fakes import FakeUnitOfWorkFactory, fit_rule, rule, tag


@pytest.fixture
def uows() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory().seed(
        tag(3, "pricing-interest", "Pricing interest"),
        rule(1, "EMAIL_OPEN", 9, name="Email open", group=RuleGroup.EMAIL, daily_cap=30),
        rule(2, "PAGE_VISIT", 15, name="Pricing page", group=RuleGroup.SITE_VISIT,
             page="https://www.example.com/prezzi", tag_id=3, status=RuleStatus.SUSPENDED),
        fit_rule(1, "company_size", FitOperator.AT_LEAST, "200", 10, name="Large company"),
        fit_rule(2, "sector", FitOperator.IN, "Retail, GDO", 5, active=False, name="Retail"),
        DecayPolicy(2, 60, 90, 10),
    )  # fmt: skip


async def test_the_json_export_holds_every_scoring_rule_with_its_points_cap_and_tag(uows):
    data = json.loads(await render(uows, markdown=False))

    by_name = {r["name"]: r for r in data["scoring_rules"]}
    assert by_name["Email open"] == {
        "name": "Email open", "group": "EMAIL", "interaction_type": "EMAIL_OPEN", "page": None,
        "points": 9, "daily_cap": 30, "tag": None, "kind": "CUSTOM", "status": "ACTIVE",
        "description": None,
    }  # fmt: skip
    pricing = by_name["Pricing page"]
    assert (pricing["tag"], pricing["status"]) == ("pricing-interest", "SUSPENDED")
    assert pricing["page"] == "https://www.example.com/prezzi"


async def test_the_json_export_holds_fit_rules_and_the_current_decay_policy(uows):
    data = json.loads(await render(uows, markdown=False))

    assert data["fit_rules"] == [
        {"id": 1, "name": "Large company", "attribute": "company_size", "operator": "AT_LEAST",
         "value": "200", "points": 10, "active": True},
        {"id": 2, "name": "Retail", "attribute": "sector", "operator": "IN",
         "value": "Retail, GDO", "points": 5, "active": False},
    ]  # fmt: skip
    assert data["decay_policy"] == {
        "version": 2, "half_life_days": 60, "inactivity_days": 90, "inactivity_points": 10
    }  # fmt: skip


async def test_the_json_export_holds_the_tier_policy_weights_bands_and_overrides(uows):
    policy = (await dictionary_data(uows))["tier_policy"]

    assert policy["version"] == DEFAULT_POLICY.version
    assert policy["weights"] == dict(DEFAULT_POLICY.weights)
    assert policy["bands"] == [{"name": "Tier 1", "min_index": 0}, {"name": "Tier 2", "min_index": 30},
                               {"name": "Tier 2+", "min_index": 70}]  # fmt: skip
    assert [o["name"] for o in policy["overrides"]] == [o.name for o in DEFAULT_POLICY.overrides]
    assert policy["overrides"][0]["min_engagement"] == 65
    assert policy["intent_points"] == {"WHITE_PAPER_DOWNLOAD": 15, "DEMO_REQUEST": 40}


async def test_the_json_export_holds_the_segments_in_order_with_their_signals(uows):
    scheme = json.loads(await render(uows, markdown=False))["segment_scheme"]

    assert scheme["version"] == DEFAULT_SCHEME.version
    assert [s["code"] for s in scheme["segments"]] == ["A", "B", "C", "D", "E", "F"]
    first = scheme["segments"][0]
    assert first["min_signals"] == {"WHITE_PAPER_DOWNLOAD": 3}
    assert first["suggested_tier"] == "Tier 2+"
    assert first["filter"]["source_in"] == ["EVENT"]


async def test_the_markdown_export_tables_rules_weights_tiers_and_segments(uows):
    text = await render(uows, markdown=True)

    assert text.startswith("# Segmentation dictionary\n")
    assert "Tier policy v1, segment scheme v1, decay policy v2." in text
    for row in (
        "| Email open | EMAIL | EMAIL_OPEN |  | 9 | 30 |  | CUSTOM | ACTIVE |",
        "| Pricing page | SITE_VISIT | PAGE_VISIT | https://www.example.com/prezzi | 15 |  "
        "| pricing-interest | CUSTOM | SUSPENDED |",
        "| Large company | company_size | AT_LEAST | 200 | 10 | True |",
        "| engagement | 35 |",
        "| Tier 2+ | 70 |",
        "| 1 | event lead with engagement >= 65 | Tier 2+ |",
        "| B | Referrals ready to buy |",
        "- half-life: 60 days",
        "- inactivity: 10 points after 90 days",
    ):
        assert row in text, row


async def test_the_export_follows_a_new_policy_version(uows):
    uows.seed(DecayPolicy(3, None, None, 0))

    text = await render(uows, markdown=True)

    assert "decay policy v3" in text
    assert "- half-life: none (behavioural points do not fade)" in text
    assert "- inactivity: none (no points for inactivity)" in text
    assert "none days" not in text and "never days" not in text

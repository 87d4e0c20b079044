"""Tiers and segments through GraphQL: moved in the same response, logged, re-tiered by a
new policy; bad policies refused with the field named and nothing changed."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import gql

RECORD = """
mutation($input: InteractionInput!) {
  recordInteraction(input: $input) { contact { score tier tierIndex leadStatus segment { code } } }
}
"""
CARD = """
query($email: String!) {
  contactByEmail(email: $email) {
    tier tierReason leadStatus segment { code name }
    tierHistory(first: 10) { totalCount nodes { kind fromValue toValue version reason } }
  }
}
"""
UPSERT = "mutation($c: [ContactInput!]!) { upsertContacts(contacts: $c) { errorCount } }"
POLICY = "{ tierPolicy { version weights tiers { name minIndex } overrides { name tier filter minEngagement belowEngagement } } }"
VERSIONS = "{ policyVersions(kind: TIER) { version comment } }"
UPDATE = """
mutation($input: TierPolicyInput!, $comment: String) {
  updateTierPolicy(input: $input, comment: $comment) { version tiers { name minIndex } }
}
"""


def demo(key, email="lead@x.it", type_="DEMO_REQUEST", at="2026-11-23T08:00:00+00:00"):
    return {"email": email, "type": type_, "occurredAt": at, "idempotencyKey": key}


def policy_input(**changes):
    base = {
        "weights": {"engagement": 35, "fit": 10, "source": 20, "funnel": 20, "intent": 15},
        "engagementCap": 100, "fitCap": 50,
        "sourceValues": {"EVENT": 85, "REFERRAL": 75, "WEB": 50},
        "funnelValues": {"AWARENESS": 15, "CONSIDERATION": 45, "DECISION": 80},
        "intentPoints": {"DEMO_REQUEST": 40, "WHITE_PAPER_DOWNLOAD": 15},
        "intentWindowDays": 30,
        "tiers": [{"name": "Tier 1", "minIndex": 0}, {"name": "Tier 2", "minIndex": 30}, {"name": "Tier 2+", "minIndex": 70}],
        "overrides": [],
    }  # fmt: skip
    return {**base, **changes}


async def test_crossing_a_threshold_moves_the_tier_in_the_same_response_and_logs_it(
    client, write_key
):
    await gql(client, UPSERT, {"c": [{"email": "lead@x.it", "source": "EVENT"}]}, key=write_key)
    first = (await gql(client, RECORD, {"input": demo("d1")}, key=write_key)).ok()[
        "recordInteraction"
    ]["contact"]
    assert (first["score"], first["tier"], first["leadStatus"]) == (40, "Tier 2", "WARM")
    assert first["tierIndex"] == pytest.approx(37.0)
    second = (await gql(client, RECORD, {"input": demo("d2")}, key=write_key)).ok()[
        "recordInteraction"
    ]["contact"]
    assert (second["tier"], second["leadStatus"]) == ("Tier 2+", "HOT")
    card = (await gql(client, CARD, {"email": "lead@x.it"}, key=write_key)).ok()["contactByEmail"]
    assert card["tierReason"] == "override: event lead with engagement >= 65"
    tiers = [n for n in card["tierHistory"]["nodes"] if n["kind"] == "TIER"]
    assert [(n["fromValue"], n["toValue"]) for n in tiers] == [
        ("Tier 2", "Tier 2+"),
        ("Tier 1", "Tier 2"),
        (None, "Tier 1"),
    ]
    assert tiers[1]["reason"].startswith("index 37 >= 30")
    assert all(n["version"] == 1 for n in tiers)


async def test_a_referral_deciding_after_a_demo_lands_in_segment_b_and_filters_find_it(
    client, write_key
):
    await gql(client, UPSERT, {"c": [{"email": "ref@x.it", "source": "REFERRAL", "funnelStage": "DECISION"},
                                     {"email": "other@x.it", "source": "WEB"}]}, key=write_key)  # fmt: skip
    contact = (await gql(client, RECORD, {"input": demo("r1", "ref@x.it")}, key=write_key)).ok()
    assert contact["recordInteraction"]["contact"]["segment"] == {"code": "B"}
    query = "query($f: ContactFilter) { contacts(filter: $f) { nodes { email } } }"
    assert (await gql(client, query, {"f": {"segmentIn": ["B"]}}, key=write_key)).ok()["contacts"][
        "nodes"
    ] == [{"email": "ref@x.it"}]
    cold = (await gql(client, query, {"f": {"leadStatusIn": ["COLD"]}}, key=write_key)).ok()[
        "contacts"
    ]["nodes"]
    assert cold == [{"email": "other@x.it"}]


async def test_a_policy_update_re_tiers_existing_contacts_and_can_be_restored(
    client, admin_key, write_key
):
    await gql(client, UPSERT, {"c": [{"email": "w@x.it", "source": "WEB"}]}, key=write_key)
    await gql(client, RECORD, {"input": demo("w1", "w@x.it", "EMAIL_OPEN")}, key=write_key)
    assert (await gql(client, CARD, {"email": "w@x.it"}, key=write_key)).ok()["contactByEmail"][
        "tier"
    ] == "Tier 1"
    lenient = policy_input(
        tiers=[
            {"name": "Tier 1", "minIndex": 0},
            {"name": "Tier 2", "minIndex": 10},
            {"name": "Tier 2+", "minIndex": 70},
        ]
    )
    updated = (
        await gql(client, UPDATE, {"input": lenient, "comment": "easier Tier 2"}, key=admin_key)
    ).ok()
    assert updated["updateTierPolicy"]["version"] == 2
    card = (await gql(client, CARD, {"email": "w@x.it"}, key=write_key)).ok()["contactByEmail"]
    assert card["tier"] == "Tier 2"
    assert card["tierHistory"]["nodes"][0] == {
        "kind": "TIER",
        "fromValue": "Tier 1",
        "toValue": "Tier 2",
        "version": 2,
        "reason": card["tierReason"],
    }
    restored = await gql(
        client, "mutation { restorePolicyVersion(kind: TIER, version: 1) }", key=admin_key
    )
    assert restored.ok() == {"restorePolicyVersion": 3}
    assert (await gql(client, CARD, {"email": "w@x.it"}, key=write_key)).ok()["contactByEmail"][
        "tier"
    ] == "Tier 1"
    versions = (await gql(client, VERSIONS, key=admin_key)).ok()["policyVersions"]
    assert versions == [
        {"version": 3, "comment": "restored from version 1"},
        {"version": 2, "comment": "easier Tier 2"},
        {"version": 1, "comment": "seed defaults"},
    ]


async def test_the_default_policy_reads_back_with_its_overrides_as_filter_inputs(client, read_key):
    policy = (await gql(client, POLICY, key=read_key)).ok()["tierPolicy"]
    assert policy["version"] == 1 and sum(policy["weights"].values()) == 100
    assert policy["overrides"][0] == {"name": "event lead with engagement >= 65", "tier": "Tier 2+",
                                      "filter": {"sourceIn": ["EVENT"]}, "minEngagement": 65.0,
                                      "belowEngagement": None}  # fmt: skip


async def test_segments_on_creation_and_activity_dates_read_the_dates(client, admin_key, write_key):
    """Re-tiering reads creation and activity times only when a filter needs them."""
    await gql(client, UPSERT, {"c": [{"email": "d@x.it"}]}, key=write_key)
    scheme = """mutation { updateSegmentScheme(input: {segments: [
      {code: "OLD", name: "Created before 2000", filter: {createdBetween: {end: "2000-01-01T00:00:00Z"}}},
      {code: "ACTIVE", name: "Active this week", filter: {lastActivityWithinDays: 7}},
      {code: "REST", name: "Rest"}]}) { version } }"""
    assert (await gql(client, scheme, key=admin_key)).ok()["updateSegmentScheme"]["version"] == 2
    card = (await gql(client, CARD, {"email": "d@x.it"}, key=write_key)).ok()["contactByEmail"]
    assert card["segment"]["code"] == "ACTIVE"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"weights": {"engagement": 50, "fit": 10, "source": 20, "funnel": 20, "intent": 15}},
            "weights",
        ),
        (
            {
                "tiers": [
                    {"name": "Tier 1", "minIndex": 0},
                    {"name": "Tier 2", "minIndex": 70},
                    {"name": "Tier 2+", "minIndex": 30},
                ]
            },
            "tiers",
        ),
        (
            {
                "tiers": [
                    {"name": "Tier 1", "minIndex": 0},
                    {"name": "Tier 2", "minIndex": 30},
                    {"name": "Tier 2+", "minIndex": 30},
                ]
            },
            "tiers",
        ),
        ({"tiers": [{"name": "Tier 1", "minIndex": 5}]}, "tiers"),
        (
            {
                "overrides": [
                    {"name": "x", "tier": "Tier 2+", "filter": {"lastActivityWithinDays": -1}}
                ]
            },
            "overrides[0]",
        ),
        ({"overrides": [{"name": "x", "tier": "Tier 9", "minEngagement": 10}]}, "overrides[0]"),
        ({"sourceValues": {"EVENT": "high"}}, "sourceValues"),
        ({"engagementCap": 0}, "engagementCap"),
    ],
)
async def test_bad_policies_are_refused_with_the_field_named_and_change_nothing(
    client, admin_key, write_key, changes, field
):
    await gql(client, UPSERT, {"c": [{"email": "k@x.it"}]}, key=write_key)
    before = (await gql(client, CARD, {"email": "k@x.it"}, key=write_key)).ok()
    result = await gql(client, UPDATE, {"input": policy_input(**changes)}, key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.errors[0]["extensions"]["field"] == field
    assert (await gql(client, VERSIONS, key=admin_key)).ok()["policyVersions"] == [
        {"version": 1, "comment": "seed defaults"}
    ]
    assert (await gql(client, CARD, {"email": "k@x.it"}, key=write_key)).ok() == before


async def test_changing_the_policy_needs_an_admin_key(client, write_key):
    assert (await gql(client, UPDATE, {"input": policy_input()}, key=write_key)).codes == [
        "FORBIDDEN"
    ]


SIMULATE = """
query($input: TierPolicyInput!) {
  simulateTierPolicy(input: $input, first: 10) {
    now { value contacts } proposed { value contacts } movingCount
    matrix { fromValue toValue contacts } moving { contactId fromValue toValue reason }
  }
}
"""


async def _database_fingerprint(app, database_url):
    """Every row of every table; and on SQLite, the bytes of the database files."""
    from pathlib import Path

    from sqlalchemy import text

    from persistence.db import sqlite_path
    from persistence.tables import metadata

    async with app.state.db.engine.connect() as conn:
        rows = {
            t.name: (await conn.execute(text(f"SELECT * FROM {t.name} ORDER BY 1"))).all()
            for t in metadata.sorted_tables
        }
    path = sqlite_path(database_url)

    def read_files():
        found = {}
        for suffix in ("", "-wal"):
            f = Path(f"{path}{suffix}")
            found[suffix] = f.read_bytes() if f.exists() else None
        return found

    files = await asyncio.to_thread(read_files) if path is not None else {}
    return rows, files


async def test_simulating_a_policy_shows_the_movement_and_writes_nothing(
    client, app, database_url, write_key, read_key
):
    await gql(
        client,
        UPSERT,
        {"c": [{"email": f"s{i}@x.it", "source": "WEB"} for i in range(4)]},
        key=write_key,
    )
    for i in range(2):
        await gql(client, RECORD, {"input": demo(f"s{i}", f"s{i}@x.it")}, key=write_key)
    before = await _database_fingerprint(app, database_url)
    lenient = policy_input(
        tiers=[
            {"name": "Tier 1", "minIndex": 0},
            {"name": "Tier 2", "minIndex": 5},
            {"name": "Tier 2+", "minIndex": 30},
        ]
    )
    result = (await gql(client, SIMULATE, {"input": lenient}, key=read_key)).ok()[
        "simulateTierPolicy"
    ]
    assert await _database_fingerprint(app, database_url) == before
    assert result["now"] == [{"value": "Tier 1", "contacts": 2}, {"value": "Tier 2", "contacts": 2}]
    assert result["proposed"] == [
        {"value": "Tier 2", "contacts": 2},
        {"value": "Tier 2+", "contacts": 2},
    ]
    assert result["movingCount"] == 4
    assert {"fromValue": "Tier 1", "toValue": "Tier 2", "contacts": 2} in result["matrix"]
    assert len(result["moving"]) == 4 and all(
        m["fromValue"] != m["toValue"] for m in result["moving"]
    )


async def test_simulating_a_segment_scheme_writes_nothing(
    client, app, database_url, write_key, read_key
):
    await gql(client, UPSERT, {"c": [{"email": "e@x.it", "source": "EVENT"}]}, key=write_key)
    before = await _database_fingerprint(app, database_url)
    query = 'query { simulateSegmentScheme(input: {segments: [{code: "EV", name: "Events", filter: {sourceIn: [EVENT]}}]}) { now { value contacts } proposed { value contacts } movingCount } }'
    result = (await gql(client, query, key=read_key)).ok()["simulateSegmentScheme"]
    assert await _database_fingerprint(app, database_url) == before
    assert result == {
        "now": [{"value": "F", "contacts": 1}],
        "proposed": [{"value": "EV", "contacts": 1}],
        "movingCount": 1,
    }


async def test_a_bad_proposed_policy_cannot_be_simulated(client, read_key):
    bad = policy_input(weights={"engagement": 1, "fit": 1, "source": 1, "funnel": 1, "intent": 1})
    result = await gql(client, SIMULATE, {"input": bad}, key=read_key)
    assert (
        result.codes == ["BAD_USER_INPUT"] and result.errors[0]["extensions"]["field"] == "weights"
    )


async def test_the_segmentation_dictionary_lists_rules_weights_tiers_overrides_and_segments(
    client, read_key
):
    import json

    as_json = json.loads(
        (await gql(client, "{ segmentationDictionary }", key=read_key)).ok()[
            "segmentationDictionary"
        ]
    )
    assert {r["name"] for r in as_json["scoring_rules"]} >= {"Email open", "Demo request"}
    assert as_json["tier_policy"]["weights"]["engagement"] == 35
    assert [s["code"] for s in as_json["segment_scheme"]["segments"]] == [
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
    ]
    markdown = (
        await gql(client, "{ segmentationDictionary(format: MARKDOWN) }", key=read_key)
    ).ok()["segmentationDictionary"]
    assert markdown.startswith("# Segmentation dictionary")
    for needle in (
        "| Demo request | FORM | DEMO_REQUEST |",
        "| engagement | 35 |",
        "| Tier 2+ | 70",
        "event lead with engagement >= 65",
        "| A | Event leads researching |",
    ):
        assert needle in markdown, needle


async def test_deleting_a_tag_re_places_its_holders(client, admin_key, write_key):
    await gql(client, 'mutation { createTag(input: {name: "VIP"}) { id } }', key=admin_key)
    scheme = 'mutation { updateSegmentScheme(input: {segments: [{code: "VIP", name: "VIPs", filter: {hasAnyTag: ["vip"]}}, {code: "REST", name: "Rest"}]}) { version } }'
    assert (await gql(client, scheme, key=admin_key)).ok()["updateSegmentScheme"]["version"] == 2
    await gql(client, UPSERT, {"c": [{"email": "v@x.it"}]}, key=write_key)
    cid = (
        await gql(client, 'query { contactByEmail(email: "v@x.it") { id } }', key=write_key)
    ).ok()["contactByEmail"]["id"]
    await gql(
        client,
        'mutation($id: ID!) { assignTag(contactId: $id, code: "vip") { id } }',
        {"id": cid},
        key=write_key,
    )
    assert (await gql(client, CARD, {"email": "v@x.it"}, key=write_key)).ok()["contactByEmail"][
        "segment"
    ]["code"] == "VIP"
    await gql(client, 'mutation { deleteTag(code: "vip") }', key=write_key)
    assert (await gql(client, CARD, {"email": "v@x.it"}, key=write_key)).ok()["contactByEmail"][
        "segment"
    ]["code"] == "REST"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sourceValues": {"EVNT": 80}}, "sourceValues"),
        ({"funnelValues": {"BUYING": 80}}, "funnelValues"),
        ({"intentPoints": {"DEMO_REQUEST": -5}}, "intentPoints"),
    ],
)
async def test_unknown_keys_and_negative_intent_are_refused(client, admin_key, changes, field):
    result = await gql(client, UPDATE, {"input": policy_input(**changes)}, key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"] and result.errors[0]["extensions"]["field"] == field


async def test_an_empty_segment_scheme_is_refused(client, admin_key):
    result = await gql(
        client, "mutation { updateSegmentScheme(input: {segments: []}) { version } }", key=admin_key
    )
    assert (
        result.codes == ["BAD_USER_INPUT"] and result.errors[0]["extensions"]["field"] == "segments"
    )


def test_migrate_places_contacts_that_have_no_tier(tmp_path, monkeypatch):
    import sqlite3

    from api.cli import main

    db = tmp_path / "old.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    assert main(["migrate"]) == 0
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO contact (email, custom_attributes, consent_email, consent_profiling, score, created_at, updated_at) "
            "VALUES ('old@x.it', '{}', 0, 0, 0, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        )
    assert main(["migrate"]) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT tier, segment FROM contact").fetchone() == ("Tier 1", "F")


CREATE_LIST = """
mutation($input: ContactListInput!) { createList(input: $input) { id count } }
"""
ROW = "query($email: String!) { contactByEmail(email: $email) { tier tierIndex tierReason tierHistory(first: 10) { totalCount } } }"


async def test_a_policy_update_announces_and_lists_only_the_contacts_that_move(
    client, admin_key, write_key, uows
):
    """A new policy re-tiers everyone set-based; the contact that moves gets its change log
    row, its TIER_CHANGED event and its list entry, the one that stays only a new index."""
    await gql(client, UPSERT, {"c": [{"email": "w@x.it", "source": "WEB"},
                                     {"email": "s@x.it"}]}, key=write_key)  # fmt: skip
    await gql(client, RECORD, {"input": demo("w1", "w@x.it", "EMAIL_OPEN")}, key=write_key)
    await gql(client, RECORD, {"input": demo("s1", "s@x.it", "EMAIL_OPEN")}, key=write_key)
    tier_2 = {"name": "Tier 2 now", "kind": "DYNAMIC", "filter": {"tierIn": ["Tier 2"]}}
    await gql(client, CREATE_LIST, {"input": tier_2}, key=write_key)
    async with uows() as uow:
        before = await uow.events.after(0, 10_000)
    stayer = (await gql(client, ROW, {"email": "s@x.it"}, key=write_key)).ok()["contactByEmail"]
    lenient = policy_input(
        weights={"engagement": 30, "fit": 10, "source": 25, "funnel": 20, "intent": 15},
        tiers=[{"name": "Tier 1", "minIndex": 0}, {"name": "Tier 2", "minIndex": 10},
               {"name": "Tier 2+", "minIndex": 70}],
    )  # fmt: skip
    (await gql(client, UPDATE, {"input": lenient}, key=admin_key)).ok()
    async with uows() as uow:
        new = [e for e in await uow.events.after(0, 10_000) if e not in before]
    seen = sorted((e.type.value, e.payload["contact"]["email"]) for e in new)
    assert seen == [("LIST_ENTERED", "w@x.it"), ("TIER_CHANGED", "w@x.it")]
    changed = next(e for e in new if e.type.value == "TIER_CHANGED")
    assert (changed.payload["from_tier"], changed.payload["to_tier"]) == ("Tier 1", "Tier 2")
    assert changed.payload["version"] == 2
    assert changed.payload["contact"]["tier"] == "Tier 2"
    stayed = (await gql(client, ROW, {"email": "s@x.it"}, key=write_key)).ok()["contactByEmail"]
    assert stayed["tier"] == "Tier 1"
    assert stayed["tierHistory"]["totalCount"] == stayer["tierHistory"]["totalCount"]
    assert stayed["tierIndex"] != stayer["tierIndex"]
    assert stayed["tierReason"].startswith(f"index {stayed['tierIndex']:g} >= 0 (mostly ")

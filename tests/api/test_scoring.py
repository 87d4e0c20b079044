"""The scoring engine through GraphQL: rules, interactions, idempotency, ledger, tag points."""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

import pytest

from tests.factories import gql

RECORD = """
mutation($input: InteractionInput!) {
  recordInteraction(input: $input) {
    duplicate scoreDelta
    appliedRules { ruleId name points }
    interaction { id type page idempotencyKey scoreDelta }
    contact { id email score tags { points tag { code } } }
  }
}
"""
RECORD_MANY = """
mutation($items: [InteractionInput!]!) {
  recordInteractions(interactions: $items) {
    recordedCount duplicateCount errorCount
    results { index duplicate scoreDelta contact { email score } error { code field message } }
  }
}
"""
CONTACT = """
query($email: String!) {
  contactByEmail(email: $email) {
    id score lastActivityAt
    topTags(limit: 2) { points tag { code } }
    scoreBreakdown(first: 50) { totalCount nodes { reason label points detail comment rule { name } } }
  }
}
"""
RULES = "query($g: RuleGroup) { scoringRules(group: $g) { id name points status kind page interactionType } }"
CREATE_RULE = "mutation($input: ScoringRuleInput!) { createScoringRule(input: $input) { id name page points tag { code } dailyCap } }"
UPDATE_RULE = "mutation($id: ID!, $input: ScoringRuleUpdateInput!) { updateScoringRule(id: $id, input: $input) { id points status page } }"


def interaction(key, type_="EMAIL_OPEN", email="lead@example.it", clock=None, **extra):
    at = (clock() if clock else None) or extra.pop("at")
    return {
        "email": email,
        "type": type_,
        "occurredAt": at.isoformat(),
        "idempotencyKey": key,
        **extra,
    }


async def record(client, key, item):
    return await gql(client, RECORD, {"input": item}, key=key)


async def contact(client, key, email="lead@example.it"):
    return (await gql(client, CONTACT, {"email": email}, key=key)).ok()["contactByEmail"]


async def test_system_presets_are_seeded(client, read_key):
    rules = (await gql(client, RULES, {"g": None}, key=read_key)).ok()["scoringRules"]
    by_type = {r["interactionType"]: r for r in rules}
    assert by_type["EMAIL_OPEN"]["points"] == 9
    assert by_type["DEMO_REQUEST"]["points"] == 40
    assert by_type["UNSUBSCRIBE"]["points"] == -20
    assert by_type["CART_ABANDONED"]["points"] == -30
    assert {r["kind"] for r in rules} == {"SYSTEM"}


async def test_an_interaction_moves_the_score_through_the_rules(client, write_key, clock):
    result = (await record(client, write_key, interaction("k1", "DEMO_REQUEST", clock=clock))).ok()
    payload = result["recordInteraction"]
    assert payload["duplicate"] is False
    assert payload["scoreDelta"] == 40
    assert payload["appliedRules"] == [
        {"ruleId": payload["appliedRules"][0]["ruleId"], "name": "Demo request", "points": 40}
    ]
    assert payload["contact"]["score"] == 40
    assert payload["contact"]["email"] == "lead@example.it"
    await record(client, write_key, interaction("k2", "UNSUBSCRIBE", clock=clock))
    card = await contact(client, write_key)
    assert card["score"] == 20
    assert card["lastActivityAt"] == clock().isoformat()
    assert [(e["reason"], e["points"], e["label"]) for e in card["scoreBreakdown"]["nodes"]] == [
        ("RULE", -20, "Newsletter unsubscribe"),
        ("RULE", 40, "Demo request"),
    ]
    assert sum(e["points"] for e in card["scoreBreakdown"]["nodes"]) == card["score"]


async def test_the_same_idempotency_key_counts_once_and_returns_the_first_result(
    client, write_key, clock
):
    first = (await record(client, write_key, interaction("same", clock=clock))).ok()[
        "recordInteraction"
    ]
    again = (
        await record(client, write_key, interaction("same", "DEMO_REQUEST", clock=clock))
    ).ok()["recordInteraction"]
    assert again["duplicate"] is True
    assert again["interaction"] == first["interaction"]
    assert again["appliedRules"] == first["appliedRules"]
    assert (await contact(client, write_key))["score"] == 9


async def test_a_batch_reports_bad_items_by_index_and_is_idempotent(client, write_key, clock):
    items = [
        interaction("b1", clock=clock),
        interaction("b2", "WEBINAR_SIGNUP", clock=clock),
        interaction("b3", "not a type", clock=clock),
        interaction("b4", email="broken", clock=clock),
        interaction("b1", clock=clock),
        {
            "contactId": "9999",
            "type": "EMAIL_OPEN",
            "occurredAt": clock().isoformat(),
            "idempotencyKey": "b5",
        },
    ]
    payload = (await gql(client, RECORD_MANY, {"items": items}, key=write_key)).ok()[
        "recordInteractions"
    ]
    assert (payload["recordedCount"], payload["duplicateCount"], payload["errorCount"]) == (2, 1, 3)
    errors = {r["index"]: r["error"] for r in payload["results"] if r["error"]}
    assert errors[2]["field"] == "type" and errors[3]["field"] == "email"
    assert errors[5]["code"] == "NOT_FOUND" and errors[5]["field"] == "contactId"
    assert payload["results"][4]["duplicate"] is True
    assert (await contact(client, write_key))["score"] == 34
    again = (await gql(client, RECORD_MANY, {"items": items}, key=write_key)).ok()[
        "recordInteractions"
    ]
    assert (again["recordedCount"], again["duplicateCount"]) == (0, 3)
    assert (await contact(client, write_key))["score"] == 34


async def test_site_visit_rules_match_the_normalised_page_and_feed_tag_points(
    client, admin_key, write_key, clock
):
    await gql(
        client, 'mutation { createTag(input: {name: "Interessato prezzi"}) { id } }', key=admin_key
    )
    rule = {
        "name": "Listino",
        "group": "SITE_VISIT",
        "interactionType": "PAGE_VISIT",
        "page": "HTTPS://Shop.Example.IT:443/prezzi/",
        "points": 5,
        "tagCode": "interessato-prezzi",
    }
    created = (await gql(client, CREATE_RULE, {"input": rule}, key=admin_key)).ok()[
        "createScoringRule"
    ]
    assert created["page"] == "https://shop.example.it/prezzi"
    for key, page in [
        ("v1", "https://shop.example.it/prezzi?utm=x"),
        ("v2", "https://SHOP.example.it/prezzi/#top"),
        ("v3", "https://shop.example.it/other"),
    ]:
        await record(client, write_key, interaction(key, "PAGE_VISIT", clock=clock, page=page))
    card = await contact(client, write_key)
    assert card["score"] == 10
    assert card["topTags"] == [{"points": 2, "tag": {"code": "interessato-prezzi"}}]


async def test_a_daily_cap_bounds_the_points_of_one_rule_per_day(
    client, admin_key, write_key, clock
):
    rules = (await gql(client, RULES, {"g": "EMAIL"}, key=admin_key)).ok()["scoringRules"]
    email_open = next(r for r in rules if r["interactionType"] == "EMAIL_OPEN")
    await gql(
        client,
        "mutation($id: ID!) { updateScoringRule(id: $id, input: {dailyCap: 20}) { id } }",
        {"id": email_open["id"]},
        key=admin_key,
    )
    for i in range(4):
        await record(client, write_key, interaction(f"o{i}", clock=clock))
    assert (await contact(client, write_key))["score"] == 20
    clock.now += timedelta(days=1)
    await record(client, write_key, interaction("next-day", clock=clock))
    assert (await contact(client, write_key))["score"] == 29


async def test_editing_a_system_rule_changes_future_points_only(
    client, admin_key, write_key, clock
):
    rules = (await gql(client, RULES, {"g": "EMAIL"}, key=admin_key)).ok()["scoringRules"]
    email_open = next(r for r in rules if r["interactionType"] == "EMAIL_OPEN")
    await record(client, write_key, interaction("before", clock=clock))
    updated = await gql(
        client, UPDATE_RULE, {"id": email_open["id"], "input": {"points": 12}}, key=admin_key
    )
    assert updated.ok()["updateScoringRule"]["points"] == 12
    await record(client, write_key, interaction("after", clock=clock))
    assert (await contact(client, write_key))["score"] == 21
    suspended = await gql(
        client,
        UPDATE_RULE,
        {"id": email_open["id"], "input": {"status": "SUSPENDED"}},
        key=admin_key,
    )
    assert suspended.ok()["updateScoringRule"]["status"] == "SUSPENDED"
    await record(client, write_key, interaction("suspended", clock=clock))
    assert (await contact(client, write_key))["score"] == 21


async def test_manual_adjustments_are_explained_in_the_ledger(client, admin_key, write_key, clock):
    await record(client, write_key, interaction("m1", clock=clock))
    card = await contact(client, write_key)
    adjust = 'mutation($id: ID!) { adjustScore(contactId: $id, points: -4, comment: "duplicate open") { score } }'
    assert (await gql(client, adjust, {"id": card["id"]}, key=admin_key)).ok() == {
        "adjustScore": {"score": 5}
    }
    entries = (await contact(client, write_key))["scoreBreakdown"]["nodes"]
    assert entries[0] == {
        "reason": "MANUAL",
        "label": "manual adjustment",
        "points": -4,
        "detail": None,
        "comment": "duplicate open",
        "rule": None,
    }


async def test_fit_rules_score_attributes_and_follow_their_changes(client, admin_key, write_key):
    upsert = "mutation($c: [ContactInput!]!) { upsertContacts(contacts: $c) { errorCount } }"
    await gql(
        client,
        upsert,
        {"c": [{"email": "ceo@x.it", "jobTitle": "CEO", "region": "Lazio"}]},
        key=write_key,
    )
    fit_rule = "mutation($i: FitRuleInput!) { createFitRule(input: $i) { id } }"
    await gql(
        client,
        fit_rule,
        {
            "i": {
                "name": "C-level",
                "attribute": "JOB_TITLE",
                "operator": "CONTAINS",
                "value": "ceo",
                "points": 10,
            }
        },
        key=admin_key,
    )
    rid = (
        await gql(
            client,
            fit_rule,
            {
                "i": {
                    "name": "Lazio",
                    "attribute": "REGION",
                    "operator": "EQUALS",
                    "value": "Lazio",
                    "points": 5,
                }
            },
            key=admin_key,
        )
    ).ok()["createFitRule"]["id"]
    assert (await contact(client, write_key, "ceo@x.it"))["score"] == 15
    await gql(client, upsert, {"c": [{"email": "ceo@x.it", "region": "Lombardia"}]}, key=write_key)
    assert (await contact(client, write_key, "ceo@x.it"))["score"] == 10
    await gql(
        client,
        'mutation($id: ID!) { updateFitRule(id: $id, input: {value: "Lombardia"}) { id } }',
        {"id": rid},
        key=admin_key,
    )
    assert (await contact(client, write_key, "ceo@x.it"))["score"] == 15
    await gql(client, "mutation($id: ID!) { deleteFitRule(id: $id) }", {"id": rid}, key=admin_key)
    card = await contact(client, write_key, "ceo@x.it")
    assert card["score"] == 10 == sum(e["points"] for e in card["scoreBreakdown"]["nodes"])


async def test_decay_halves_behavioural_points_and_runs_idempotently(
    client, admin_key, write_key, clock
):
    await record(client, write_key, interaction("d1", "DEMO_REQUEST", clock=clock))
    run = "mutation { runDecay { contactsChanged points policyVersion } }"
    assert (await gql(client, run, key=admin_key)).ok()["runDecay"]["points"] == 0
    clock.now += timedelta(days=91)
    assert (await gql(client, run, key=admin_key)).ok()["runDecay"] == {
        "contactsChanged": 1,
        "points": -20,
        "policyVersion": 1,
    }
    assert (await gql(client, run, key=admin_key)).ok()["runDecay"]["points"] == 0
    card = await contact(client, write_key)
    assert card["score"] == 20
    assert card["scoreBreakdown"]["nodes"][0]["detail"] == "HALF_LIFE"


async def test_inactivity_penalty_applies_once_per_inactive_spell(
    client, admin_key, write_key, clock
):
    policy = "mutation { updateDecayPolicy(input: {halfLifeDays: null, inactivityDays: 30, inactivityPoints: 5}) { version } }"
    assert (await gql(client, policy, key=admin_key)).ok()["updateDecayPolicy"]["version"] == 2
    await record(client, write_key, interaction("i1", clock=clock))
    run = "mutation { runDecay { points } }"
    clock.now += timedelta(days=31)
    assert (await gql(client, run, key=admin_key)).ok()["runDecay"]["points"] == -5
    clock.now += timedelta(days=10)
    assert (await gql(client, run, key=admin_key)).ok()["runDecay"]["points"] == 0
    assert (await contact(client, write_key))["score"] == 4


async def test_fifty_concurrent_interactions_on_one_contact_are_all_counted_once(
    client, write_key, clock
):
    items = [interaction(f"c{i}", clock=clock) for i in range(50)]
    results = await asyncio.gather(*(record(client, write_key, item) for item in items))
    assert all(not r.errors for r in results), [r.errors for r in results if r.errors]
    assert (await contact(client, write_key))["score"] == 450
    again = await asyncio.gather(*(record(client, write_key, item) for item in items))
    assert all(r.ok()["recordInteraction"]["duplicate"] for r in again)
    card = await contact(client, write_key)
    assert card["score"] == 450 == sum(e["points"] for e in card["scoreBreakdown"]["nodes"])
    assert card["scoreBreakdown"]["totalCount"] == 50


@pytest.mark.parametrize(
    ("mutation", "variables", "code", "field"),
    [
        (
            RECORD,
            {
                "input": {
                    "contactId": "4242",
                    "type": "EMAIL_OPEN",
                    "occurredAt": "2026-11-23T09:00:00+00:00",
                    "idempotencyKey": "x",
                }
            },
            "NOT_FOUND",
            "contactId",
        ),
        (
            RECORD,
            {
                "input": {
                    "email": "a@b.it",
                    "type": "EMAIL_OPEN",
                    "occurredAt": "2026-11-23T10:00:00+00:00",
                    "idempotencyKey": "x",
                }
            },
            "BAD_USER_INPUT",
            "occurredAt",
        ),
        (
            RECORD,
            {
                "input": {
                    "email": "a@b.it",
                    "type": "EMAIL_OPEN",
                    "occurredAt": "2026-11-23T09:00:00",
                    "idempotencyKey": "x",
                }
            },
            "BAD_USER_INPUT",
            "occurredAt",
        ),
        (
            RECORD,
            {
                "input": {
                    "email": "a@b.it",
                    "contactId": "1",
                    "type": "EMAIL_OPEN",
                    "occurredAt": "2026-11-23T09:00:00+00:00",
                    "idempotencyKey": "x",
                }
            },
            "BAD_USER_INPUT",
            "contact",
        ),
        (
            RECORD,
            {
                "input": {
                    "email": "a@b.it",
                    "type": "PAGE_VISIT",
                    "page": "not a url",
                    "occurredAt": "2026-11-23T09:00:00+00:00",
                    "idempotencyKey": "x",
                }
            },
            "BAD_USER_INPUT",
            "page",
        ),
        (
            RECORD,
            {
                "input": {
                    "email": "a@b.it",
                    "type": "EMAIL_OPEN",
                    "occurredAt": "2026-11-23T09:00:00+00:00",
                    "idempotencyKey": " ",
                }
            },
            "BAD_USER_INPUT",
            "idempotencyKey",
        ),
        (
            CREATE_RULE,
            {
                "input": {
                    "name": "P",
                    "group": "SITE_VISIT",
                    "interactionType": "PAGE_VISIT",
                    "points": 5,
                }
            },
            "BAD_USER_INPUT",
            "page",
        ),
        (
            CREATE_RULE,
            {
                "input": {
                    "name": "P",
                    "group": "SITE_VISIT",
                    "interactionType": "PAGE_VISIT",
                    "page": "ftp://x.it/a",
                    "points": 5,
                }
            },
            "BAD_USER_INPUT",
            "page",
        ),
        (
            CREATE_RULE,
            {
                "input": {
                    "name": "P",
                    "group": "EMAIL",
                    "interactionType": "EMAIL_OPEN",
                    "points": 5000,
                }
            },
            "BAD_USER_INPUT",
            "points",
        ),
        (
            CREATE_RULE,
            {
                "input": {
                    "name": "Email open",
                    "group": "EMAIL",
                    "interactionType": "EMAIL_OPEN",
                    "points": 5,
                }
            },
            "CONFLICT",
            "name",
        ),
        (
            CREATE_RULE,
            {
                "input": {
                    "name": "P",
                    "group": "EMAIL",
                    "interactionType": "EMAIL_OPEN",
                    "points": 5,
                    "tagCode": "nope",
                }
            },
            "NOT_FOUND",
            "tagCode",
        ),
        (UPDATE_RULE, {"id": "1", "input": {"name": "Renamed"}}, "BAD_USER_INPUT", "input"),
        (UPDATE_RULE, {"id": "4", "input": {"page": None}}, "BAD_USER_INPUT", "page"),
        (UPDATE_RULE, {"id": "999", "input": {"points": 1}}, "NOT_FOUND", "id"),
    ],
)
async def test_bad_scoring_input_is_refused_and_writes_nothing(
    client, admin_key, mutation, variables, code, field
):
    before = (await gql(client, RULES, {"g": None}, key=admin_key)).ok()
    result = await gql(client, mutation, variables, key=admin_key)
    assert result.codes == [code], result.errors
    assert result.errors[0]["extensions"].get("field") == field
    assert (await gql(client, RULES, {"g": None}, key=admin_key)).ok() == before
    count = await gql(client, "{ contacts { totalCount } }", key=admin_key)
    assert count.ok()["contacts"]["totalCount"] == 0


async def test_deleting_a_system_rule_is_forbidden_and_custom_rules_can_go(client, admin_key):
    refused = await gql(client, 'mutation { deleteScoringRule(id: "1") }', key=admin_key)
    assert refused.codes == ["FORBIDDEN"] and "suspend it instead" in refused.errors[0]["message"]
    created = (
        await gql(
            client,
            CREATE_RULE,
            {
                "input": {
                    "name": "App",
                    "group": "APP",
                    "interactionType": "APP_INSTALL",
                    "points": 30,
                }
            },
            key=admin_key,
        )
    ).ok()
    rule_id = created["createScoringRule"]["id"]
    assert (
        await gql(
            client,
            "mutation($id: ID!) { deleteScoringRule(id: $id) }",
            {"id": rule_id},
            key=admin_key,
        )
    ).ok()
    assert len((await gql(client, RULES, {"g": None}, key=admin_key)).ok()["scoringRules"]) == 12


async def test_oversize_batches_are_refused_whole(client, write_key, clock):
    items = [interaction(f"o{i}", clock=clock) for i in range(1001)]
    result = await gql(client, RECORD_MANY, {"items": items}, key=write_key)
    assert result.codes == ["BAD_USER_INPUT"]
    assert (await gql(client, "{ contacts { totalCount } }", key=write_key)).ok()["contacts"][
        "totalCount"
    ] == 0


async def test_read_keys_cannot_record_or_change_rules(client, read_key, write_key, clock):
    assert (await record(client, read_key, interaction("r1", clock=clock))).codes == ["FORBIDDEN"]
    rule = {"name": "P", "group": "EMAIL", "interactionType": "EMAIL_OPEN", "points": 5}
    assert (await gql(client, CREATE_RULE, {"input": rule}, key=write_key)).codes == ["FORBIDDEN"]
    assert (await gql(client, "{ contacts { totalCount } }", key=read_key)).ok()["contacts"][
        "totalCount"
    ] == 0


async def test_tag_points_filter_finds_strong_interests(client, admin_key, write_key, clock):
    await gql(client, 'mutation { createTag(input: {name: "Acquisto"}) { id } }', key=admin_key)
    rules = (await gql(client, RULES, {"g": "PURCHASE"}, key=admin_key)).ok()["scoringRules"]
    purchase = next(r for r in rules if r["interactionType"] == "PURCHASE")
    await gql(
        client,
        'mutation($id: ID!) { updateScoringRule(id: $id, input: {tagCode: "acquisto"}) { id } }',
        {"id": purchase["id"]},
        key=admin_key,
    )
    for i in range(6):
        await record(
            client, write_key, interaction(f"p{i}", "PURCHASE", email="loyal@x.it", clock=clock)
        )
    await record(client, write_key, interaction("q", "PURCHASE", email="once@x.it", clock=clock))
    query = 'query($n: Int!) { contacts(filter: {tagPoints: [{code: "acquisto", minPoints: $n}]}) { nodes { email } } }'
    assert (await gql(client, query, {"n": 6}, key=write_key)).ok()["contacts"]["nodes"] == [
        {"email": "loyal@x.it"}
    ]
    assert len((await gql(client, query, {"n": 1}, key=write_key)).ok()["contacts"]["nodes"]) == 2


async def test_daily_caps_count_utc_days_whatever_offset_the_sender_uses(
    client, admin_key, write_key, clock
):
    rules = (await gql(client, RULES, {"g": "EMAIL"}, key=admin_key)).ok()["scoringRules"]
    email_open = next(r for r in rules if r["interactionType"] == "EMAIL_OPEN")
    await gql(
        client,
        "mutation($id: ID!) { updateScoringRule(id: $id, input: {dailyCap: 20}) { id } }",
        {"id": email_open["id"]},
        key=admin_key,
    )
    rome = timezone(timedelta(hours=1))
    for i in range(4):
        item = interaction(f"tz{i}", at=clock().astimezone(rome))
        await record(client, write_key, item)
    assert (await contact(client, write_key))["score"] == 20


async def test_a_malformed_contact_id_fails_only_its_own_item(client, write_key, clock):
    items = [
        {
            "contactId": "abc",
            "type": "EMAIL_OPEN",
            "occurredAt": clock().isoformat(),
            "idempotencyKey": "m1",
        },
        interaction("m2", clock=clock),
        interaction("m3", clock=clock, properties=[1]),
    ]
    payload = (await gql(client, RECORD_MANY, {"items": items}, key=write_key)).ok()[
        "recordInteractions"
    ]
    assert payload["results"][0]["error"]["field"] == "contactId"
    assert payload["results"][1]["error"] is None
    assert payload["results"][2]["error"]["field"] == "properties"


async def test_a_key_repeating_a_failed_item_is_recorded_on_its_own(client, write_key, clock):
    items = [
        {
            "contactId": "9999",
            "type": "EMAIL_OPEN",
            "occurredAt": clock().isoformat(),
            "idempotencyKey": "same",
        },
        interaction("same", clock=clock),
    ]
    payload = (await gql(client, RECORD_MANY, {"items": items}, key=write_key)).ok()[
        "recordInteractions"
    ]
    assert payload["results"][0]["error"]["code"] == "NOT_FOUND"
    assert payload["results"][1]["error"] is None and payload["results"][1]["duplicate"] is False
    assert (payload["recordedCount"], payload["errorCount"], payload["duplicateCount"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ('mutation { updateScoringRule(id: "1", input: {points: null}) { id } }', "points"),
        ('mutation { updateScoringRule(id: "1", input: {status: null}) { id } }', "status"),
        (
            'mutation { createFitRule(input: {name: "x", attribute: SECTOR, operator: EQUALS, value: "IT", points: 1, active: null}) { id } }',
            "active",
        ),
        (
            "mutation { updateDecayPolicy(input: {inactivityPoints: null}) { version } }",
            "inactivityPoints",
        ),
    ],
)
async def test_null_for_a_field_a_record_cannot_lack_is_bad_user_input(
    client, admin_key, mutation, field
):
    result = await gql(client, mutation, key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.errors[0]["extensions"]["field"] == field


async def test_a_partial_decay_policy_update_keeps_the_rest(client, admin_key):
    update = "mutation { updateDecayPolicy(input: {inactivityDays: 30, inactivityPoints: 5}) { version halfLifeDays inactivityDays inactivityPoints } }"
    assert (await gql(client, update, key=admin_key)).ok()["updateDecayPolicy"] == {
        "version": 2,
        "halfLifeDays": 90,
        "inactivityDays": 30,
        "inactivityPoints": 5,
    }
    history = (await gql(client, "{ decayPolicies { version } }", key=admin_key)).ok()[
        "decayPolicies"
    ]
    assert [p["version"] for p in history] == [2, 1]


async def test_interactions_and_fit_entries_can_be_read_back(client, admin_key, write_key, clock):
    await record(
        client, write_key, interaction("r1", "PAGE_VISIT", clock=clock, page="https://x.it/a?b=1")
    )
    fit_rule = 'mutation { createFitRule(input: {name: "Web", attribute: SOURCE, operator: EQUALS, value: "WEB", points: 3}) { id } }'
    await gql(client, fit_rule, key=admin_key)
    await gql(
        client,
        'mutation { upsertContacts(contacts: [{email: "lead@example.it", source: WEB}]) { errorCount } }',
        key=write_key,
    )
    query = """query { contactByEmail(email: "lead@example.it") {
        interactions(first: 5) { totalCount nodes { type page idempotencyKey } }
        scoreBreakdown(first: 5) { nodes { reason fitRule { name } } } } }"""
    card = (await gql(client, query, key=write_key)).ok()["contactByEmail"]
    assert card["interactions"] == {
        "totalCount": 1,
        "nodes": [{"type": "PAGE_VISIT", "page": "https://x.it/a?b=1", "idempotencyKey": "r1"}],
    }
    assert card["scoreBreakdown"]["nodes"] == [{"reason": "FIT", "fitRule": {"name": "Web"}}]


async def test_rules_read_from_the_cache_follow_every_change_of_a_rule_or_its_tag(
    client, admin_key, write_key, clock
):
    """Active rules are cached per version: an edit, a suspension and the deletion of the
    tag a rule gives all apply to the very next interaction."""
    await gql(client, 'mutation { createTag(input: {name: "Demo"}) { id } }', key=admin_key)
    rule = {"name": "Demo", "group": "FORM", "interactionType": "DEMO_SIGNUP", "points": 7,
            "tagCode": "demo"}  # fmt: skip
    created = (await gql(client, CREATE_RULE, {"input": rule}, key=admin_key)).ok()
    rule_id = created["createScoringRule"]["id"]
    first = (await record(client, write_key, interaction("d1", "DEMO_SIGNUP", clock=clock))).ok()
    assert first["recordInteraction"]["scoreDelta"] == 7
    await gql(client, UPDATE_RULE, {"id": rule_id, "input": {"points": 3}}, key=admin_key)
    second = (await record(client, write_key, interaction("d2", "DEMO_SIGNUP", clock=clock))).ok()
    assert second["recordInteraction"]["scoreDelta"] == 3
    assert (await gql(client, 'mutation { deleteTag(code: "demo") }', key=admin_key)).ok()
    third = (await record(client, write_key, interaction("d3", "DEMO_SIGNUP", clock=clock))).ok()
    assert third["recordInteraction"]["scoreDelta"] == 3
    assert third["recordInteraction"]["contact"]["tags"] == []
    await gql(client, UPDATE_RULE, {"id": rule_id, "input": {"status": "SUSPENDED"}}, key=admin_key)
    fourth = (await record(client, write_key, interaction("d4", "DEMO_SIGNUP", clock=clock))).ok()
    assert fourth["recordInteraction"]["scoreDelta"] == 0

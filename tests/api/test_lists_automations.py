"""Lists, clusters and automations through GraphQL: membership decided in the write's own
transaction and logged, automations acting in the same response, chains bounded, bad
definitions refused with codes and nothing stored."""

from __future__ import annotations

import pytest

from tests.factories import gql

UPSERT = "mutation($c: [ContactInput!]!) { upsertContacts(contacts: $c) { errorCount } }"
RECORD = """
mutation($input: InteractionInput!) {
  recordInteraction(input: $input) { contact { id score tags { tag { code } } lists { name } } }
}
"""
CREATE_LIST = """
mutation($input: ContactListInput!) {
  createList(input: $input) { id name kind filter count }
}
"""
LIST = """
query($id: ID!) {
  list(id: $id) { name count contacts(first: 10, orderBy: {field: SCORE, direction: DESC}) {
    totalCount nodes { email score } } }
}
"""
CREATE_TAG = "mutation($i: TagInput!) { createTag(input: $i) { code } }"
CREATE_AUTOMATION = """
mutation($input: AutomationInput!) {
  createAutomation(input: $input) { id name status trigger { kind threshold } actions { kind tag } }
}
"""
RUNS = """
query($a: ID) { automationRuns(automationId: $a, first: 100) { trigger depth outcome actions contactId } }
"""


def interaction(key, email, type_="DEMO_REQUEST", at="2026-11-23T08:00:00+00:00"):
    return {"input": {"email": email, "type": type_, "occurredAt": at, "idempotencyKey": key}}


def lead(email, region="Lazio", profiling=True, **more):
    return {"email": email, "region": region, "consent": {"profiling": profiling}, **more}


async def _events(uows, *types):
    async with uows() as uow:
        found = await uow.events.after(0, 10_000)
    return [e for e in found if not types or e.type.value in types]


async def _hot_list(client, key):
    created = await gql(client, CREATE_LIST, {"input": {
        "name": "Score above 50 in Lazio", "kind": "DYNAMIC",
        "filter": {"scoreAbove": 50, "regionIn": ["Lazio"]}}}, key=key)  # fmt: skip
    return created.ok()["createList"]


async def test_a_write_that_crosses_the_filter_enters_the_list_in_the_same_response(
    client, write_key, uows
):
    await gql(client, UPSERT, {"c": [lead("a@x.it"), lead("b@x.it", region="Lombardia")]},
              key=write_key)  # fmt: skip
    lst = await _hot_list(client, write_key)
    assert lst["kind"] == "DYNAMIC" and lst["count"] == 0
    assert lst["filter"] == {"scoreAbove": 50, "regionIn": ["Lazio"]}
    first = (await gql(client, RECORD, interaction("1", "a@x.it"), key=write_key)).ok()
    assert first["recordInteraction"]["contact"]["lists"] == []  # 40 points: not yet
    second = (await gql(client, RECORD, interaction("2", "a@x.it"), key=write_key)).ok()
    assert second["recordInteraction"]["contact"]["lists"] == [{"name": "Score above 50 in Lazio"}]
    for n in (3, 4):  # Lombardia: never in the list
        await gql(client, RECORD, interaction(str(n), "b@x.it"), key=write_key)
    shown = (await gql(client, LIST, {"id": lst["id"]}, key=write_key)).ok()["list"]
    assert shown["count"] == 1
    assert shown["contacts"]["nodes"] == [{"email": "a@x.it", "score": 80}]
    entered = await _events(uows, "LIST_ENTERED")
    assert [(e.payload["list_name"], e.payload["contact"]["email"]) for e in entered] == [
        ("Score above 50 in Lazio", "a@x.it")
    ]


async def test_changing_the_filter_moves_contacts_in_and_out_with_events(client, write_key, uows):
    await gql(client, UPSERT, {"c": [lead("a@x.it"), lead("m@x.it", region="Lombardia")]},
              key=write_key)  # fmt: skip
    lst = await _hot_list(client, write_key)
    for n, email in enumerate(["a@x.it", "a@x.it", "m@x.it", "m@x.it"]):
        await gql(client, RECORD, interaction(str(n), email), key=write_key)
    update = """mutation($id: ID!, $f: ContactFilter) {
      updateList(id: $id, input: {filter: $f}) { count } }"""
    moved = await gql(client, update, {"id": lst["id"], "f": {"scoreAbove": 50,
                                       "regionIn": ["Lombardia"]}}, key=write_key)  # fmt: skip
    assert moved.ok()["updateList"]["count"] == 1
    changes = [(e.type.value, e.payload["contact"]["email"])
               for e in await _events(uows, "LIST_ENTERED", "LIST_LEFT")]  # fmt: skip
    assert changes[-2:] == [("LIST_ENTERED", "m@x.it"), ("LIST_LEFT", "a@x.it")]


async def test_static_lists_take_explicit_members_and_log_each_real_change(client, write_key, uows):
    await gql(client, UPSERT, {"c": [lead("s1@x.it"), lead("s2@x.it")]}, key=write_key)
    ids = [(await gql(client, "query($e: String!) { contactByEmail(email: $e) { id } }",
                      {"e": e}, key=write_key)).ok()["contactByEmail"]["id"]
           for e in ("s1@x.it", "s2@x.it")]  # fmt: skip
    lst = (await gql(client, CREATE_LIST, {"input": {"name": "Fiera 2026", "kind": "STATIC"}},
                     key=write_key)).ok()["createList"]  # fmt: skip
    add = "mutation($l: ID!, $c: [ID!]!) { addListMembers(listId: $l, contactIds: $c) { count } }"
    remove = (
        "mutation($l: ID!, $c: [ID!]!) { removeListMembers(listId: $l, contactIds: $c) { count } }"
    )
    assert (await gql(client, add, {"l": lst["id"], "c": ids}, key=write_key)).ok()[
        "addListMembers"]["count"] == 2  # fmt: skip
    again = await gql(client, add, {"l": lst["id"], "c": ids[:1]}, key=write_key)
    assert again.ok()["addListMembers"]["count"] == 2
    assert (await gql(client, remove, {"l": lst["id"], "c": ids[1:]}, key=write_key)).ok()[
        "removeListMembers"]["count"] == 1  # fmt: skip
    kinds = [e.type.value for e in await _events(uows, "LIST_ENTERED", "LIST_LEFT")]
    assert kinds == ["LIST_ENTERED", "LIST_ENTERED", "LIST_LEFT"]
    dynamic = await _hot_list(client, write_key)
    refused = await gql(client, add, {"l": dynamic["id"], "c": ids}, key=write_key)
    assert refused.codes == ["BAD_USER_INPUT"]
    missing = await gql(client, add, {"l": lst["id"], "c": ["999"]}, key=write_key)
    assert missing.codes == ["NOT_FOUND"]


async def test_clusters_group_contacts_with_counts_and_average_scores(client, write_key):
    await gql(client, UPSERT, {"c": [
        lead("r1@x.it", city="Roma", sector="IT"), lead("r2@x.it", city="Roma", sector="IT"),
        lead("m1@x.it", region="Lombardia", city="Milano", sector="IT"),
        lead("n@x.it", region=None, sector="Retail"),
    ]}, key=write_key)  # fmt: skip
    await gql(client, RECORD, interaction("1", "r1@x.it"), key=write_key)
    query = """query($by: [ClusterDimension!]!, $f: ContactFilter) {
      clusters(by: $by, filter: $f) { values count averageScore } }"""
    found = (await gql(client, query, {"by": ["REGION", "CITY"]}, key=write_key)).ok()["clusters"]
    assert found == [
        {"values": ["Lazio", "Roma"], "count": 2, "averageScore": 20.0},
        {"values": ["Lombardia", "Milano"], "count": 1, "averageScore": 0.0},
        {"values": [None, None], "count": 1, "averageScore": 0.0},
    ]
    it = await gql(client, query, {"by": ["SECTOR"], "f": {"sectorIn": ["IT"]}}, key=write_key)
    assert it.ok()["clusters"] == [
        {"values": ["IT"], "count": 3, "averageScore": pytest.approx(13.33)}
    ]
    bad = await gql(client, query, {"by": []}, key=write_key)
    assert bad.codes == ["BAD_USER_INPUT"]


async def _tag(client, key, code):
    await gql(client, CREATE_TAG, {"i": {"name": code, "code": code}}, key=key)


async def test_an_automation_tags_and_alerts_in_the_same_transaction(client, admin_key, uows):
    await _tag(client, admin_key, "lead-caldo")
    await gql(client, UPSERT, {"c": [lead("hot@x.it"), lead("nocons@x.it", profiling=False)]},
              key=admin_key)  # fmt: skip
    created = await gql(client, CREATE_AUTOMATION, {"input": {
        "name": "Hot lead", "trigger": {"kind": "SCORE_CROSSED_ABOVE", "threshold": 50},
        "condition": {"regionIn": ["Lazio"]},
        "actions": [{"kind": "ADD_TAG", "tag": "lead-caldo"},
                    {"kind": "RAISE_ALERT", "message": "Call now", "level": "WARNING"}]}},
        key=admin_key)  # fmt: skip
    automation = created.ok()["createAutomation"]
    assert automation["status"] == "ACTIVE"
    await gql(client, RECORD, interaction("1", "hot@x.it"), key=admin_key)
    hot = (await gql(client, RECORD, interaction("2", "hot@x.it"), key=admin_key)).ok()
    assert hot["recordInteraction"]["contact"]["tags"] == [{"tag": {"code": "lead-caldo"}}]
    for n in (3, 4):
        await gql(client, RECORD, interaction(str(n), "nocons@x.it"), key=admin_key)
    runs = (await gql(client, RUNS, {"a": automation["id"]}, key=admin_key)).ok()["automationRuns"]
    assert [(r["outcome"], r["depth"]) for r in runs] == [("NO_CONSENT", 0), ("DONE", 0)]
    assert [a["result"] for a in runs[1]["actions"]] == ["tag added", "alert raised"]
    alerts = await _events(uows, "ALERT")
    assert [(a.payload["message"], a.payload["level"], a.payload["contact"]["email"])
            for a in alerts] == [("Call now", "WARNING", "hot@x.it")]  # fmt: skip
    added = await _events(uows, "TAG_ADDED")
    assert [(e.payload["tag"], e.payload["contact"]["email"]) for e in added] == [
        ("lead-caldo", "hot@x.it")
    ]


async def test_automations_that_trigger_each_other_stop_at_the_bound(client, admin_key):
    for code in ("ping", "pong"):
        await _tag(client, admin_key, code)
    await gql(client, UPSERT, {"c": [lead("loop@x.it")]}, key=admin_key)
    for name, heard, said in (("Ping", "ping", "pong"), ("Pong", "pong", "ping")):
        await gql(client, CREATE_AUTOMATION, {"input": {
            "name": name, "trigger": {"kind": "TAG_ADDED", "tag": heard},
            "actions": [{"kind": "REMOVE_TAG", "tag": heard}, {"kind": "ADD_TAG", "tag": said}]}},
            key=admin_key)  # fmt: skip
    cid = (await gql(client, "query { contactByEmail(email: \"loop@x.it\") { id } }",
                     key=admin_key)).ok()["contactByEmail"]["id"]  # fmt: skip
    assign = (
        'mutation($c: ID!) { assignTag(contactId: $c, code: "ping") { tags { tag { code } } } }'
    )
    done = await gql(client, assign, {"c": cid}, key=admin_key)
    assert done.ok()["assignTag"]["tags"]  # the write itself succeeds
    runs = (await gql(client, RUNS, {"a": None}, key=admin_key)).ok()["automationRuns"]
    depths = sorted((r["depth"], r["outcome"]) for r in runs)
    assert depths == [(0, "DONE"), (1, "DONE"), (2, "DONE"), (3, "DONE"), (4, "DONE"),
                      (5, "CHAIN_LIMIT")]  # fmt: skip


async def test_suspended_automations_do_not_run(client, admin_key):
    await _tag(client, admin_key, "lead-caldo")
    await gql(client, UPSERT, {"c": [lead("s@x.it")]}, key=admin_key)
    created = (await gql(client, CREATE_AUTOMATION, {"input": {
        "name": "Paused", "status": "SUSPENDED",
        "trigger": {"kind": "SCORE_CROSSED_ABOVE", "threshold": 10},
        "actions": [{"kind": "ADD_TAG", "tag": "lead-caldo"}]}}, key=admin_key)).ok()  # fmt: skip
    assert created["createAutomation"]["status"] == "SUSPENDED"
    await gql(client, RECORD, interaction("1", "s@x.it"), key=admin_key)
    assert (await gql(client, RUNS, {"a": None}, key=admin_key)).ok()["automationRuns"] == []


@pytest.mark.parametrize(
    ("variables", "code", "needle"),
    [
        ({"name": "x", "kind": "DYNAMIC", "filter": {"scoreBetween": {"min": 5, "max": 1}}},
         "BAD_USER_INPUT", "scoreBetween"),
        ({"name": "x", "kind": "DYNAMIC", "filter": {"hasAnyTag": ["nope"]}},
         "BAD_USER_INPUT", "nope"),
        ({"name": "x", "kind": "DYNAMIC"}, "BAD_USER_INPUT", "needs a filter"),
        ({"name": "x", "kind": "STATIC", "filter": {"scoreAbove": 1}}, "BAD_USER_INPUT", "static"),
        ({"name": "  ", "kind": "STATIC"}, "BAD_USER_INPUT", "name"),
    ],
)  # fmt: skip
async def test_bad_lists_are_refused_and_nothing_is_stored(
    client, write_key, variables, code, needle
):
    refused = await gql(client, CREATE_LIST, {"input": variables}, key=write_key)
    assert refused.codes == [code]
    assert needle in refused.errors[0]["message"]
    assert (await gql(client, "{ lists { id } }", key=write_key)).ok()["lists"] == []


async def test_duplicate_list_names_conflict(client, write_key):
    await _hot_list(client, write_key)
    again = await gql(client, CREATE_LIST, {"input": {"name": "Score above 50 in Lazio",
                                                      "kind": "STATIC"}}, key=write_key)  # fmt: skip
    assert again.codes == ["CONFLICT"]


@pytest.mark.parametrize(
    ("automation", "code", "needle"),
    [
        ({"trigger": {"kind": "SCORE_CROSSED_ABOVE"}, "actions": [{"kind": "RAISE_ALERT", "message": "m"}]},
         "BAD_USER_INPUT", "threshold"),
        ({"trigger": {"kind": "TAG_ADDED", "tag": "x"}, "actions": [{"kind": "ADD_TAG", "tag": "ghost"}]},
         "BAD_USER_INPUT", "ghost"),
        ({"trigger": {"kind": "BECAME_HOT"}, "actions": []}, "BAD_USER_INPUT", "at least one action"),
        ({"trigger": {"kind": "BECAME_HOT"}, "actions": [{"kind": "SET_LEAD_STATUS", "leadStatus": "TEPID"}]},
         "BAD_USER_INPUT", "leadStatus"),
        ({"trigger": {"kind": "LIST_ENTERED", "listId": "77"}, "actions": [{"kind": "RAISE_ALERT", "message": "m"}]},
         "NOT_FOUND", "77"),
        ({"trigger": {"kind": "BECAME_HOT"}, "actions": [{"kind": "CALL_WEBHOOK", "webhookId": "5"}]},
         "NOT_FOUND", "webhook"),
        ({"trigger": {"kind": "BECAME_HOT"}, "condition": {"lastActivityWithinDays": -1},
          "actions": [{"kind": "RAISE_ALERT", "message": "m"}]}, "BAD_USER_INPUT", "last_activity_within_days"),
    ],
)  # fmt: skip
async def test_bad_automations_are_refused_and_nothing_is_stored(
    client, admin_key, automation, code, needle
):
    await _tag(client, admin_key, "x")
    refused = await gql(
        client, CREATE_AUTOMATION, {"input": {"name": "A", **automation}}, key=admin_key
    )
    assert refused.codes == [code]
    assert needle in refused.errors[0]["message"]
    assert (await gql(client, "{ automations { id } }", key=admin_key)).ok()["automations"] == []


async def test_automations_need_admin(client, write_key):
    refused = await gql(client, CREATE_AUTOMATION, {"input": {
        "name": "A", "trigger": {"kind": "BECAME_HOT"},
        "actions": [{"kind": "RAISE_ALERT", "message": "m"}]}}, key=write_key)  # fmt: skip
    assert refused.codes == ["FORBIDDEN"]


async def test_inactivity_fires_once_per_spell_and_clock_lists_catch_up(
    client, admin_key, uows, clock
):
    from datetime import timedelta

    from services.inactivity import run_inactivity
    from services.lists import refresh_clock_lists

    await gql(client, UPSERT, {"c": [lead("idle@x.it"), lead("idle2@x.it", profiling=False)]},
              key=admin_key)  # fmt: skip
    await gql(client, CREATE_AUTOMATION, {"input": {
        "name": "Dormant", "trigger": {"kind": "INACTIVE", "days": 30},
        "condition": {"regionIn": ["Lazio"]},
        "actions": [{"kind": "SET_LEAD_STATUS", "leadStatus": "COLD"},
                    {"kind": "RAISE_ALERT", "message": "Gone quiet"}]}}, key=admin_key)  # fmt: skip
    recent = await gql(client, CREATE_LIST, {"input": {"name": "Active this month", "kind": "DYNAMIC",
                       "filter": {"lastActivityWithinDays": 30}}}, key=admin_key)  # fmt: skip
    assert recent.ok()["createList"]["count"] == 2
    later = clock() + timedelta(days=31)
    assert await run_inactivity(uows, later) == 2
    assert await run_inactivity(uows, later + timedelta(days=1)) == 0  # once per spell
    runs = (await gql(client, RUNS, {"a": None}, key=admin_key)).ok()["automationRuns"]
    assert sorted(r["outcome"] for r in runs) == ["DONE", "NO_CONSENT"]
    assert await _events(uows, "ALERT")
    # idle@x.it already left when the automation's write re-placed it; the job finds the other
    assert await refresh_clock_lists(uows, later) == 1
    left = await _events(uows, "LIST_LEFT")
    assert sorted(e.payload["contact"]["email"] for e in left) == ["idle2@x.it", "idle@x.it"]
    status = 'query { contactByEmail(email: "idle@x.it") { leadStatus } }'
    assert (await gql(client, status, key=admin_key)).ok()["contactByEmail"]["leadStatus"] == "COLD"


async def test_a_tag_given_by_a_scoring_rule_fires_tag_added_automations(client, admin_key, uows):
    await _tag(client, admin_key, "interessato-demo")
    await _tag(client, admin_key, "lead-caldo")
    rule = {"name": "Demo tag", "group": "FORM", "interactionType": "DEMO_REQUEST",
            "points": 1, "tagCode": "interessato-demo"}  # fmt: skip
    created = await gql(client, "mutation($input: ScoringRuleInput!) { createScoringRule(input: $input) { id } }",
                        {"input": rule}, key=admin_key)  # fmt: skip
    assert created.ok()
    await gql(client, CREATE_AUTOMATION, {"input": {
        "name": "Follow demo interest", "trigger": {"kind": "TAG_ADDED", "tag": "interessato-demo"},
        "actions": [{"kind": "ADD_TAG", "tag": "lead-caldo"}]}}, key=admin_key)  # fmt: skip
    await gql(client, UPSERT, {"c": [lead("t@x.it")]}, key=admin_key)
    first = (await gql(client, RECORD, interaction("1", "t@x.it"), key=admin_key)).ok()
    codes = {t["tag"]["code"] for t in first["recordInteraction"]["contact"]["tags"]}
    assert codes == {"interessato-demo", "lead-caldo"}
    await gql(client, RECORD, interaction("2", "t@x.it"), key=admin_key)  # a second point: no event
    added = [e.payload["tag"] for e in await _events(uows, "TAG_ADDED")]
    assert added == ["interessato-demo", "lead-caldo"]

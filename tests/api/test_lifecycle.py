"""Duplicates and merging, GDPR export and erasure, and KPIs through GraphQL."""

from __future__ import annotations

from datetime import timedelta

from services import ledger
from tests.factories import gql, traces

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id email score } }"
RECORD = """
mutation($input: InteractionInput!) { recordInteraction(input: $input) { contact { score } } }
"""
TAG = "mutation($c: ID!, $code: String!) { assignTag(contactId: $c, code: $code) { id } }"
ADJUST = """
mutation($c: ID!, $p: Int!, $m: String!) { adjustScore(contactId: $c, points: $p, comment: $m) { score } }
"""
CANDIDATES = """
query($min: Float) {
  duplicateCandidates(first: 10, minSimilarity: $min) { similarity reasons contacts { id email } }
}
"""
MERGE = """
mutation($keep: ID!, $ids: [ID!]!) {
  mergeContacts(keepId: $keep, mergeIds: $ids) {
    id email firstName phone score tags { points tag { code } }
  }
}
"""
CONTACT = "query($id: ID!) { contact(id: $id) { id email score } }"
EXPORT = "query($id: ID!) { exportContactData(id: $id) }"
ERASE = "mutation($id: ID!) { eraseContact(id: $id) }"
KPIS = """
query($g: KpiGroup!, $from: DateTime!, $to: DateTime!) {
  kpis(groupBy: $g, from: $from, to: $to) {
    key name contacts averageScore conversions conversionRate emailSends emailOpens
    emailOpenRate tierTransitions
  }
}
"""
LIST = "mutation($input: ContactListInput!) { createList(input: $input) { id } }"
MEMBERS = "mutation($l: ID!, $ids: [ID!]!) { addListMembers(listId: $l, contactIds: $ids) { id } }"
HOOK = "mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }"


async def create(client, key, email, **fields):
    data = (await gql(client, CREATE, {"input": {"email": email, **fields}}, key=key)).ok()
    return data["createContact"]["id"]


async def record(client, key, clock, email, type_, ikey, **extra):
    item = {"email": email, "type": type_, "occurredAt": clock().isoformat(),
            "idempotencyKey": ikey, **extra}  # fmt: skip
    return (await gql(client, RECORD, {"input": item}, key=key)).ok()


async def tag(client, admin_key, write_key, cid, code):
    await gql(client, 'mutation($n: String!) { createTag(input: {name: $n}) { id } }',
              {"n": code}, key=admin_key)  # fmt: skip
    (await gql(client, TAG, {"c": cid, "code": code}, key=write_key)).ok()


async def test_duplicate_candidates_name_the_reason(client, write_key, read_key):
    await create(client, write_key, "mario.rossi@x.it", firstName="Mario", lastName="Rossi")
    await create(client, write_key, "mariorossi@x.it")
    await create(client, write_key, "giulia@y.it", phone="+39 333 1234567")
    await create(client, write_key, "g.verdi@z.it", phone="333 123 4567")
    await create(client, write_key, "someone.else@w.it")
    found = (await gql(client, CANDIDATES, {"min": 0.9}, key=read_key)).ok()
    pairs = {
        tuple(c["email"] for c in d["contacts"]): (d["similarity"], d["reasons"])
        for d in found["duplicateCandidates"]
    }
    assert pairs == {
        ("mario.rossi@x.it", "mariorossi@x.it"): (1.0, ["same normalised email"]),
        ("giulia@y.it", "g.verdi@z.it"): (0.95, ["same phone"]),
    }


async def test_merge_sums_ledger_tags_and_lists_and_merged_ids_resolve(
    client, write_key, admin_key, clock, uows
):
    keep = await create(client, write_key, "mario.rossi@x.it", firstName="Mario")
    other = await create(
        client, write_key, "mariorossi@x.it", lastName="Rossi", phone="+39 333 1111111"
    )
    third = await create(client, write_key, "m.rossi@x.it", jobTitle="CTO")
    await record(client, write_key, clock, "mario.rossi@x.it", "EMAIL_OPEN", "k1")
    await record(client, write_key, clock, "mariorossi@x.it", "DEMO_REQUEST", "k2")
    await record(client, write_key, clock, "m.rossi@x.it", "WEBINAR_SIGNUP", "k3")
    (await gql(client, ADJUST, {"c": other, "p": -4, "m": "fix"}, key=admin_key)).ok()
    await tag(client, admin_key, write_key, keep, "vip")
    await tag(client, admin_key, write_key, other, "vip")
    (await gql(client, TAG, {"c": other, "code": "vip"}, key=write_key)).ok()
    await tag(client, admin_key, write_key, third, "cfo")
    lst = await gql(client, LIST, {"input": {"name": "Fiera", "kind": "STATIC"}}, key=write_key)
    list_id = lst.ok()["createList"]["id"]
    (await gql(client, MEMBERS, {"l": list_id, "ids": [other]}, key=write_key)).ok()
    scores = await ledger.ledger_sums(uows, [int(keep), int(other), int(third)])

    merged = (await gql(client, MERGE, {"keep": keep, "ids": [other, third]}, key=write_key)).ok()

    kept = merged["mergeContacts"]
    assert kept["id"] == keep and kept["email"] == "mario.rossi@x.it"
    assert kept["firstName"] == "Mario" and "1111111" in kept["phone"]
    assert kept["score"] == sum(scores.values()) == 9 + 40 + 25 - 4
    assert (await ledger.ledger_sums(uows, [int(keep)]))[int(keep)] == kept["score"]
    assert {t["tag"]["code"]: t["points"] for t in kept["tags"]} == {"vip": 3, "cfo": 1}
    for old in (other, third):
        resolved = (await gql(client, CONTACT, {"id": old}, key=write_key)).ok()["contact"]
        assert resolved["id"] == keep
    members = "query($id: ID!) { list(id: $id) { contacts(first: 10) { nodes { id } } } }"
    nodes = (await gql(client, members, {"id": list_id}, key=write_key)).ok()
    assert [n["id"] for n in nodes["list"]["contacts"]["nodes"]] == [keep]
    again = await gql(client, MERGE, {"keep": keep, "ids": [other]}, key=write_key)
    assert again.codes == ["NOT_FOUND"]


async def test_a_merged_into_contact_carries_its_aliases_along(client, write_key):
    a = await create(client, write_key, "a@x.it")
    b = await create(client, write_key, "b@x.it")
    c = await create(client, write_key, "c@x.it")
    (await gql(client, MERGE, {"keep": b, "ids": [a]}, key=write_key)).ok()
    (await gql(client, MERGE, {"keep": c, "ids": [b]}, key=write_key)).ok()
    for old in (a, b):
        assert (await gql(client, CONTACT, {"id": old}, key=write_key)).ok()["contact"]["id"] == c


async def test_merge_refuses_bad_requests(client, write_key, read_key):
    a = await create(client, write_key, "a@x.it")
    cases = [
        ({"keep": a, "ids": [a]}, "BAD_USER_INPUT"),
        ({"keep": a, "ids": ["999"]}, "NOT_FOUND"),
        ({"keep": "999", "ids": [a]}, "NOT_FOUND"),
        ({"keep": a, "ids": [str(i) for i in range(100, 151)]}, "BAD_USER_INPUT"),
    ]
    for variables, code in cases:
        assert (await gql(client, MERGE, variables, key=write_key)).codes == [code]
    assert (await gql(client, MERGE, {"keep": a, "ids": ["2"]}, key=read_key)).codes == [
        "FORBIDDEN"
    ]


EMAIL = "ermenegildo.zanzottera@studio-legale.it"
FIRST, LAST, PHONE = "Ermenegildo", "Zanzottera", "+39 347 881 2345"


async def _person_with_history(client, write_key, admin_key, clock) -> str:
    hook = {"name": "crm", "url": "https://hooks.example.com/in",
            "eventTypes": ["SCORE_CHANGED", "TIER_CHANGED"]}  # fmt: skip
    (await gql(client, HOOK, {"input": hook}, key=admin_key)).ok()
    cid = await create(
        client, write_key, EMAIL, firstName=FIRST, lastName=LAST, phone=PHONE,
        jobTitle="Avvocato", customAttributes={"spouse": FIRST + " senior"},
        consent={"emailMarketing": True, "profiling": True},
    )  # fmt: skip
    await create(client, write_key, "other@x.it")
    page = f"https://www.example.com/grazie?email={EMAIL}"
    props = {"form_email": EMAIL, "name": f"{FIRST} {LAST}", "tel": PHONE}
    for n, type_ in enumerate(["EMAIL_SENT", "EMAIL_SENT", "EMAIL_OPEN", "PURCHASE"]):
        await record(client, write_key, clock, EMAIL, type_, f"{type_}-{EMAIL}-{n}",
                     page=page, properties=props)  # fmt: skip
    await record(client, write_key, clock, "other@x.it", "EMAIL_SENT", "o1")
    (await gql(client, ADJUST, {"c": cid, "p": 5, "m": f"phoned {FIRST} at {PHONE}"},
               key=admin_key)).ok()  # fmt: skip
    dynamic = {"name": "Scored", "kind": "DYNAMIC", "filter": {"scoreAbove": 0}}
    (await gql(client, LIST, {"input": dynamic}, key=write_key)).ok()
    static = (await gql(client, LIST, {"input": {"name": "VIP", "kind": "STATIC"}},
                        key=write_key)).ok()["createList"]["id"]  # fmt: skip
    (await gql(client, MEMBERS, {"l": static, "ids": [cid]}, key=write_key)).ok()
    return cid


async def _kpis(client, key, clock):
    window = {"from": (clock() - timedelta(days=1)).isoformat(),
              "to": (clock() + timedelta(days=1)).isoformat()}  # fmt: skip
    return {
        group: (await gql(client, KPIS, {"g": group, **window}, key=key)).ok()["kpis"]
        for group in ("TIER", "SEGMENT", "LIST")
    }


async def _traces(uows) -> list[str]:
    """Every text and JSON value of every table that mentions the person."""
    return await traces(uows, [EMAIL, FIRST, LAST, PHONE, PHONE.replace(" ", ""), "3478812345"])


async def test_erase_leaves_no_trace_and_takes_the_contact_out_of_the_kpis(
    client, write_key, admin_key, clock, uows
):
    cid = await _person_with_history(client, write_key, admin_key, clock)
    assert sum(r["contacts"] for r in (await _kpis(client, admin_key, clock))["TIER"]) == 2
    assert await _traces(uows)  # the scan does see the person before

    erased = (await gql(client, ERASE, {"id": cid}, key=admin_key)).ok()

    assert erased == {"eraseContact": cid}
    assert await _traces(uows) == []
    after = await _kpis(client, admin_key, clock)
    assert sum(r["contacts"] for r in after["TIER"]) == 1  # the other contact only
    assert {r["name"]: r["contacts"] for r in after["LIST"]} == {"Scored": 0, "VIP": 0}
    card = (await gql(client, CONTACT, {"id": cid}, key=admin_key)).ok()["contact"]
    assert card["email"] == f"erased-{cid}@erased.invalid" and card["score"] == 9 + 60 + 5
    assert (await gql(client, ERASE, {"id": cid}, key=admin_key)).ok() == erased
    export = (await gql(client, EXPORT, {"id": cid}, key=admin_key)).ok()["exportContactData"]
    assert len(export["erasures"]) == 1 and export["contact"]["first_name"] is None


async def test_kpis_count_conversions_opens_and_transitions(client, write_key, admin_key, clock):
    await _person_with_history(client, write_key, admin_key, clock)
    rows = await _kpis(client, admin_key, clock)
    total = {
        k: sum(r[k] for r in rows["TIER"])
        for k in ("contacts", "conversions", "emailSends", "emailOpens")
    }
    assert total == {"contacts": 2, "conversions": 1, "emailSends": 3, "emailOpens": 1}
    lists = {r["name"]: r for r in rows["LIST"]}
    assert lists["VIP"]["contacts"] == 1 and lists["VIP"]["conversionRate"] == 1.0
    assert lists["VIP"]["emailOpenRate"] == 0.5 and lists["VIP"]["averageScore"] == 74.0
    assert lists["Scored"]["contacts"] == 1
    assert sum(r["tierTransitions"] for r in rows["TIER"]) >= 1


async def test_export_returns_everything_stored_and_needs_admin(
    client, write_key, admin_key, clock
):
    cid = await _person_with_history(client, write_key, admin_key, clock)
    refused = await gql(client, EXPORT, {"id": cid}, key=write_key)
    assert refused.codes == ["FORBIDDEN"]
    data = (await gql(client, EXPORT, {"id": cid}, key=admin_key)).ok()["exportContactData"]
    assert data["contact"]["email"] == EMAIL
    assert data["consent"] == {"email_marketing": True, "profiling": True}
    assert len(data["interactions"]) == 4 and len(data["score_entries"]) == 3
    assert {m["name"] for m in data["list_memberships"]} == {"VIP", "Scored"}
    assert data["events"] and data["webhook_deliveries"]
    assert data["webhook_deliveries"][0]["body"]["data"]["contact"]["email"] == EMAIL


async def test_erase_needs_admin_and_a_key(client, write_key):
    cid = await create(client, write_key, "a@x.it")
    assert (await gql(client, ERASE, {"id": cid}, key=write_key)).codes == ["FORBIDDEN"]
    assert (await gql(client, ERASE, {"id": cid})).codes == ["UNAUTHENTICATED"]
    assert (await gql(client, ERASE, {"id": "999"}, key=None)).codes == ["UNAUTHENTICATED"]

"""Erasure leaves nothing behind: through merge aliases, and in the database files."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from persistence.db import sqlite_path
from persistence.tables import metadata
from tests.api.test_lifecycle import CREATE, ERASE, HOOK, MERGE, create, record
from tests.factories import gql, traces

KEPT = "anna.bianchi@acme.it"
DUPLICATE = "a.bianchi.private@gmail.com"
FIRST, LAST, PHONE = "Annunziata", "Bianchiforte", "+39 333 765 4321"
NEEDLES = [DUPLICATE, FIRST, LAST, PHONE, KEPT]


async def merged_then_erased(client, write_key, admin_key, clock, uows) -> str:
    hook = {"name": "crm", "url": "https://hooks.example.com/in",
            "eventTypes": ["SCORE_CHANGED", "TIER_CHANGED"]}  # fmt: skip
    (await gql(client, HOOK, {"input": hook}, key=admin_key)).ok()
    kept = await create(client, write_key, KEPT)
    duplicate = await create(
        client, write_key, DUPLICATE, firstName=FIRST, lastName=LAST, phone=PHONE,
        consent={"emailMarketing": True, "profiling": True},
    )  # fmt: skip
    for n, kind in enumerate(["EMAIL_OPEN", "DEMO_REQUEST", "PURCHASE"]):
        await record(client, write_key, clock, DUPLICATE, kind, f"{DUPLICATE}-{n}")
    found = await traces(uows, [DUPLICATE])
    assert any(t.startswith("event.") for t in found)
    assert any(t.startswith("webhook_delivery.body") for t in found), found

    (await gql(client, MERGE, {"keep": kept, "ids": [duplicate]}, key=write_key)).ok()
    assert await traces(uows, [DUPLICATE]), "the merged duplicate's events still name it"
    (await gql(client, ERASE, {"id": duplicate}, key=admin_key)).ok()
    return kept


async def test_erasing_a_merged_contact_scrubs_its_duplicates_from_every_table(
    client, write_key, admin_key, clock, uows
):
    kept = await merged_then_erased(client, write_key, admin_key, clock, uows)

    assert await traces(uows, NEEDLES) == []
    card = "query($id: ID!) { contact(id: $id) { id email } }"
    found = (await gql(client, card, {"id": kept}, key=admin_key)).ok()["contact"]
    assert found == {"id": kept, "email": f"erased-{kept}@erased.invalid"}
    async with uows() as uow:
        aliases = (await uow.conn.execute(select(metadata.tables["contact_alias"]))).all()
    assert [(a.kept_id, a.email, a.first_name, a.phone) for a in aliases] == [
        (int(kept), None, None, None)
    ]


async def test_after_an_erasure_the_sqlite_files_hold_none_of_the_erased_bytes(
    client, write_key, admin_key, clock, uows, database_url
):
    path = sqlite_path(database_url)
    if path is None:
        pytest.skip("the database files are SQLite's")
    await merged_then_erased(client, write_key, admin_key, clock, uows)

    wal = path.with_name(path.name + "-wal")
    for needle in NEEDLES:
        assert needle.encode() not in path.read_bytes(), needle
        assert not wal.exists() or needle.encode() not in wal.read_bytes(), needle
    async with uows() as uow:
        assert (await uow.conn.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1


async def test_after_an_erasure_postgres_has_vacuumed_the_touched_tables(
    client, write_key, admin_key, clock, uows, database_url
):
    if sqlite_path(database_url) is not None:
        pytest.skip("VACUUM is Postgres's")
    await merged_then_erased(client, write_key, admin_key, clock, uows)

    async with uows() as uow:
        found = await uow.conn.exec_driver_sql(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables "
            "WHERE relname IN ('event', 'webhook_delivery') AND last_vacuum IS NOT NULL"
        )
        vacuumed = {r[0]: r[1] for r in found.all()}
    assert vacuumed == {"event": 0, "webhook_delivery": 0}


GONE_WRITES = [
    ("mutation($c: ID!) { recordInteraction(input: {contactId: $c, type: \"DEMO_REQUEST\", "
     "occurredAt: \"2026-11-23T08:00:00Z\", idempotencyKey: \"after-erasure\"}) { contact { id } } }",
     {}),
    ("mutation($c: ID!) { updateContact(id: $c, input: {jobTitle: \"CEO\"}) { id } }", {}),
    ("mutation($c: ID!) { assignTag(contactId: $c, code: \"vip\") { id } }", {}),
    ("mutation($c: ID!) { removeTag(contactId: $c, code: \"vip\") { id } }", {}),
    ("mutation($c: ID!) { adjustScore(contactId: $c, points: 50, comment: \"x\") { id } }", {}),
    ("mutation($c: ID!, $l: ID!) { addListMembers(listId: $l, contactIds: [$c]) { id } }",
     {"l": "static"}),
    ("mutation($c: ID!, $o: ID!) { mergeContacts(keepId: $c, mergeIds: [$o]) { id } }",
     {"o": "other"}),
    ("mutation($c: ID!, $o: ID!) { mergeContacts(keepId: $o, mergeIds: [$c]) { id } }",
     {"o": "other"}),
]  # fmt: skip
BATCH = """
mutation($c: ID!) {
  recordInteractions(interactions: [
    {contactId: $c, type: "PURCHASE", occurredAt: "2026-11-23T08:00:00Z", idempotencyKey: "b1"}
  ]) { recordedCount errorCount results { error { code field } } }
}
"""
TOP = """
query { contacts(first: 10, orderBy: {field: SCORE, direction: DESC}) { totalCount nodes { id } }
        clusters(by: [TIER]) { values count } }
"""


async def test_an_erased_contact_refuses_writes_and_is_left_out_everywhere(
    client, write_key, admin_key, clock, uows
):
    from tests.api.test_lifecycle import LIST, MEMBERS, _kpis, tag

    cid = await create(client, write_key, "zeta@x.it", jobTitle="Sales Director")
    other = await create(client, write_key, "other@x.it")
    for n, kind in enumerate(["DEMO_REQUEST", "PURCHASE", "WEBINAR_SIGNUP"]):
        await record(client, write_key, clock, "zeta@x.it", kind, f"z{n}")
    await tag(client, admin_key, write_key, cid, "vip")
    dynamic = {"name": "Scored", "kind": "DYNAMIC", "filter": {"scoreAbove": 0}}
    (await gql(client, LIST, {"input": dynamic}, key=write_key)).ok()
    static = (await gql(client, LIST, {"input": {"name": "VIP", "kind": "STATIC"}},
                        key=write_key)).ok()["createList"]["id"]  # fmt: skip
    (await gql(client, MEMBERS, {"l": static, "ids": [cid]}, key=write_key)).ok()
    before = (await gql(client, TOP, key=admin_key)).ok()
    assert before["contacts"]["nodes"][0]["id"] == cid

    (await gql(client, ERASE, {"id": cid}, key=admin_key)).ok()

    async with uows() as uow:
        left = await uow.conn.exec_driver_sql(
            f"SELECT payload FROM event WHERE type = 'LIST_LEFT' AND contact_id = {int(cid)}"
        )
        names = sorted(json.loads(p)["list_name"] if isinstance(p, str) else p["list_name"]
                       for (p,) in left.all())  # fmt: skip
        members = await uow.conn.exec_driver_sql(
            f"SELECT count(*) FROM list_member WHERE contact_id = {int(cid)}"
        )
        assert members.scalar() == 0
        score = (await uow.contacts.get(int(cid))).score
        assert score == await uow.lifecycle.ledger_sum(int(cid))
    assert names == ["Scored", "VIP"]
    ids = {"static": static, "other": other}
    for query, extra in GONE_WRITES:
        variables = {"c": cid, **{k: ids[v] for k, v in extra.items()}}
        refused = await gql(client, query, variables, key=admin_key)
        assert refused.codes == ["GONE"], (query, refused.errors)
        assert "erased" in refused.errors[0]["message"]
    batch = (await gql(client, BATCH, {"c": cid}, key=write_key)).ok()["recordInteractions"]
    assert batch["recordedCount"] == 0
    assert batch["results"][0]["error"] == {"code": "GONE", "field": "contactId"}
    async with uows() as uow:
        assert (await uow.contacts.get(int(cid))).score == score
    after = (await gql(client, TOP, key=admin_key)).ok()
    assert [n["id"] for n in after["contacts"]["nodes"]] == [other]
    assert after["contacts"]["totalCount"] == 1
    assert sum(c["count"] for c in after["clusters"]) == 1
    kpis = await _kpis(client, admin_key, clock)
    assert sum(r["contacts"] for r in kpis["TIER"]) == 1
    assert {r["name"]: r["contacts"] for r in kpis["LIST"]} == {"Scored": 0, "VIP": 0}
    exported = await client.get(
        "/export/contacts.csv", headers={"authorization": f"Bearer {admin_key}"}
    )
    assert "erased" not in exported.text and "other@x.it" in exported.text
    fake = await gql(client, CREATE, {"input": {"email": f"erased-{cid}@erased.invalid"}},
                     key=write_key)  # fmt: skip
    assert fake.codes == ["BAD_USER_INPUT"]


async def test_a_tier_policy_change_leaves_an_erased_contact_where_it_stood(
    client, write_key, admin_key, clock, uows
):
    from tests.api.test_tiers import UPDATE, policy_input

    ids = []
    for email in ("live@x.it", "gone@x.it"):
        ids.append(await create(client, write_key, email, source="WEB"))
        await record(client, write_key, clock, email, "EMAIL_OPEN", f"{email}-1")
    (await gql(client, ERASE, {"id": ids[1]}, key=admin_key)).ok()
    async with uows() as uow:
        before = await uow.conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM tier_change")
        last = before.scalar()
    lenient = policy_input(tiers=[{"name": "Tier 1", "minIndex": 0},
                                  {"name": "Tier 2", "minIndex": 10},
                                  {"name": "Tier 2+", "minIndex": 70}])  # fmt: skip

    (await gql(client, UPDATE, {"input": lenient}, key=admin_key)).ok()

    card = "query($id: ID!) { contact(id: $id) { tier } }"
    tiers = [(await gql(client, card, {"id": i}, key=admin_key)).ok()["contact"]["tier"]
             for i in ids]  # fmt: skip
    assert tiers == ["Tier 2", "Tier 1"]
    async with uows() as uow:
        moved = await uow.conn.exec_driver_sql(
            f"SELECT contact_id FROM tier_change WHERE id > {last}"
        )
        assert {r[0] for r in moved.all()} == {int(ids[0])}


async def test_an_alias_from_before_aliases_remembered_anyone_is_erased_by_its_events_email(
    client, write_key, admin_key, clock, uows
):
    hook = {"name": "crm", "url": "https://hooks.example.com/in", "eventTypes": ["SCORE_CHANGED"]}
    (await gql(client, HOOK, {"input": hook}, key=admin_key)).ok()
    kept = await create(client, write_key, KEPT)
    duplicate = await create(
        client, write_key, DUPLICATE, consent={"emailMarketing": True, "profiling": True}
    )
    await record(client, write_key, clock, DUPLICATE, "DEMO_REQUEST", "d1")
    (await gql(client, MERGE, {"keep": kept, "ids": [duplicate]}, key=write_key)).ok()
    async with uows(write=True) as uow:  # as migration 0010 left the aliases made before it
        await uow.conn.exec_driver_sql("UPDATE contact_alias SET email = NULL")
        await uow.conn.commit()
    assert any(t.startswith("webhook_delivery.body") for t in await traces(uows, [DUPLICATE]))

    (await gql(client, ERASE, {"id": kept}, key=admin_key)).ok()

    assert await traces(uows, [DUPLICATE, KEPT]) == []

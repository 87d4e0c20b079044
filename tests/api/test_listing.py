"""Contact tables: filters, ordering, cursor pagination both ways, and no N+1 queries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from tests.factories import gql

UPSERT = "mutation($c: [ContactInput!]!) { upsertContacts(contacts: $c) { errorCount } }"
PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: ContactFilter, $orderBy: ContactOrder) {
  contacts(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { email } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def load(client, key, n=25):
    contacts = [
        {
            "email": f"c{i:02d}@x.it",
            "region": "Lazio" if i % 2 else "Lombardia",
            "city": "Roma" if i % 2 else "Milano",
            "sector": "IT" if i % 3 == 0 else "Moda",
            "source": "EVENT" if i % 5 == 0 else "WEB",
            "lastName": f"Cognome{25 - i:02d}",
        }
        for i in range(n)
    ]
    assert (await gql(client, UPSERT, {"c": contacts}, key=key)).ok()["upsertContacts"][
        "errorCount"
    ] == 0


async def page(client, key, **variables):
    return (await gql(client, PAGE, variables, key=key)).ok()["contacts"]


def emails(connection):
    return [e["node"]["email"] for e in connection["edges"]]


async def test_forward_pages_cover_every_contact_once_in_order(client, read_key, write_key):
    await load(client, write_key)
    seen, after = [], None
    order = {"field": "EMAIL", "direction": "ASC"}
    while True:
        conn = await page(client, read_key, first=7, after=after, orderBy=order)
        seen += emails(conn)
        assert conn["totalCount"] == 25
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == [f"c{i:02d}@x.it" for i in range(25)]


async def test_backward_pages_with_last_and_before(client, read_key, write_key):
    await load(client, write_key)
    order = {"field": "EMAIL", "direction": "ASC"}
    tail = await page(client, read_key, last=3, orderBy=order)
    assert emails(tail) == ["c22@x.it", "c23@x.it", "c24@x.it"]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    before = await page(
        client, read_key, last=2, before=tail["pageInfo"]["startCursor"], orderBy=order
    )
    assert emails(before) == ["c20@x.it", "c21@x.it"]
    assert before["pageInfo"]["hasNextPage"] is True


async def test_descending_order_on_a_nullable_field_pages_without_gaps(client, read_key, write_key):
    await load(client, write_key)
    await gql(client, UPSERT, {"c": [{"email": "zz@x.it"}]}, key=write_key)
    order = {"field": "LAST_NAME", "direction": "DESC"}
    first = await page(client, read_key, first=20, orderBy=order)
    rest = await page(
        client, read_key, first=20, after=first["pageInfo"]["endCursor"], orderBy=order
    )
    together = emails(first) + emails(rest)
    assert len(together) == len(set(together)) == 26
    assert together[0] == "c00@x.it" and together[-1] == "zz@x.it"


async def test_filters_compose_with_and_or_not(client, read_key, write_key):
    await load(client, write_key)
    lazio_it = {"regionIn": ["Lazio"], "sectorIn": ["IT"]}
    conn = await page(
        client, read_key, first=50, filter=lazio_it, orderBy={"field": "EMAIL", "direction": "ASC"}
    )
    assert emails(conn) == ["c03@x.it", "c09@x.it", "c15@x.it", "c21@x.it"]
    either = {"or": [{"sourceIn": ["EVENT"]}, {"cityIn": ["Roma"]}], "not": {"emailContains": "C1"}}
    conn = await page(
        client, read_key, first=50, filter=either, orderBy={"field": "EMAIL", "direction": "ASC"}
    )
    expected = [f"c{i:02d}@x.it" for i in range(25) if (i % 5 == 0 or i % 2) and not 10 <= i <= 19]
    assert emails(conn) == expected
    assert conn["totalCount"] == len(expected)


async def test_score_and_tag_filters(client, read_key, write_key):
    await load(client, write_key, n=4)
    await gql(client, 'mutation { createTag(input: {name: "Lead caldo"}) { id } }', key=write_key)
    first = await page(client, read_key, first=1, orderBy={"field": "EMAIL", "direction": "ASC"})
    contact = (
        await gql(client, 'query { contactByEmail(email: "c00@x.it") { id } }', key=read_key)
    ).ok()
    await gql(
        client,
        'mutation($id: ID!) { assignTag(contactId: $id, code: "lead-caldo") { id } }',
        {"id": contact["contactByEmail"]["id"]},
        key=write_key,
    )
    tagged = await page(client, read_key, filter={"hasAnyTag": ["lead-caldo"]})
    assert emails(tagged) == emails(first) == ["c00@x.it"]
    assert (await page(client, read_key, filter={"scoreAbove": 0}))["totalCount"] == 0
    assert (await page(client, read_key, filter={"scoreBelow": 1}))["totalCount"] == 4
    assert (await page(client, read_key, filter={"hasAllTags": []}))["totalCount"] == 4


async def test_activity_filters_use_the_injected_clock(client, read_key, write_key, clock):
    await load(client, write_key, n=3)
    assert (await page(client, read_key, filter={"lastActivityWithinDays": 1}))["totalCount"] == 3
    clock.now += timedelta(days=10)
    assert (await page(client, read_key, filter={"lastActivityWithinDays": 7}))["totalCount"] == 0
    assert (await page(client, read_key, filter={"lastActivityOlderThanDays": 7}))[
        "totalCount"
    ] == 3


async def test_the_same_page_asked_again_follows_the_clock_and_the_data(
    client, read_key, write_key, clock
):
    """Page statements are reused per filter; one that reads the clock is not reused
    across times, and none holds on to rows."""
    await load(client, write_key, n=3)
    recent = {"lastActivityWithinDays": 7}
    assert len(emails(await page(client, read_key, filter=recent))) == 3
    assert len(emails(await page(client, read_key, filter=recent))) == 3
    clock.now += timedelta(days=10)
    assert emails(await page(client, read_key, filter=recent)) == []
    await load(client, write_key, n=5)  # two new contacts, active now
    assert sorted(emails(await page(client, read_key, filter=recent))) == ["c03@x.it", "c04@x.it"]


async def test_a_page_with_companies_and_tags_runs_a_constant_number_of_statements(
    client, app, read_key, write_key
):
    query = "{ contacts(first: 100) { edges { node { email company { name score contactCount } tags { points tag { code } } } } } }"

    async def statements_for(n):
        companies = []
        for i in range(3):
            r = await gql(
                client,
                "mutation($n: String!) { createCompany(input: {name: $n}) { id } }",
                {"n": f"Co{n}-{i}"},
                key=write_key,
            )
            companies.append(r.ok()["createCompany"]["id"])
        batch = [{"email": f"n{n}-{i}@x.it", "companyId": companies[i % 3]} for i in range(n)]
        await gql(client, UPSERT, {"c": batch}, key=write_key)
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            result = (await gql(client, query, key=read_key)).ok()
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert all(e["node"]["company"] for e in result["contacts"]["edges"])
        skipped = ("BEGIN", "ROLLBACK", "COMMIT")
        return [
            s
            for s in seen
            if not s.lstrip().upper().startswith(skipped) and "FROM api_key" not in s
        ]

    small = await statements_for(10)
    large = await statements_for(90)
    assert len(small) == len(large) <= 6, large

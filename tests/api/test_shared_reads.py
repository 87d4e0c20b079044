"""A query's reads share one connection (persistence.unit_of_work.SharedReads): a contact
card or a query of many aliases takes one connection out of the pool, not one per read;
mutations keep their own units of work."""

from __future__ import annotations

from sqlalchemy import event

from tests.factories import gql

CARD = """query($id: ID!) { contact(id: $id) { id company { name } tags { points } lists { id }
  segment { code } scoreBreakdown(first: 5) { nodes { points } }
  tierHistory(first: 5) { nodes { kind } } } }"""
ALIASES = "{ " + " ".join(f'c{i}: contact(id: "1") {{ id score }}' for i in range(12)) + " }"


def _checkouts(app) -> list[int]:
    seen: list[int] = []
    event.listen(app.state.db.engine.sync_engine, "checkout", lambda *_: seen.append(1))
    return seen


async def test_a_card_and_many_aliases_read_on_one_connection(app, client, write_key):
    created = await gql(client, 'mutation { createContact(input: {email: "a@x.it"}) { id } }',
                        key=write_key)  # fmt: skip
    cid = created.ok()["createContact"]["id"]
    await gql(client, "{ tags { id } }", key=write_key)  # the key is cached from here on
    seen = _checkouts(app)
    card = (await gql(client, CARD, {"id": cid}, key=write_key)).ok()
    assert card["contact"]["id"] == cid
    assert len(seen) == 1
    seen.clear()
    many = (await gql(client, ALIASES, key=write_key)).ok()
    assert len(many) == 12 and len(seen) == 1


async def test_a_failed_read_does_not_spoil_the_others_of_its_request(client, write_key):
    both = await gql(client, '{ a: contact(id: "999") { id } b: tags { id } }', key=write_key)
    assert both.codes == ["NOT_FOUND"] and both.data == {"a": None, "b": []}


async def test_a_mutation_reads_what_it_wrote(client, write_key):
    made = await gql(
        client,
        'mutation { createContact(input: {email: "m@x.it", firstName: "M"}) { id fullName '
        "company { id } tags { points } } }",
        key=write_key,
    )
    assert made.ok()["createContact"]["fullName"] == "M"

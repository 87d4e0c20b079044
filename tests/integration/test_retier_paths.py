"""Re-tiering after a policy change set-based (`uow.contacts.rules_changed`, settled by
`services.settle`: SQL places everyone, only movers come back to Python, only lists that read
tier, segment or lead status are decided) leaves exactly what the per-contact path
(`uow.contacts.touch`: every contact placed in Python, every list decided) leaves: the same
contacts, change log, list members and events.

Generated contacts with ledgers, interactions and pinned statuses, dynamic lists of any filter
and tier policies; both paths run on the same data in one transaction, each inside a savepoint
that is rolled back. Runs on SQLite and, with TEST_DATABASE_URL, on Postgres.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.bootstrap import unit_of_work_factory
from domain.errors import InvalidInput
from domain.filters import ContactFilter, validate_filter
from domain.lists import ListKind
from domain.tiers import validate_tier_policy
from persistence.db import Database
from persistence.filters_sql import contact_t
from persistence.tables import metadata
from persistence.unit_of_work import UnitOfWork
from services.settle import settle
from tests.integration.test_tier_agreement import _store, histories, policies
from tests.strategies import LEAVES, NOW, contact_sets, filters

EXAMPLES = int(os.environ.get("RETIER_PATHS_EXAMPLES", "60"))
change_t = metadata.tables["tier_change"]
member_t = metadata.tables["list_member"]
# A list reading one of what a re-tier moves (or something it does not), else any filter.
SIMPLE_LISTS = st.sampled_from(["tier_in", "segment_in", "lead_status_in", "score_above"]).flatmap(
    lambda name: LEAVES[name].map(lambda value: ContactFilter(**{name: value}))
)
LIST_FILTERS = st.one_of(SIMPLE_LISTS, filters())
# List definitions differ from example to example; so must their stamps (lists.watched
# caches the parsed definitions by count, id sum and newest update).
STAMPS = itertools.count(1)


async def _state(uow: UnitOfWork, first_event: int) -> tuple[object, ...]:
    c = contact_t.c
    contacts = await uow.conn.execute(
        select(c.id, c.tier, c.tier_index, c.tier_reason, c.lead_status, c.segment,
               c.tier_version, c.segment_version).order_by(c.id)
    )  # fmt: skip
    h = change_t.c
    log = await uow.conn.execute(
        select(h.contact_id, h.kind, h.from_value, h.to_value, h.version, h.reason)
    )
    members = await uow.conn.execute(select(member_t.c.list_id, member_t.c.contact_id))
    events = [(e.type, e.contact_id, e.payload) for e in uow.events.pending[first_event:]]
    return (
        [tuple(r) for r in contacts],
        sorted((tuple(r) for r in log), key=repr),
        sorted(tuple(r) for r in members),
        sorted(events, key=repr),
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    policy=policies(),
    contacts=contact_sets(max_size=8),
    wheres=st.lists(LIST_FILTERS, min_size=1, max_size=4),
    data=st.data(),
)
async def test_set_based_re_tier_leaves_what_the_per_contact_path_leaves(
    database_url, policy, contacts, wheres, data
):
    try:
        validate_tier_policy(policy)
        for where in wheres:
            validate_filter(where)
    except InvalidInput:
        assume(False)
    assume(contacts)
    ids = [c.id for c in contacts]
    entries, interactions, pinned = data.draw(histories(ids))
    stamp = NOW - timedelta(microseconds=next(STAMPS))
    db = Database(database_url)
    try:
        async with unit_of_work_factory(db)(write=True) as uow:  # rolled back: never committed
            await _store(uow.conn, contacts, entries, interactions, pinned)
            for i, where in enumerate(wheres):
                lid = await uow.lists.insert(f"list {i}", None, ListKind.DYNAMIC, where, stamp)
                created = await uow.lists.get(lid)
                assert created is not None
                await uow.lists.store_all(created, NOW)
            current = await uow.tiers.policy()
            assert current is not None
            await uow.tiers.add_policy(replace(policy, version=current.version + 1), None, NOW)
            outcome = []
            for set_based in (False, True):
                savepoint = await uow.conn.begin_nested()
                first_event = len(uow.events.pending)
                if set_based:
                    uow.contacts.rules_changed(ids[0], ids[-1], NOW)
                else:
                    uow.contacts.touch(ids, NOW)
                await settle(uow)
                outcome.append(await _state(uow, first_event))
                await savepoint.rollback()
                del uow.events.pending[first_event:]
            per_contact, set_based = outcome
            assert set_based == per_contact
    finally:
        await db.dispose()

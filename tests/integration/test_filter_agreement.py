"""The domain predicate and the SQL compilation of a ContactFilter select the same contacts.

This is what keeps live list membership (decided in Python for the changed contact) and list
queries (run in SQL) consistent. Runs on SQLite and, with TEST_DATABASE_URL, on Postgres.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from sqlalchemy import insert, select

from domain.filters import ContactFilter, matches, predicate, validate_filter
from domain.lists import ContactList, ListKind, Membership
from persistence.db import Database
from persistence.filters_sql import company_t, compile_filter, contact_t, contact_tag_t, tag_t
from tests.strategies import COMPANIES, NOW, TAGS, contact_sets, filters

EXAMPLES = int(os.environ.get("FILTER_AGREEMENT_EXAMPLES", "500"))


def _rows(contacts):
    return [
        {
            "id": c.id,
            "email": c.email,
            "score": c.score,
            "tier": c.tier,
            "segment": c.segment,
            "lead_status": c.lead_status,
            "sector": c.sector,
            "region": c.region,
            "city": c.city,
            "contact_type": c.contact_type.value if c.contact_type else None,
            "source": c.source.value if c.source else None,
            "funnel_stage": c.funnel_stage.value if c.funnel_stage else None,
            "company_id": c.company_id,
            "custom_attributes": {},
            "consent_email": False,
            "consent_profiling": False,
            "created_at": c.created_at,
            "updated_at": c.created_at,
            "last_activity_at": c.last_activity_at,
        }
        for c in contacts
    ]


async def _sql_selection(db: Database, contacts, where: ContactFilter) -> set[int]:
    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        try:
            companies = [
                {
                    "id": i,
                    "name": f"Co {i}",
                    "company_type": t.value if t else None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i, t in COMPANIES.items()
            ]
            await conn.execute(insert(company_t), companies)
            await conn.execute(
                insert(tag_t),
                [
                    {"id": i + 1, "name": code, "code": code, "created_at": NOW}
                    for i, code in enumerate(TAGS)
                ],
            )
            if contacts:
                await conn.execute(insert(contact_t), _rows(contacts))
            links = [
                {
                    "contact_id": c.id,
                    "tag_id": TAGS.index(code) + 1,
                    "points": points,
                    "first_at": NOW,
                    "last_at": NOW,
                }
                for c in contacts
                for code, points in c.tag_points.items()
            ]
            if links:
                await conn.execute(insert(contact_tag_t), links)
            result = await conn.execute(select(contact_t.c.id).where(compile_filter(where, NOW)))
            return {row[0] for row in result}
        finally:
            await transaction.rollback()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(contacts=contact_sets(), where=filters())
async def test_domain_predicate_and_sql_select_the_same_contacts(database_url, contacts, where):
    validate_filter(where)
    expected = {c.id for c in contacts if matches(where, c, NOW)}
    # The compiled predicate dynamic lists decide membership with agrees too.
    assert {c.id for c in contacts if predicate(where, NOW)(c)} == expected
    lst = ContactList(1, "l", ListKind.DYNAMIC, where, None, NOW, NOW)
    membership = Membership.of([lst], NOW)
    assert {c.id for c in contacts if membership.lists_of(c)} == expected
    db = Database(database_url)
    try:
        assert await _sql_selection(db, contacts, where) == expected
    finally:
        await db.dispose()

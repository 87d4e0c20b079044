"""Recording interactions (services.interactions) on the fake unit of work: rules, caps,
idempotency, unknown contacts, tags from rules, and what the writes record for settling."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import NotFound
from domain.scoring import LedgerReason, RuleGroup
from services.interactions import AppliedRule, InteractionInput, record_interactions
from tests.fakes import T0, FakeUnitOfWorkFactory, contact, rule, tag

NOW = T0 + timedelta(hours=3)
PRICING = "https://www.example.com/prezzi"


def visit(
    key: str,
    contact_id: int = 1,
    kind: str = "EMAIL_OPEN",
    *,
    at: datetime = T0,
    page: str | None = None,
) -> InteractionInput:
    return InteractionInput(kind, at, key, contact_id=contact_id, page=page)


@pytest.fixture
def uows() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory().seed(
        contact(1),
        contact(2),
        tag(5, "pricing-interest"),
        rule(1, "EMAIL_OPEN", 9, name="Email open"),
        rule(2, "UNSUBSCRIBE", -20),
        rule(3, "PAGE_VISIT", 15, group=RuleGroup.SITE_VISIT, page=PRICING, tag_id=5),
        rule(4, "WEBINAR_SIGNUP", 10, daily_cap=25),
        rule(5, "PAGE_VISIT", 4, group=RuleGroup.SITE_VISIT, page=f"{PRICING}?plan=pro"),
    )


async def test_a_matching_rule_awards_its_points_to_the_contact(uows):
    [result] = await record_interactions(uows, [visit("k1")], NOW)

    assert (result.score_delta, result.applied) == (9, (AppliedRule(1, "Email open", 9),))
    assert uows.store.contacts[1].score == 9
    [entry] = uows.store.ledger
    assert (entry.reason, entry.rule_id, entry.points, entry.at) == (LedgerReason.RULE, 1, 9, T0)
    assert entry.interaction_id == result.interaction.id


async def test_a_negative_rule_takes_points_away(uows):
    await record_interactions(uows, [visit("k1", kind="UNSUBSCRIBE")], NOW)

    assert uows.store.contacts[1].score == -20


async def test_an_interaction_no_rule_matches_is_recorded_with_no_points(uows):
    [result] = await record_interactions(uows, [visit("k1", kind="PODCAST_LISTEN")], NOW)

    assert (result.error, result.score_delta, result.applied) == (None, 0, ())
    assert len(uows.store.interactions) == 1 and uows.store.ledger == []


async def test_a_site_visit_scores_only_on_the_rules_page_after_normalisation(uows):
    pages = {"same": "HTTPS://WWW.Example.com:443/prezzi/?utm_source=x#top",
             "other": "https://www.example.com/chi-siamo", "pro": f"{PRICING}?plan=pro"}  # fmt: skip
    items = [visit(key, kind="PAGE_VISIT", page=page) for key, page in pages.items()]

    results = await record_interactions(uows, items, NOW)

    assert [r.score_delta for r in results] == [15, 0, 15 + 4]
    assert [{a.rule_id for a in r.applied} for r in results] == [{3}, set(), {3, 5}]


async def test_a_daily_cap_bounds_the_points_of_one_batch(uows):
    items = [visit(f"k{n}", kind="WEBINAR_SIGNUP", at=T0 + timedelta(minutes=n)) for n in range(4)]

    results = await record_interactions(uows, items, NOW)

    assert [r.score_delta for r in results] == [10, 10, 5, 0]
    assert uows.store.contacts[1].score == 25


async def test_a_daily_cap_counts_what_earlier_calls_gave_the_same_utc_day_only(uows):
    await record_interactions(uows, [visit("k1", kind="WEBINAR_SIGNUP")], NOW)
    await record_interactions(uows, [visit("k2", kind="WEBINAR_SIGNUP")], NOW)
    [third] = await record_interactions(uows, [visit("k3", kind="WEBINAR_SIGNUP")], NOW)
    # 2 March 00:30 in Rome is still 1 March in UTC: another day for the cap
    rome = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    [other_day] = await record_interactions(
        uows, [visit("k4", kind="WEBINAR_SIGNUP", at=rome)], NOW
    )

    assert (third.score_delta, other_day.score_delta) == (5, 10)


async def test_a_daily_cap_is_per_contact(uows):
    items = [visit(f"k{n}", contact_id=1 + n % 2, kind="WEBINAR_SIGNUP") for n in range(4)]

    results = await record_interactions(uows, items, NOW)

    assert [r.score_delta for r in results] == [10, 10, 10, 10]


async def test_same_idempotency_key_in_one_batch_counts_once(uows):
    first, again = await record_interactions(uows, [visit("k1"), visit("k1")], NOW)

    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.interaction == first.interaction and again.score_delta == 9
    assert len(uows.store.interactions) == 1
    assert uows.store.contacts[1].score == 9


async def test_same_idempotency_key_in_a_later_call_counts_once(uows):
    [first] = await record_interactions(uows, [visit("k1")], NOW)
    [again] = await record_interactions(uows, [visit("k1")], NOW + timedelta(minutes=1))

    assert again.duplicate and again.interaction == first.interaction
    assert again.applied == first.applied
    assert len(uows.store.ledger) == 1 and uows.store.contacts[1].score == 9


async def test_an_unknown_contact_id_is_not_found_and_the_rest_is_recorded(uows):
    unknown, known = await record_interactions(uows, [visit("k1", 99), visit("k2", 2)], NOW)

    assert isinstance(unknown.error, NotFound) and unknown.error.code == "NOT_FOUND"
    assert unknown.interaction is None
    assert known.error is None and uows.store.contacts[2].score == 9


async def test_an_unknown_email_creates_the_contact_and_scores_it(uows):
    item = InteractionInput("EMAIL_OPEN", T0, "k1", email=" New@Example.IT ")

    [result] = await record_interactions(uows, [item], NOW)

    created = uows.store.contacts[result.interaction.contact_id]
    assert (created.email, created.score, created.last_activity_at) == ("new@example.it", 9, T0)
    assert created.id not in (1, 2)


async def test_a_rules_tag_is_given_once_and_gains_a_point_per_trigger(uows):
    items = [visit(f"k{n}", kind="PAGE_VISIT", page=PRICING) for n in range(2)]
    await record_interactions(uows, items, NOW)
    await record_interactions(uows, [visit("k9", kind="PAGE_VISIT", page=PRICING)], NOW)

    assert uows.store.held[(1, 5)].points == 3
    first, second = (u.changes for u in uows.committed)
    assert (first.tags, second.tags) == ([(1, 5, True)], [])
    assert 1 in second.placed


async def test_the_score_is_the_ledger_sum(uows):
    items = [visit("a"), visit("b", kind="UNSUBSCRIBE"), visit("c", kind="PAGE_VISIT", page=PRICING),
             visit("d", 2, kind="WEBINAR_SIGNUP")]  # fmt: skip
    await record_interactions(uows, items, NOW)

    for cid in (1, 2):
        ledger = sum(e.points for e in uows.store.ledger if e.contact_id == cid)
        assert uows.store.contacts[cid].score == ledger
    assert uows.store.contacts[1].score == 9 - 20 + 15


async def test_score_deltas_are_recorded_per_contact_for_settling(uows):
    items = [visit("a"), visit("b", kind="UNSUBSCRIBE"), visit("c", 2)]

    await record_interactions(uows, items, NOW)

    [unit] = uows.committed
    assert unit.changes.scores == {1: -11, 2: 9}
    assert unit.changes.placed == {1, 2} and unit.changes.now == NOW
    assert [(e.type.value, e.contact_id) for e in unit.published] == [
        ("INTERACTION", 1), ("INTERACTION", 1), ("INTERACTION", 2)
    ]  # fmt: skip


async def test_a_capped_rule_edited_to_the_other_sign_gives_its_points_within_the_cap(uows):
    capped = rule(6, "EVENT_CHECKIN", 6, daily_cap=10)
    uows.seed(capped)
    await record_interactions(uows, [visit("k1", kind="EVENT_CHECKIN")], NOW)
    uows.seed(replace(capped, points=-6))

    [result] = await record_interactions(uows, [visit("k2", kind="EVENT_CHECKIN")], NOW)

    assert result.score_delta == -6  # the day's total goes from 6 to 0, within -10..10

"""Reading many contacts by id: a dense chunk is read by range, and only the ids asked for
come back, whatever lies between them."""

from __future__ import annotations

from datetime import timedelta

from domain.scoring import LedgerReason, ledger_entry
from persistence.base import dense_span


def test_dense_span_only_for_many_ids_packed_in_a_narrow_range():
    assert dense_span(list(range(1, 1001))) == (1, 1000)
    assert dense_span(list(range(1, 4001, 4))) is None  # 1,000 ids over 4,000: sparse
    assert dense_span([5, 9, 7] * 10) is None  # few ids: IN is cheap
    assert dense_span(list(range(500, 0, -1))) == (1, 500)  # any order


async def test_a_dense_chunk_reads_exactly_the_ids_asked_for(uows, clock):
    now = clock()
    async with uows(write=True) as uow:
        ids = list(
            (await uow.contacts.insert_emails([f"c{i}@x.it" for i in range(600)], now)).values()
        )
        await uow.commit()
    ids.sort()
    asked = [cid for n, cid in enumerate(ids) if n % 10 != 3]  # dense, with holes
    assert dense_span(asked) is not None
    async with uows() as uow:
        views = await uow.contacts.placement_views(asked, tags=True, dates=True)
        points = await uow.tiers.points(asked)
        signals = await uow.tiers.signals(asked, now)
    assert sorted(views) == asked
    assert set(points) <= set(ids) and set(signals) <= set(ids)


async def test_a_writes_placement_inputs_in_one_read_agree_with_the_separate_reads(uows, clock):
    """`TierRepository.inputs` reads a few contacts in one statement (JSON aggregates) and a
    dense chunk in four: both answer what placement_views, points and signals answer."""
    now = clock()
    async with uows(write=True) as uow:
        found = await uow.contacts.insert_emails([f"p{i}@x.it" for i in range(300)], now)
        ids = sorted(found.values())
        tag = await uow.tags.insert("Interesse", "interesse", None, now)
        await uow.tags.give({(cid, tag.id): (cid % 4 + 1, now) for cid in ids[::3]})
        rows = [
            {"contact_id": cid, "type": kind, "page": None, "properties": {}, "occurred_at": at,
             "idempotency_key": f"k{cid}-{kind}-{n}", "score_delta": 0, "created_at": now}
            for cid in ids[::2]
            for n, (kind, at) in enumerate(
                [("EMAIL_OPEN", now), ("EMAIL_OPEN", now), ("DEMO_REQUEST", now - timedelta(days=40))]
            )
        ]  # fmt: skip
        interaction_ids = await uow.interactions.insert_many(rows)
        await uow.ledger.add([
            ledger_entry(r["contact_id"], reason, "x", points, now, now, interaction_id=iid)
            for r, iid in zip(rows, interaction_ids, strict=True)
            for reason, points in ((LedgerReason.RULE, 7), (LedgerReason.FIT, 3))
        ])  # fmt: skip
        await uow.commit()
    since = now - timedelta(days=30)
    for asked in (ids[:5], ids[1::7], ids):
        async with uows() as uow:
            views = await uow.contacts.placement_views(asked, tags=True, dates=True)
            points = await uow.tiers.points(asked)
            signals = await uow.tiers.signals(asked, since)
            inputs = await uow.tiers.inputs(asked, since, tags=True)
        assert sorted(inputs) == sorted(asked)
        for cid in asked:
            view, standing, pinned = views[cid]
            assert inputs[cid] == (
                view,
                standing,
                pinned,
                points.get(cid, (0, 0)),
                signals.get(cid, {}),
            )
        assert any(inputs[cid][3] != (0, 0) and inputs[cid][4] for cid in asked)
        assert any(inputs[cid][0].tag_points for cid in asked)

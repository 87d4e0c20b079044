"""Reading many contacts by id: a dense chunk is read by range, and only the ids asked for
come back, whatever lies between them."""

from __future__ import annotations

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

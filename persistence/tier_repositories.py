"""Tier policies, segment schemes (versioned JSON), tier inputs and the change log."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Row, Table, bindparam, func, insert, null, select, type_coerce, update

from domain.codec import policy_from_dict, policy_to_dict, scheme_from_dict, scheme_to_dict
from domain.contacts import PlacementInputs, Standing
from domain.pagination import Page, PageRequest
from domain.segments import SegmentScheme, change_reason
from domain.segments import TierChange as TierChange  # (re-exported for services/tiers.py)
from domain.tiers import TierPolicy
from persistence.base import (
    Repository,
    execute_plain_many,
)
from persistence.direct import Direct, one_of
from persistence.repositories import (
    ContactRepository,
    by_ids,
    ids_params,
    placed,
    placement_select,
)
from persistence.scoring_repositories import id_page
from persistence.tables import metadata
from persistence.tier_sql import (
    CLEAR_PLACEMENT,
    COLUMNS,
    CREATE_PLACEMENT,
    LOG_SEGMENTS,
    LOG_TIERS,
    MOVED,
    SET_INDEXES,
    SET_PLACED,
    ledger_points,
    placement_query,
    placement_t,
)
from persistence.types import UtcDateTime

policy_t: Table = metadata.tables["tier_policy"]
scheme_t: Table = metadata.tables["segment_scheme"]
change_t: Table = metadata.tables["tier_change"]
contact_t: Table = metadata.tables["contact"]
contact_tag_t: Table = metadata.tables["contact_tag"]
tag_t: Table = metadata.tables["tag"]
entry_t: Table = metadata.tables["score_entry"]
interaction_t: Table = metadata.tables["interaction"]


def _points(where: Any) -> Any:
    return (
        select(entry_t.c.contact_id, *ledger_points()).where(where).group_by(entry_t.c.contact_id)
    )


def _signals(where: Any) -> Any:
    i = interaction_t.c
    since = i.occurred_at >= bindparam("since", type_=UtcDateTime)
    return (
        select(i.contact_id, i.type, func.count())
        .where(where, since)
        .group_by(i.contact_id, i.type)
    )


# A re-tier's dense chunks read BETWEEN (see dense_span); a write's few contacts directly on
# the driver (persistence/direct.py).
POINTS_SPAN = _points(by_ids(entry_t.c.contact_id, True))
POINTS = Direct(lambda d: _points(one_of(entry_t.c.contact_id, "ids", d)))
SIGNALS_SPAN = _signals(by_ids(interaction_t.c.contact_id, True))
SIGNALS = Direct(lambda d: _signals(one_of(interaction_t.c.contact_id, "ids", d)))


def _inputs(dialect: str, tags: bool) -> Any:
    """PLACEMENT's columns (with dates) and, per contact, [behavioural, fit] points, the
    signals since :since ({type: count}) and, with `tags`, {tag code: points}: everything
    placing a few contacts reads, in one statement (JSON aggregates in correlated
    subqueries) instead of four."""
    c, e, i, t = contact_t.c, entry_t.c, interaction_t.c, contact_tag_t.c
    pg = dialect == "postgresql"
    as_object, as_array = (
        (func.json_object_agg, func.json_build_array) if pg
        else (func.json_group_object, func.json_array)
    )  # fmt: skip
    points = select(as_array(*ledger_points())).where(e.contact_id == c.id).scalar_subquery()
    since = i.occurred_at >= bindparam("since", type_=UtcDateTime)
    counted = (
        select(i.type.label("type"), func.count().label("n"))
        .where(i.contact_id == c.id, since)
        .group_by(i.type)
        .correlate(contact_t)
        .subquery()
    )
    signals = select(as_object(counted.c.type, counted.c.n)).scalar_subquery()
    held = (
        select(as_object(tag_t.c.code, t.points))
        .select_from(contact_tag_t.join(tag_t, tag_t.c.id == t.tag_id))
        .where(t.contact_id == c.id)
        .scalar_subquery()
        if tags
        else null()
    )
    base = placement_select(dates=True, where=one_of(c.id, "ids", dialect))
    aggregates = (type_coerce(x, JSON) for x in (points, signals, held))
    return base.add_columns(*aggregates, c.consent_profiling)


INPUTS = {tags: Direct(functools.partial(_inputs, tags=tags)) for tags in (False, True)}
LOG_CHANGES = Direct(
    lambda _: insert(change_t),
    keys=("contact_id", "kind", "from_value", "to_value", "version", "reason", "at"),
    many=True,
)
INDEXED = ("tier_index", "tier_reason", "cid", "tier_version")
SET_INDEX = (
    update(contact_t)
    .where(contact_t.c.id == bindparam("cid"))
    .values(
        tier_index=bindparam("tier_index"),
        tier_reason=bindparam("tier_reason"),
        tier_version=bindparam("tier_version"),
    )
)
PLACED = ("tier", "tier_index", "tier_reason", "lead_status", "segment", "cid",
          "tier_version", "segment_version")  # fmt: skip
SET_TIER = (
    update(contact_t)
    .where(contact_t.c.id == bindparam("cid"))
    .values(
        tier=bindparam("tier"),
        tier_index=bindparam("tier_index"),
        tier_reason=bindparam("tier_reason"),
        tier_version=bindparam("tier_version"),
        lead_status=bindparam("lead_status"),
        segment=bindparam("segment"),
        segment_version=bindparam("segment_version"),
    )
)


def _change(row: Row[Any]) -> TierChange:
    m = row._mapping
    return TierChange(
        m["id"], m["contact_id"], m["kind"], m["from_value"], m["to_value"], m["version"],
        m["reason"], m["at"],
    )  # fmt: skip


class TierRepository(Repository):
    async def _version(self, table: Table, version: int | None) -> Row[Any] | None:
        """The given version of a versioned table, or its latest."""
        if version is not None:
            stmt = select(table).where(table.c.version == version)
        else:
            stmt = select(table).order_by(table.c.version.desc()).limit(1)
        return (await self.conn.execute(stmt)).first()

    async def _add(
        self, table: Table, version: int, body: dict[str, Any], comment: str | None, now: datetime
    ) -> None:
        row = {"version": version, "body": body, "comment": comment, "created_at": now}
        await self.conn.execute(insert(table).values(**row))

    async def policy(self, version: int | None = None) -> TierPolicy | None:
        row = await self._version(policy_t, version)
        return policy_from_dict(row.version, row.body) if row else None

    async def scheme(self, version: int | None = None) -> SegmentScheme | None:
        row = await self._version(scheme_t, version)
        return scheme_from_dict(row.version, row.body) if row else None

    async def versions(self, kind: str) -> list[tuple[int, str | None, datetime]]:
        table = policy_t if kind == "TIER" else scheme_t
        stmt = select(table.c.version, table.c.comment, table.c.created_at)
        return [tuple(r) for r in await self._rows(stmt.order_by(table.c.version.desc()))]

    async def add_policy(self, policy: TierPolicy, comment: str | None, now: datetime) -> None:
        await self._add(policy_t, policy.version, policy_to_dict(policy), comment, now)
        await self.seen.bump("tiers")

    async def add_scheme(self, scheme: SegmentScheme, comment: str | None, now: datetime) -> None:
        await self._add(scheme_t, scheme.version, scheme_to_dict(scheme), comment, now)
        await self.seen.bump("tiers")

    async def version(self) -> int:
        """Bumped in the transaction that adds a tier policy or segment scheme version."""
        return await self.seen.version("tiers")

    async def inputs(
        self, ids: Sequence[int], since: datetime, *, tags: bool
    ) -> dict[int, PlacementInputs]:
        """What placing these contacts reads: each as filters see it (creation and activity
        times always, tag points with `tags`), where it stands now and its pinned lead status
        (as `placement_views`), its (behavioural, fit) points and its interactions per type
        since `since` (as `points` and `signals`). A few contacts are read in one statement;
        a dense chunk of a re-tier in those four."""
        params, span = ids_params(ids)
        if span:
            contacts = ContactRepository(self.conn)
            views = await contacts.placement_views(ids, tags=tags, dates=True)
            points, signals = await self.points(ids), await self.signals(ids, since)
            return {
                cid: (*found, points.get(cid, (0, 0)), signals.get(cid, {}))
                for cid, found in views.items()
            }
        params["since"] = since
        rows = await INPUTS[tags].rows(self.conn, params)
        out: dict[int, PlacementInputs] = {}
        consent = self.seen.consent
        for cid, (found, row) in placed(rows, lambda r: r[21]):
            consent[cid] = bool(row[22])  # webhooks and automations ask next
            behaviour, fit = row[19] or (0, 0)
            out[cid] = (*found, (int(behaviour or 0), int(fit or 0)), row[20] or {})
        return out

    async def points(self, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(behavioural points, fit points) per contact."""
        params, span = ids_params(ids)
        rows = (
            (await self.conn.execute(POINTS_SPAN, params)).all()
            if span
            else await POINTS.rows(self.conn, params)
        )
        return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}  # extra ids are harmless

    async def signals(self, ids: Sequence[int], since: datetime) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = defaultdict(dict)
        params, span = ids_params(ids)
        params["since"] = since
        rows = (
            (await self.conn.execute(SIGNALS_SPAN, params)).all()
            if span
            else await SIGNALS.rows(self.conn, params)
        )
        for contact_id, kind, count in rows:
            out[contact_id][kind] = int(count)
        return out

    async def apply(
        self,
        updates: Sequence[Sequence[Any]],
        changes: Iterable[Mapping[str, Any]],
        indexes: Sequence[Sequence[Any]] = (),
    ) -> None:
        """`updates`: tuples of PLACED (a Standing, the contact id, both versions);
        `indexes`: tuples of INDEXED, for contacts whose tier, lead status and segment stay
        (their indexed columns are left alone, so SQL does not rewrite three indexes)."""
        if updates:
            await execute_plain_many(self.conn, SET_TIER, PLACED, updates)
        if indexes:
            await execute_plain_many(self.conn, SET_INDEX, INDEXED, indexes)
        await LOG_CHANGES.run_many(self.conn, list(changes))

    async def place_span(
        self, policy: TierPolicy, scheme: SegmentScheme, now: datetime, low: int, high: int
    ) -> dict[int, tuple[Standing, Standing]]:
        """Where every contact with low <= id <= high stands, and where it belongs under
        `policy` and `scheme`, computed in SQL (`persistence.tier_sql`); nothing written."""
        stmt = _placement_query(policy, scheme, now)
        result = await self.conn.execute(stmt, {"lo": low, "hi": high})
        return _standings(sorted(result.all(), key=lambda r: int(r[0])))

    async def settle_span(
        self, policy: TierPolicy, scheme: SegmentScheme, now: datetime, low: int, high: int
    ) -> dict[int, tuple[Standing, Standing]]:
        """Places every contact with low <= id <= high under `policy` and `scheme`, set-based
        in SQL: writes everyone's new standing, logs tier and segment changes, and returns
        the contacts whose tier, lead status or segment moved, (where each stood, where it
        stands now), for live events, list membership and automations."""
        span = {"lo": low, "hi": high}
        await self.conn.execute(CREATE_PLACEMENT)
        query = _placement_query(policy, scheme, now)
        await self.conn.execute(insert(placement_t).from_select(COLUMNS, query), span)
        rows = (await self.conn.execute(MOVED)).all()
        versions = {"version": policy.version, "segment_version": scheme.version}
        await self.conn.execute(SET_INDEXES, {**span, "version": policy.version})
        if rows:
            await self.conn.execute(SET_PLACED, {**span, **versions})
            await self.conn.execute(LOG_TIERS, {**versions, "at": now})
            reason = change_reason(scheme)
            await self.conn.execute(LOG_SEGMENTS, {**versions, "at": now, "segment_reason": reason})
        await self.conn.execute(CLEAR_PLACEMENT)
        return _standings(rows)

    async def history(self, contact_id: int, page: PageRequest) -> Page[TierChange]:
        return await id_page(self.conn, change_t, _change, contact_id, page)

    async def count_history(self, contact_id: int) -> int:
        stmt = select(func.count()).select_from(change_t).where(change_t.c.contact_id == contact_id)
        return int(await self._scalar(stmt))


def _standings(rows: Iterable[Sequence[Any]]) -> dict[int, tuple[Standing, Standing]]:
    """Rows of tier_sql.COLUMNS as {id: (where it stands, where it belongs)}."""
    return {r[0]: (Standing(*r[1:6]), Standing(*r[6:11])) for r in rows}


_QUERIES: dict[tuple[str, str, datetime], Any] = {}


def _placement_query(policy: TierPolicy, scheme: SegmentScheme, now: datetime) -> Any:
    """The placement query of a policy and a scheme, built once per re-tier (every chunk
    reads the current versions again, hence a cache keyed by their content)."""
    key = (
        json.dumps(policy_to_dict(policy), sort_keys=True),
        json.dumps(scheme_to_dict(scheme), sort_keys=True),
        now,
    )
    found = _QUERIES.get(key)
    if found is None:
        if len(_QUERIES) >= 8:
            _QUERIES.clear()
        found = _QUERIES[key] = placement_query(policy, scheme, now)
    return found

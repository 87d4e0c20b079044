"""Repositories: map rows to domain records. They flush but never commit."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.auth import ApiKey, Scope
from domain.changes import FIT_COLUMNS, Changes
from domain.contacts import (
    Company,
    CompanyType,
    Contact,
    ContactType,
    ContactView,
    FunnelStage,
    Source,
    Standing,
)
from domain.filters import ContactFilter, reads_clock
from domain.pagination import Direction, Page, PageRequest
from domain.tags import ContactTag, Tag
from persistence.base import (
    Repository,
    Seen,
    dense_span,
    enum_or_none,
    fetch_plain,
    plain,
)
from persistence.direct import ByIds, Direct, one_of
from persistence.filters_sql import (
    company_t,
    compile_filter,
    contact_t,
    contact_tag_t,
    erased_contact,
    not_erased,
    tag_t,
)
from persistence.keyset import SortKey, build_page, paginate_statement
from persistence.list_repositories import stored_members
from persistence.tables import metadata
from persistence.types import UtcDateTime

api_key_t: Table = metadata.tables["api_key"]


def contact_from_row(row: Row[Any]) -> Contact:
    m = row._mapping
    return Contact(
        id=m["id"],
        email=m["email"],
        first_name=m["first_name"],
        last_name=m["last_name"],
        phone=m["phone"],
        job_title=m["job_title"],
        contact_type=enum_or_none(ContactType, m["contact_type"]),
        source=enum_or_none(Source, m["source"]),
        funnel_stage=enum_or_none(FunnelStage, m["funnel_stage"]),
        sector=m["sector"],
        region=m["region"],
        city=m["city"],
        country=m["country"],
        company_id=m["company_id"],
        custom_attributes=dict(m["custom_attributes"] or {}),
        consent_email=m["consent_email"],
        consent_profiling=m["consent_profiling"],
        score=m["score"],
        tier=m["tier"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        last_activity_at=m["last_activity_at"],
        tier_index=m["tier_index"],
        tier_reason=m["tier_reason"],
        segment=m["segment"],
        lead_status=m["lead_status"],
    )


_ENUM_COLUMNS: dict[str, type[Any]] = {
    "contact_type": ContactType, "source": Source, "funnel_stage": FunnelStage,
}  # fmt: skip


def contact_values(row: Row[Any], columns: Sequence[str]) -> dict[str, Any]:
    """Some columns of a contact, valued as `contact_from_row` values them."""
    values = dict(zip(columns, row, strict=False))
    for name, enum in _ENUM_COLUMNS.items():
        if name in values:
            values[name] = enum_or_none(enum, values[name])
    if "custom_attributes" in values:
        values["custom_attributes"] = dict(values["custom_attributes"] or {})
    return values


def company_from_row(row: Row[Any]) -> Company:
    m = row._mapping
    return Company(
        id=m["id"],
        name=m["name"],
        company_type=enum_or_none(CompanyType, m["company_type"]),
        sector=m["sector"],
        size=m["size"],
        region=m["region"],
        city=m["city"],
        country=m["country"],
        website=m["website"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def tag_from_row(row: Row[Any]) -> Tag:
    m = row._mapping
    return Tag(m["id"], m["name"], m["code"], m["description"], m["created_at"])


CONTACT_SORTS: dict[str, SortKey] = {
    "CREATED_AT": SortKey("CREATED_AT", contact_t.c.created_at, lambda r: r.created_at, True),
    "UPDATED_AT": SortKey("UPDATED_AT", contact_t.c.updated_at, lambda r: r.updated_at, True),
    "EMAIL": SortKey("EMAIL", contact_t.c.email, lambda r: r.email),
    "SCORE": SortKey("SCORE", contact_t.c.score, lambda r: r.score),
    "LAST_NAME": SortKey(
        "LAST_NAME", func.coalesce(contact_t.c.last_name, ""), lambda r: r.last_name or ""
    ),
}
SORT_COLUMNS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "EMAIL": "email",
                "SCORE": "score", "LAST_NAME": "last_name"}  # fmt: skip
COMPANY_SORTS: dict[str, SortKey] = {
    "NAME": SortKey("NAME", company_t.c.name, lambda r: r.name),
    "CREATED_AT": SortKey("CREATED_AT", company_t.c.created_at, lambda r: r.created_at, True),
}


# Statements of the hot paths, built once (construction and cache keys are not free).
CONTACTS_BY_ID = ByIds(contact_t.c.id, lambda where: select(contact_t).where(where))
SCORES_BY_ID = Direct(
    lambda d: select(contact_t.c.id, contact_t.c.score).where(one_of(contact_t.c.id, "ids", d))
)
SCORES_LOCKED = Direct(
    lambda d: (
        select(contact_t.c.id, contact_t.c.score)
        .where(one_of(contact_t.c.id, "ids", d))
        .order_by(contact_t.c.id)
        .with_for_update()
    )
)
LOCK = Direct(
    lambda d: (
        select(contact_t.c.id)
        .where(one_of(contact_t.c.id, "ids", d))
        .order_by(contact_t.c.id)
        .with_for_update()
    )
)
_c = contact_t.c
# Plain SQL per dialect, in the driver's parameter style (result processing cost more than
# the query when a re-tier pages through every contact id).
IDS_AFTER = {
    "sqlite": "SELECT id FROM contact WHERE id > ? ORDER BY id LIMIT ?",
    "postgresql": "SELECT id FROM contact WHERE id > $1 ORDER BY id LIMIT $2",
}


def by_ids(column: Any, span: bool) -> Any:
    """`column IN :ids`, or with `span`, `column BETWEEN :low AND :high` (see dense_span)."""
    if span:
        return column.between(bindparam("low"), bindparam("high"))
    return column.in_(bindparam("ids", expanding=True))


def ids_params(ids: Sequence[int]) -> tuple[dict[str, Any], bool]:
    """Parameters for `by_ids` statements, and whether to use the span variant."""
    span = dense_span(ids)
    if span is None:
        return {"ids": list(ids)}, False
    return {"low": span[0], "high": span[1]}, True


def placement_select(*, dates: bool, where: Any) -> Any:
    when = (_c.created_at, _c.last_activity_at) if dates else (null(), null())
    return (
        select(
            _c.id, _c.email, _c.score, _c.tier, _c.segment, _c.lead_status, _c.sector,
            _c.region, _c.city, _c.contact_type, company_t.c.company_type, _c.company_id,
            _c.source, _c.funnel_stage, *when, _c.tier_index, _c.tier_reason,
            _c.lead_status_pinned,
        )
        .select_from(contact_t.outerjoin(company_t, company_t.c.id == _c.company_id))
        .where(where)
    )  # fmt: skip


def _tag_points(where: Any) -> Any:
    return (
        select(contact_tag_t.c.contact_id, tag_t.c.code, contact_tag_t.c.points)
        .join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id)
        .where(where)
    )


# A re-tier's dense chunk reads BETWEEN (see dense_span); other reads of the write path run
# directly on the driver (persistence/direct.py).
PLACEMENT_SPAN = {
    dates: placement_select(dates=dates, where=by_ids(_c.id, True)) for dates in (False, True)
}


def _placement_of(dates: bool) -> Direct:
    return Direct(lambda d: placement_select(dates=dates, where=one_of(_c.id, "ids", d)))


PLACEMENT = {dates: _placement_of(dates) for dates in (False, True)}
TAG_POINTS_SPAN = _tag_points(by_ids(contact_tag_t.c.contact_id, True))
TAG_POINTS = Direct(lambda d: _tag_points(one_of(contact_tag_t.c.contact_id, "ids", d)))
_ENUMS: dict[type[Any], dict[Any, Any]] = {
    kind: {m.value: m for m in kind} | {None: None}
    for kind in (ContactType, CompanyType, Source, FunnelStage)
}
_activity = bindparam("activity", type_=UtcDateTime)
_last = contact_t.c.last_activity_at
ADD_SCORE = Direct(
    lambda _: (
        update(contact_t)
        .where(contact_t.c.id == bindparam("cid"))
        .values(
            score=contact_t.c.score + bindparam("delta"),
            last_activity_at=case(
                (_activity.is_(None), _last),
                ((_last.is_(None)) | (_last < _activity), _activity),
                else_=_last,
            ),
            updated_at=bindparam("now", type_=UtcDateTime),
        )
    )
)


Placed = tuple[ContactView, Standing, str | None]


def placed(
    rows: Iterable[Sequence[Any]], tag_points: Callable[[Sequence[Any]], Mapping[str, int] | None]
) -> Iterator[tuple[int, tuple[Placed, Sequence[Any]]]]:
    """(id, ((view, standing, pinned lead status), row)) of rows that start with PLACEMENT's
    columns: each contact as filters see it, with `tag_points(row)` (None: none), built
    straight from the row tuples in ContactView's field order (re-tiering reads everyone)."""
    contact_types, company_types = _ENUMS[ContactType], _ENUMS[CompanyType]
    sources, stages = _ENUMS[Source], _ENUMS[FunnelStage]
    for row in rows:
        (cid, email, score, tier, segment, status, sector, region, city, contact_type,
         company_type, company_id, source, stage, created_at, last_activity_at, index,
         reason, pinned) = row[:19]  # fmt: skip
        view = ContactView.of((
            cid, email, score, tier, segment, status, sector, region, city,
            contact_types[contact_type], company_types[company_type], company_id,
            sources[source], stages[stage], created_at, last_activity_at,
            tag_points(row) or {},
        ))  # fmt: skip
        yield cid, ((view, Standing(tier, index, reason, status, segment), pinned), row)


NO_PROFILING_CONSENT = Direct(
    lambda d: select(contact_t.c.id).where(
        one_of(contact_t.c.id, "ids", d), contact_t.c.consent_profiling == false()
    )
)
CONSENT_CHUNK = 5000  # ids per IN list


async def without_profiling_consent(
    conn: AsyncConnection, ids: Iterable[int], seen: Seen | None = None
) -> set[int]:
    """Which of these contacts have not consented to profiling (automations and webhooks
    leave them alone); ids of contacts that do not exist are not in the answer. Consent
    this unit of work has `seen` (placing the contacts read it) is not read again."""
    known = seen.consent if seen is not None else {}
    out = {cid for cid in ids if known.get(cid) is False}
    wanted = sorted({cid for cid in ids if cid not in known})
    for start in range(0, len(wanted), CONSENT_CHUNK):
        params = {"ids": wanted[start : start + CONSENT_CHUNK]}
        out.update(r[0] for r in await NO_PROFILING_CONSENT.rows(conn, params))
    return out


class ContactRepository(Repository):
    def __init__(
        self, conn: AsyncConnection, changes: Changes | None = None, seen: Seen | None = None
    ) -> None:
        super().__init__(conn, changes, seen)
        self._locked: set[int] = set()  # rows this transaction locked (Postgres)

    async def get(self, contact_id: int) -> Contact | None:
        rows = await self.get_many([contact_id])
        return rows.get(contact_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, Contact]:
        rows = await CONTACTS_BY_ID.records(self.conn, ids)
        return {row.id: contact_from_row(row) for row in rows}

    async def placement_views(
        self, ids: Sequence[int], *, tags: bool, dates: bool
    ) -> dict[int, tuple[ContactView, Standing, str | None]]:
        """What placing contacts reads, and nothing more: each contact as filters see it
        (tag points only with `tags`, creation and activity times only with `dates`) with
        where it stands now and the lead status an automation pinned, if any. Built straight
        from the row tuples (in ContactView's field order), as re-tiering reads every
        contact."""
        params, span = ids_params(ids)
        wanted = set(ids) if span else None
        points: dict[int, dict[str, int]] = defaultdict(dict)
        if tags:
            found = (
                (await self.conn.execute(TAG_POINTS_SPAN, params)).all()
                if span
                else await TAG_POINTS.rows(self.conn, params)
            )
            for cid, code, value in found:
                points[cid][code] = value
        rows = (
            (await self.conn.execute(PLACEMENT_SPAN[dates], params)).all()
            if span
            else await PLACEMENT[dates].rows(self.conn, params)
        )
        if wanted is not None:
            rows = [r for r in rows if r[0] in wanted]
        return {cid: found for cid, (found, _) in placed(rows, lambda r: points.get(r[0], {}))}

    async def get_by_email(self, email: str) -> Contact | None:
        found = await self.get_many_by_email([email])
        return found.get(email)

    async def get_many_by_email(self, emails: Iterable[str]) -> dict[str, Contact]:
        rows = await self._rows(select(contact_t).where(contact_t.c.email.in_(list(emails))))
        return {row.email: contact_from_row(row) for row in rows}

    async def insert(self, values: Mapping[str, Any], now: datetime) -> int:
        defaults = {"custom_attributes": {}, "consent_email": False, "consent_profiling": False}
        row = {**defaults, **plain(values), "created_at": now, "updated_at": now, "score": 0}
        stmt = insert(contact_t).values(**row)
        result = await self.conn.execute(stmt.returning(contact_t.c.id))
        contact_id = int(result.scalar_one())
        self.seen.forget([contact_id])
        self.changes.touch([contact_id], now, attributes=True)
        return contact_id

    async def update(self, contact_id: int, values: Mapping[str, Any], now: datetime) -> None:
        """Empty `values` only stamps `updated_at` (and still re-places the contact)."""
        await self.conn.execute(
            update(contact_t)
            .where(contact_t.c.id == contact_id)
            .values(**plain(values), updated_at=now)
        )
        self.seen.forget([contact_id])
        self.changes.touch([contact_id], now, attributes=not FIT_COLUMNS.isdisjoint(values))

    async def without_profiling_consent(self, ids: Iterable[int]) -> set[int]:
        return await without_profiling_consent(self.conn, ids, self.seen)

    async def insert_emails(self, emails: Sequence[str], now: datetime) -> dict[str, int]:
        """New contacts known only by email (interactions from unknown senders)."""
        if not emails:
            return {}
        rows = [
            {"email": e, "created_at": now, "updated_at": now, "score": 0, "custom_attributes": {},
             "consent_email": False, "consent_profiling": False}
            for e in emails
        ]  # fmt: skip
        stmt = insert(contact_t).returning(contact_t.c.id, contact_t.c.email)
        ids = {r.email: r.id for r in (await self.conn.execute(stmt, rows)).all()}
        self.seen.forget(ids.values())
        self.changes.touch(ids.values(), now)  # nothing fit rules read is known yet
        return ids

    async def insert_contacts(
        self, items: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, int]:
        """New contacts from cleaned fields (fields left out get their defaults), in one
        executemany; returns email -> id."""
        if not items:
            return {}
        blank: dict[str, Any] = dict.fromkeys(
            ("first_name", "last_name", "phone", "job_title", "contact_type", "source",
             "funnel_stage", "sector", "region", "city", "country", "company_id")
        )  # fmt: skip
        blank.update(custom_attributes={}, consent_email=False, consent_profiling=False)
        stamp = {"created_at": now, "updated_at": now, "score": 0}
        rows = [{**blank, **plain(values), **stamp} for values in items]
        stmt = insert(contact_t).returning(contact_t.c.id, contact_t.c.email)
        ids = {r.email: r.id for r in (await self.conn.execute(stmt, rows)).all()}
        self.seen.forget(ids.values())
        self.changes.touch(ids.values(), now, attributes=True)
        return ids

    async def export_chunk(
        self,
        columns: Sequence[str],
        where: ContactFilter | None,
        after_id: int,
        limit: int,
        now: datetime,
        within: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Up to `limit` contacts with id > `after_id`, in id order (keyset), as tuples of
        `columns`: contact columns, plus `company` (its name) and `tags` (codes, strongest
        first). `within` (a list id) keeps that list's members only. Made for
        writing out: timestamps come as ISO 8601 text in UTC and custom attributes as JSON
        text, as stored (decoding them and encoding them again cost more than the query)."""
        raw = {"created_at", "updated_at", "last_activity_at", "custom_attributes"}
        picked = [
            company_t.c.name if c == "company"
            else type_coerce(contact_t.c[c], String).label(c) if c in raw
            else contact_t.c[c]
            for c in columns if c != "tags"
        ]  # fmt: skip
        stmt = select(*picked).select_from(
            contact_t.outerjoin(company_t, company_t.c.id == contact_t.c.company_id)
        )
        for condition in (
            not_erased(),
            compile_filter(where, now) if where else None,
            stored_members(within) if within is not None else None,
        ):
            if condition is not None:
                stmt = stmt.where(condition)
        stmt = stmt.where(contact_t.c.id > after_id).order_by(contact_t.c.id).limit(limit)
        rows = _export_values((await self.conn.execute(stmt)).all(), columns)
        if "tags" not in columns or not rows:
            return rows
        first = columns.index("id")
        codes: dict[int, list[str]] = defaultdict(list)
        tags = (
            select(contact_tag_t.c.contact_id, tag_t.c.code)
            .join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id)
            .where(contact_tag_t.c.contact_id.in_([r[first] for r in rows]))
            .order_by(contact_tag_t.c.contact_id, contact_tag_t.c.points.desc(), tag_t.c.code)
        )
        for cid, code in (await self.conn.execute(tags)).all():
            codes[cid].append(code)
        cut = columns.index("tags")
        return [(*r[:cut], codes.get(r[first]), *r[cut:]) for r in rows]

    async def lock(self, ids: Iterable[int]) -> None:
        """On Postgres, row locks make concurrent writers to one contact queue; SQLite writers
        already take turns (see UnitOfWork)."""
        if self.conn.dialect.name == "postgresql":
            wanted = sorted(set(ids) - self._locked)
            if wanted:
                await LOCK.run(self.conn, {"ids": wanted})
                self._locked.update(wanted)

    async def add_scores(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """Rows of {cid, delta, activity (or None), now}: score = score + delta in SQL,
        recorded per contact (for score-change events)."""
        if changes:
            await ADD_SCORE.run_many(self.conn, changes)
            for change in changes:
                self.changes.scored(change["cid"], change["delta"], change["now"])

    def touch(self, ids: Iterable[int], now: datetime, *, attributes: bool = False) -> None:
        """Declares that something these contacts' placement reads changed without a write
        of this repository (time passed for decay, fit rules changed): settled at commit."""
        self.changes.touch(ids, now, attributes=attributes)

    def rules_changed(self, low: int, high: int, now: datetime) -> None:
        """Declares that the tier policy or segment scheme changed for the contacts with
        low <= id <= high, and nothing else about them: placed set-based at commit."""
        self.changes.rules_changed(low, high, now)

    async def scores(self, ids: Iterable[int], *, lock: bool = False) -> dict[int, int]:
        """The contacts' scores (of those that exist); with `lock`, locked as `lock` does,
        in the same statement on Postgres."""
        wanted = list(ids)
        if lock and self.conn.dialect.name == "postgresql":
            rows = await SCORES_LOCKED.rows(self.conn, {"ids": sorted(set(wanted))})
            self._locked.update(r[0] for r in rows)
        else:
            rows = await SCORES_BY_ID.rows(self.conn, {"ids": wanted})
        return {r[0]: r[1] for r in rows}

    async def erased_among(self, ids: Iterable[int]) -> set[int]:
        """Which of these contacts were erased (GDPR)."""
        stmt = select(contact_t.c.id).where(contact_t.c.id.in_(list(ids)), erased_contact())
        return {r.id for r in await self._rows(stmt)}

    async def ids_unplaced(self, limit: int) -> list[int]:
        """Contacts with no tier yet (created before tiers existed)."""
        stmt = select(contact_t.c.id).where(contact_t.c.tier.is_(None)).order_by(contact_t.c.id)
        return [r.id for r in await self._rows(stmt.limit(limit))]

    async def ids_after(self, last_id: int, limit: int) -> list[int]:
        return [row[0] for row in await fetch_plain(self.conn, IDS_AFTER, (last_id, limit))]

    async def delete(self, contact_id: int) -> bool:
        result = await self.conn.execute(delete(contact_t).where(contact_t.c.id == contact_id))
        self.seen.forget([contact_id])
        self.changes.forget([contact_id])
        return bool(getattr(result, "rowcount", 0))

    async def page(
        self,
        where: ContactFilter | None,
        order: str,
        direction: Direction,
        page: PageRequest,
        now: datetime,
        within: int | None = None,
    ) -> Page[Contact]:
        """A page of contacts matching `where` (members of the list `within` only, if given)."""
        raw = await self._page(
            ("*",), lambda: select(contact_t), where, order, direction, page, now, within
        )
        return Page(
            [contact_from_row(r) for r in raw.items], raw.cursors, raw.has_next, raw.has_previous
        )

    async def page_columns(
        self,
        columns: Collection[str],
        where: ContactFilter | None,
        order: str,
        direction: Direction,
        page: PageRequest,
        now: datetime,
        within: int | None = None,
    ) -> Page[dict[str, Any]]:
        """The same page reading only `columns` of each contact (and `id`), as
        {column: value} with the values `page` gives them: a read that shows a few fields
        fetches and decodes only those."""
        wanted = ["id", *sorted(set(columns) - {"id"})]
        unknown = set(wanted) - set(contact_t.c.keys())
        if unknown:
            raise ValueError(f"no such contact columns: {sorted(unknown)}")
        sort = SORT_COLUMNS[order]
        read = (*wanted, *([sort] if sort not in wanted else []))
        raw = await self._page(
            read, lambda: select(*(contact_t.c[c] for c in read)), where, order, direction, page,
            now, within,
        )  # fmt: skip
        return Page(
            [contact_values(r, wanted) for r in raw.items],
            raw.cursors,
            raw.has_next,
            raw.has_previous,
        )

    async def _page(
        self,
        columns: tuple[str, ...],
        base: Callable[[], Select[Any]],
        where: ContactFilter | None,
        order: str,
        direction: Direction,
        page: PageRequest,
        now: datetime,
        within: int | None,
    ) -> Page[Any]:
        """Whole rows for `("*",)`; else records of `columns`, read on the driver
        (persistence/direct.py: the statement compiled once per cached page statement)."""
        key = CONTACT_SORTS[order]
        try:
            cache_key: Hashable | None = (
                columns, where, order, direction, page, within,
                now if where is not None and reads_clock(where) else None,
            )  # fmt: skip
            built = _PAGES.get(cache_key)
        except TypeError:  # a cursor value that cannot be a key
            cache_key, built = None, None
        if built is None:
            select_ = base().where(not_erased())  # erased contacts are listed nowhere
            if where is not None:
                select_ = select_.where(compile_filter(where, now))
            if within is not None:
                select_ = select_.where(stored_members(within))
            select_ = paginate_statement(select_, key, contact_t.c.id, direction, page)
            built = (select_, Direct(lambda _dialect: select_, expand=True))
            if cache_key is not None:
                if len(_PAGES) >= PAGE_STATEMENTS:
                    del _PAGES[next(iter(_PAGES))]
                _PAGES[cache_key] = built
        if columns == ("*",):
            rows: Sequence[Any] = await self._rows(built[0])
        else:
            rows = await built[1].records(self.conn, {})
        return build_page(rows, key, page, lambda r: r.id)

    async def clusters(
        self, by: Sequence[str], where: ContactFilter | None, now: datetime, limit: int
    ) -> list[tuple[tuple[str | None, ...], int, float]]:
        """Contacts grouped by the named columns: values, count and average score."""
        keys = [contact_t.c[name] for name in by]
        stmt = select(*keys, func.count(), func.avg(contact_t.c.score)).group_by(*keys)
        stmt = stmt.where(not_erased())
        if where is not None:
            stmt = stmt.where(compile_filter(where, now))
        stmt = stmt.order_by(func.count().desc(), *(k.asc().nulls_last() for k in keys))
        stmt = stmt.limit(limit)
        return [
            (tuple(row[: len(by)]), int(row[len(by)]), round(float(row[len(by) + 1] or 0), 2))
            for row in await self._rows(stmt)
        ]

    async def count(
        self, where: ContactFilter | None, now: datetime, within: int | None = None
    ) -> int:
        stmt = select(func.count()).select_from(contact_t).where(not_erased())
        if where is not None:
            stmt = stmt.where(compile_filter(where, now))
        if within is not None:
            stmt = stmt.where(stored_members(within))
        return int(await self._scalar(stmt))


COMPANIES_BY_ID = ByIds(company_t.c.id, lambda where: select(company_t).where(where))
COMPANY_NAMES = Direct(
    lambda d: select(company_t.c.id, company_t.c.name).where(one_of(company_t.c.id, "ids", d))
)


# Contact page statements by what they were built from: a dashboard asks for the same
# page again and again, and building the filter's SQL and its cache key each time was ~10 %
# of a 20-contact page. Filters that read the clock are keyed by the time too.
PAGE_STATEMENTS = 256
_PAGES: dict[Hashable, tuple[Select[Any], Direct]] = {}


TAGS_OF = ByIds(
    contact_tag_t.c.contact_id,
    lambda where: (
        select(contact_tag_t, tag_t)
        .join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id)
        .where(where)
        .order_by(contact_tag_t.c.contact_id, contact_tag_t.c.points.desc(), tag_t.c.code)
    ),
)


class CompanyRepository(Repository):
    async def get_many(self, ids: Iterable[int]) -> dict[int, Company]:
        rows = await COMPANIES_BY_ID.records(self.conn, ids)
        return {row.id: company_from_row(row) for row in rows}

    async def names(self, ids: Iterable[int]) -> dict[int, str]:
        """id -> name (a page that shows only companies' names reads only those)."""
        return dict(await COMPANY_NAMES.rows(self.conn, {"ids": list(ids)}))

    async def get(self, company_id: int) -> Company | None:
        return (await self.get_many([company_id])).get(company_id)

    async def ids_by_name(self, names: Iterable[str]) -> dict[str, list[int]]:
        """Companies with these names, compared case-insensitively: lower-cased name -> ids."""
        wanted = sorted({name.lower() for name in names})
        stmt = select(company_t.c.id, company_t.c.name).where(
            func.lower(company_t.c.name).in_(wanted)
        )
        out: dict[str, list[int]] = defaultdict(list)
        for row in await self._rows(stmt.order_by(company_t.c.id)):
            out[row.name.lower()].append(row.id)
        return out

    async def insert(self, values: Mapping[str, Any], now: datetime) -> int:
        stmt = insert(company_t).values(**plain(values), created_at=now, updated_at=now)
        return int((await self.conn.execute(stmt.returning(company_t.c.id))).scalar_one())

    async def update(self, company_id: int, values: Mapping[str, Any], now: datetime) -> None:
        """Its contacts are re-placed (fit rules and filters read the company)."""
        await self.conn.execute(
            update(company_t)
            .where(company_t.c.id == company_id)
            .values(**plain(values), updated_at=now)
        )
        if values:
            self.changes.touch(await self._members(company_id), now, attributes=True)

    async def delete(self, company_id: int) -> bool:
        """Its contacts stay, without company, and are re-placed."""
        members = await self._members(company_id)
        result = await self.conn.execute(delete(company_t).where(company_t.c.id == company_id))
        self.changes.touch(members, None, attributes=True)
        return bool(getattr(result, "rowcount", 0))

    async def _members(self, company_id: int) -> list[int]:
        stmt = select(contact_t.c.id).where(contact_t.c.company_id == company_id)
        return [r.id for r in await self._rows(stmt)]

    async def page(
        self, name_contains: str | None, order: str, direction: Direction, page: PageRequest
    ) -> Page[Company]:
        key = COMPANY_SORTS[order]
        stmt = select(company_t)
        if name_contains:
            stmt = stmt.where(company_t.c.name.ilike(f"%{_escape_like(name_contains)}%", "\\"))
        rows = await self._rows(paginate_statement(stmt, key, company_t.c.id, direction, page))
        raw = build_page(rows, key, page, lambda r: r.id)
        return Page(
            [company_from_row(r) for r in raw.items], raw.cursors, raw.has_next, raw.has_previous
        )

    async def count(self, name_contains: str | None) -> int:
        stmt = select(func.count()).select_from(company_t)
        if name_contains:
            stmt = stmt.where(company_t.c.name.ilike(f"%{_escape_like(name_contains)}%", "\\"))
        return int(await self._scalar(stmt))

    async def contact_stats(self, ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """(number of contacts, sum of their scores) per company."""
        stmt = (
            select(
                contact_t.c.company_id, func.count(), func.coalesce(func.sum(contact_t.c.score), 0)
            )
            .where(contact_t.c.company_id.in_(list(ids)))
            .group_by(contact_t.c.company_id)
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in map(tuple, await self._rows(stmt))}


class TagRepository(Repository):
    async def list_all(self) -> list[Tag]:
        return [tag_from_row(r) for r in await self._rows(select(tag_t).order_by(tag_t.c.name))]

    async def get_by_codes(self, codes: Iterable[str]) -> dict[str, Tag]:
        rows = await self._rows(select(tag_t).where(tag_t.c.code.in_(list(codes))))
        return {row.code: tag_from_row(row) for row in rows}

    async def get_many(self, ids: Iterable[int]) -> dict[int, Tag]:
        rows = await self._rows(select(tag_t).where(tag_t.c.id.in_(list(ids))))
        return {row.id: tag_from_row(row) for row in rows}

    async def get_by_code(self, code: str) -> Tag | None:
        return (await self.get_by_codes([code])).get(code)

    async def find_by_name_or_code(self, name: str, code: str) -> Tag | None:
        stmt = select(tag_t).where((tag_t.c.name == name) | (tag_t.c.code == code))
        row = (await self.conn.execute(stmt)).first()
        return tag_from_row(row) if row else None

    async def insert(self, name: str, code: str, description: str | None, now: datetime) -> Tag:
        stmt = insert(tag_t).values(name=name, code=code, description=description, created_at=now)
        tag_id = int((await self.conn.execute(stmt.returning(tag_t.c.id))).scalar_one())
        return Tag(tag_id, name, code, description, now)

    async def update(self, tag_id: int, values: Mapping[str, Any]) -> None:
        await self.conn.execute(update(tag_t).where(tag_t.c.id == tag_id).values(**values))

    async def delete(self, tag_id: int) -> None:
        """Its holders lose it and are re-placed (filters may read it)."""
        holders = await self.holders(tag_id)
        await self.conn.execute(delete(tag_t).where(tag_t.c.id == tag_id))
        await self.seen.bump("rules")  # rules that gave it lose it (SET NULL)
        self.changes.touch(holders, None)

    async def for_contacts(self, contact_ids: Iterable[int]) -> dict[int, list[ContactTag]]:
        out: dict[int, list[ContactTag]] = defaultdict(list)
        rows = await TAGS_OF.records(self.conn, contact_ids)
        for row in rows:
            m = row._mapping
            tag = Tag(m["tag_id"], m["name"], m["code"], m["description"], m["created_at"])
            out[m["contact_id"]].append(
                ContactTag(m["contact_id"], tag, m["points"], m["first_at"], m["last_at"])
            )
        return out

    async def contact_counts(self, tag_ids: Iterable[int]) -> dict[int, int]:
        stmt = (
            select(contact_tag_t.c.tag_id, func.count())
            .where(contact_tag_t.c.tag_id.in_(list(tag_ids)))
            .group_by(contact_tag_t.c.tag_id)
        )
        return {r[0]: int(r[1]) for r in map(tuple, await self._rows(stmt))}

    async def add_points(self, contact_id: int, tag_id: int, points: int, now: datetime) -> bool:
        """Insert the tag on the contact or add to its points, atomically in SQL; True if
        the contact did not hold it yet."""
        return bool(await self.give({(contact_id, tag_id): (points, now)}))

    async def give(
        self, points: Mapping[tuple[int, int], tuple[int, datetime]]
    ) -> set[tuple[int, int]]:
        """(contact id, tag id) -> (points, when): each tag inserted on its contact or its
        points added, atomically in SQL. Returns the pairs not held before, which are
        recorded as given (TAG_ADDED at commit)."""
        held = await self.held(points)
        rows = [
            {"cid": contact_id, "tid": tag_id, "n": count, "at": at}
            for (contact_id, tag_id), (count, at) in points.items()
        ]
        await GIVE.run_many(self.conn, rows)
        for (contact_id, tag_id), (_, at) in points.items():
            if (contact_id, tag_id) in held:
                self.changes.touch([contact_id], at)
            else:
                self.changes.tagged(contact_id, tag_id, True, at)
        return set(points) - held

    async def holders(self, tag_id: int) -> list[int]:
        stmt = select(contact_tag_t.c.contact_id).where(contact_tag_t.c.tag_id == tag_id)
        return [r.contact_id for r in await self._rows(stmt)]

    async def held(self, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        """Which of these (contact id, tag id) pairs are held already."""
        wanted = set(pairs)
        if not wanted:
            return set()
        params = {"ids": sorted({c for c, _ in wanted}), "tags": sorted({t for _, t in wanted})}
        rows = await HELD.rows(self.conn, params)
        return {(int(r[0]), int(r[1])) for r in rows} & wanted

    async def holds(self, contact_id: int, tag_id: int) -> bool:
        return bool(await self.held([(contact_id, tag_id)]))

    async def remove(self, contact_id: int, tag_id: int) -> bool:
        result = await self.conn.execute(
            delete(contact_tag_t).where(
                contact_tag_t.c.contact_id == contact_id, contact_tag_t.c.tag_id == tag_id
            )
        )
        removed = bool(getattr(result, "rowcount", 0))
        if removed:
            self.changes.tagged(contact_id, tag_id, False, None)
        return removed


def _give(dialect: str) -> Any:
    at = bindparam("at", type_=UtcDateTime)
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(contact_tag_t)
    ins = ins.values(
        contact_id=bindparam("cid"), tag_id=bindparam("tid"), points=bindparam("n"),
        first_at=at, last_at=at,
    )  # fmt: skip
    return ins.on_conflict_do_update(
        index_elements=[contact_tag_t.c.contact_id, contact_tag_t.c.tag_id],
        set_={"points": contact_tag_t.c.points + ins.excluded.points, "last_at": at},
    )


GIVE = Direct(_give, many=True)  # direct.py
HELD = Direct(
    lambda d: select(contact_tag_t.c.contact_id, contact_tag_t.c.tag_id).where(
        one_of(contact_tag_t.c.contact_id, "ids", d), one_of(contact_tag_t.c.tag_id, "tags", d)
    )
)


class ApiKeyRepository(Repository):
    async def insert(
        self, name: str, prefix: str, key_hash: str, scope: Scope, now: datetime
    ) -> ApiKey:
        stmt = insert(api_key_t).values(
            name=name, prefix=prefix, key_hash=key_hash, scope=scope.value, created_at=now
        )
        key_id = int((await self.conn.execute(stmt.returning(api_key_t.c.id))).scalar_one())
        return ApiKey(key_id, name, prefix, scope, now, None)

    async def active_by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(api_key_t).where(
            api_key_t.c.key_hash == key_hash, api_key_t.c.revoked_at.is_(None)
        )
        row = (await self.conn.execute(stmt)).first()
        return _api_key(row) if row else None

    async def list_all(self) -> list[ApiKey]:
        return [_api_key(r) for r in await self._rows(select(api_key_t).order_by(api_key_t.c.id))]

    async def count(self) -> int:
        return int(await self._scalar(select(func.count()).select_from(api_key_t)))

    async def revoke(self, key_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            update(api_key_t)
            .where(api_key_t.c.id == key_id, api_key_t.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(getattr(result, "rowcount", 0))


def _api_key(row: Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        m["id"], m["name"], m["prefix"], Scope(m["scope"]), m["created_at"], m["revoked_at"]
    )


def _export_values(rows: Sequence[Row[Any]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of `export_chunk` with timestamps as ISO text (stored as naive UTC: text on
    SQLite, datetimes from asyncpg) and custom attributes as JSON text."""
    names = [c for c in columns if c != "tags"]
    times = [names.index(c) for c in ("created_at", "updated_at", "last_activity_at") if c in names]
    attributes = names.index("custom_attributes") if "custom_attributes" in names else None
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i in times:
            if isinstance(values[i], str):
                values[i] = values[i].replace(" ", "T", 1) + "+00:00"
            elif values[i] is not None:
                values[i] = values[i].replace(tzinfo=None).isoformat() + "+00:00"
        if attributes is not None and not isinstance(values[attributes], str | None):
            values[attributes] = json.dumps(values[attributes])
        out.append(tuple(values))
    return out


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Statements of the write path run directly on the driver.

A single recordInteraction runs about twenty statements (idempotency, the interaction, its
ledger entry, the score, placement inputs, list memberships, events, webhook deliveries).
Through SQLAlchemy's execution layers each costs ~40 us on SQLite for a statement that takes
~5 us, ~150 us on asyncpg: more than the writes themselves. A `Direct` statement is built
from its SQLAlchemy Core form and compiled once per dialect; each call converts the
parameters with the columns' own bind processors (the same stored values as SQLAlchemy
writes) and the result columns with their result processors, and hands the SQL to sqlite3
inline, in the unit of work's transaction (as `fetch_plain` does), or to asyncpg through the
connection's `exec_driver_sql`. Lists of ids or keys bind as one parameter (`one_of`): a JSON
array read by `json_each` on SQLite, an array for `= ANY` on Postgres, so one statement
serves every list length (an expanding IN is compiled again for each length).

Driver errors become SQLAlchemy's exceptions (IntegrityError, OperationalError), which the
unit of work turns into WriteConflict and Timeout as it does for any statement.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, BindParameter, ColumnElement, String, any_, bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import literal_column
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.types import DateTime, TypeDecorator

from domain.deadline import sqlite_progress
from domain.json_values import read_json
from persistence.types import UtcDateTime


class JsonArray(TypeDecorator[list[Any]]):
    """A list bound as JSON text (SQLite's `json_each` reads it)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else orjson.dumps(list(value)).decode()


def one_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """`column IN (the list bound as :name)` with one parameter for any list length."""
    if dialect == "postgresql":
        param: BindParameter[Any] = bindparam(name, type_=ARRAY(column.type))
        matches: ColumnElement[bool] = column == any_(param)
        return matches
    values: Any = sa_select(literal_column("value")).select_from(
        func.json_each(bindparam(name, type_=JsonArray()))
    )
    within: ColumnElement[bool] = column.in_(values.scalar_subquery())
    return within


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The parameters given at each call (each name once, however often the SQL binds it)
    # with their bind processors; the statement's constants (e.g. `reason = 'RULE'`),
    # processed once; and `layout`, picking the driver's positional values out of
    # [converted call values..., constants...].
    names: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    constants: tuple[Any, ...]
    layout: Callable[[Sequence[Any]], Any]
    single: bool  # one positional value (itemgetter answers it bare)
    plain: Callable[[Mapping[str, Any]], Any] | None  # every value as given, in order
    results: tuple[Callable[[Any], Any] | None, ...] | None  # None: no column converts
    returns: bool  # the statement returns rows
    record: Any  # a named tuple of the result columns (see `Direct.records`)


class Direct:
    """A statement built by `build(dialect name)` (Core; use `one_of` for lists), compiled
    once per dialect. `keys`: the parameter names of an INSERT without `.values()`;
    `many`: run with `run_many` (no implicit RETURNING); `expand`: a statement whose lists
    are fixed (every value bound when it is built, e.g. a filter's `IN`) has them rendered
    into the SQL once."""

    def __init__(
        self,
        build: Callable[[str], Any],
        *,
        keys: Sequence[str] | None = None,
        many: bool = False,
        expand: bool = False,
    ) -> None:
        self._build = build
        self._keys = list(keys) if keys is not None else None
        self._many = many
        self._expand = expand
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Any) -> _Compiled:
        stmt = self._build(dialect.name)
        compiled = stmt.compile(
            dialect=dialect, column_keys=self._keys, for_executemany=self._many,
            compile_kwargs={"render_postcompile": True} if self._expand else {},
        )  # fmt: skip
        assert "POSTCOMPILE" not in compiled.string, "use one_of() or = for lists"
        processors = compiled._bind_processors
        names: dict[str, Callable[[Any], Any] | None] = {}
        constants: list[Any] = []
        picks: list[tuple[str, Any]] = []  # per position: ("name", name) or ("const", index)
        expanded = compiled.construct_params() if self._expand else {}
        for name in compiled.positiontup or ():
            if name not in compiled.binds:  # one value of a list rendered by `expand`
                binder = processors.get(name) or processors.get(name.rsplit("_", 1)[0])
                picks.append(("const", len(constants)))
                constants.append(binder(expanded[name]) if binder else expanded[name])
                continue
            binder, param = processors.get(name), compiled.binds[name]
            if param.required:
                if name not in names:
                    if binder is not None and isinstance(param.type, DateTime | UtcDateTime):
                        binder = _last_of(binder)  # a write binds its `now` again and again
                    names[name] = binder
                picks.append(("name", name))
            else:
                value = param.effective_value
                picks.append(("const", len(constants)))
                constants.append(binder(value) if binder else value)
        order = list(names)
        layout = [order.index(v) if k == "name" else len(order) + v for k, v in picks]
        plain = None
        if not constants and not any(names.values()) and layout == list(range(len(order))):
            plain = itemgetter(*order) if order else None
        results = [_result_processor(column[3], dialect) for column in compiled._result_columns]
        return _Compiled(
            compiled.string, tuple(names.items()), tuple(constants),
            itemgetter(*layout) if layout else (lambda _: ()), len(layout) == 1, plain,
            tuple(results) if any(results) else None, bool(compiled._result_columns),
            _record_type(tuple(column[0] for column in compiled._result_columns)),
        )  # fmt: skip

    @staticmethod
    def _params(c: _Compiled, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if c.plain is not None:
            found = c.plain(values)
        else:
            given = [values[n] if b is None else b(values[n]) for n, b in c.names]
            found = c.layout(given + list(c.constants) if c.constants else given)
        return (found,) if c.single else tuple(found)

    async def rows(self, conn: AsyncConnection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of one execution, each column converted as SQLAlchemy would."""
        c = self.compiled(conn.dialect)
        raw = await _execute(conn, c, self._params(c, values))
        procs = c.results
        if procs is None:
            return raw
        return [
            tuple(p(v) if p is not None else v for p, v in zip(procs, row, strict=True))
            for row in raw
        ]

    async def records(self, conn: AsyncConnection, values: Mapping[str, Any]) -> list[Any]:
        """The rows as records: columns by attribute and `_mapping`, as SQLAlchemy's rows
        (for the converters written for those)."""
        record = self.compiled(conn.dialect).record
        assert record is not None, "columns without distinct names: use rows()"
        return [record._make(row) for row in await self.rows(conn, values)]

    async def run(self, conn: AsyncConnection, values: Mapping[str, Any]) -> None:
        c = self.compiled(conn.dialect)
        await _execute(conn, c, self._params(c, values))

    async def run_many(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """One executemany (no rows returned)."""
        if not rows:
            return
        c = self.compiled(conn.dialect)
        await execute_many(conn, c.sql, [self._params(c, row) for row in rows])


@functools.cache
def _record_type(names: tuple[str, ...]) -> Any:
    if not names or len(set(names)) < len(names):
        return None  # no record of nameless or ambiguous columns (`rows` serves those)
    base = namedtuple("Record", names)  # type: ignore[misc]

    class Record(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return Record


class ByIds:
    """A read of the rows of some ids: `= :id` when there is one (a card's loaders ask for
    one id, and a plain equality is the statement any hand-written read would use), else
    `one_of` the list. `build(where)` makes the statement from its id condition."""

    def __init__(self, column: Any, build: Callable[[ColumnElement[bool]], Any]) -> None:
        self.one = Direct(lambda _d: build(column == bindparam("id")))
        self.many = Direct(lambda d: build(one_of(column, "ids", d)))

    async def records(self, conn: AsyncConnection, ids: Iterable[int]) -> list[Any]:
        wanted = list(ids)
        if len(wanted) == 1:
            return await self.one.records(conn, {"id": wanted[0]})
        return await self.many.records(conn, {"ids": wanted}) if wanted else []


async def execute_many(conn: AsyncConnection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """An executemany of plain SQL in the driver's parameter style, with ready values."""
    if conn.dialect.name == "postgresql":
        await run_on_asyncpg(conn, sql, rows, many=True)
        return
    handle = await _sqlite_handle(conn)
    if handle is None:
        await conn.exec_driver_sql(sql, list(rows))
        return
    try:
        handle.executemany(sql, rows)
    except sqlite3.Error as error:
        raise _wrapped(sql, rows, error) from error


def _last_of(binder: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`binder` of datetimes remembering its last value and result (a write binds its `now`
    again and again; a batch's items often share their time)."""
    last: list[tuple[Any, Any]] = [(None, None)]  # (value, result), replaced as one

    def convert(value: Any) -> Any:
        seen, result = last[0]
        if value is not seen and (value is None or seen is None or value != seen):
            result = binder(value)
            last[0] = (value, result)
        return result

    return convert


def _sqlite_utc(value: Any) -> datetime | None:
    """SQLite's stored text of a UtcDateTime, read back aware (what UtcDateTime's result
    processor answers, without SQLAlchemy's regular expression)."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_json(value: Any) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:  # numbers orjson refuses, stored before they were checked
        return read_json(value)


def _result_processor(kind: TypeEngine[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's result processor; none where it needs the driver's type code
    (asyncpg's numerics: the callers convert sums with int())."""
    if dialect.name == "sqlite" and isinstance(kind, UtcDateTime):
        return _sqlite_utc
    if dialect.name == "sqlite" and isinstance(kind, JSON):
        return _sqlite_json
    try:
        return kind._cached_result_processor(dialect, None)
    except TypeError:
        return None


async def _sqlite_handle(conn: AsyncConnection, *, check: bool = True) -> sqlite3.Connection | None:
    """The sqlite3 connection of this unit of work (None on Postgres). SQLAlchemy's own
    transaction is begun first, so that its commit and rollback reach the driver. `check`:
    refuse at once when the request's time budget is spent."""
    if conn.dialect.name != "sqlite":
        return None
    sync = conn.sync_connection
    assert sync is not None
    if not sync.in_transaction():
        await conn.begin()
    if check and sqlite_progress():  # the request's time budget is spent
        raise _wrapped("", (), sqlite3.OperationalError("interrupted"))
    handle = getattr(sync.connection.driver_connection, "handle", None)
    return handle if isinstance(handle, sqlite3.Connection) else None


async def run_on_asyncpg(conn: AsyncConnection, sql: str, params: Any, *, many: bool) -> list[Any]:
    """The statement on the asyncpg connection under SQLAlchemy's adapter, in the adapter's
    transaction (begun here as its cursor would: SQLAlchemy's commit and rollback end it)
    and with its prepared-statement cache; errors raised as SQLAlchemy raises them. Skips
    the cursor and result layers (~60 us of ~150 us a statement on a 2-core VM)."""
    sync = conn.sync_connection
    assert sync is not None
    if not sync.in_transaction():
        await conn.begin()
    adapter: Any = sync.connection.dbapi_connection
    async with adapter._execute_mutex:
        try:
            if adapter._transaction is None:
                await adapter._start_transaction()
            if many:
                await adapter._connection.executemany(sql, params)
                return []
            prepared, _ = await adapter._prepare(sql, adapter._invalidate_schema_cache_asof)
            return list(await prepared.fetch(*params))
        except Exception as error:
            raise _adapted(conn, adapter, sql, params, error) from error


def _adapted(
    conn: AsyncConnection, adapter: Any, sql: str, params: Any, error: Exception
) -> Exception:
    """asyncpg's error as the adapter translates it, wrapped as SQLAlchemy does."""
    try:
        adapter._handle_exception(error)
    except Exception as translated:
        dbapi: Any = conn.dialect.loaded_dbapi
        if isinstance(translated, dbapi.Error):
            wrapped: Exception = DBAPIError.instance(sql, params, translated, dbapi.Error)
            return wrapped
        return translated
    return error


async def _execute(conn: AsyncConnection, c: _Compiled, params: tuple[Any, ...]) -> list[Any]:
    if conn.dialect.name == "postgresql":
        return await run_on_asyncpg(conn, c.sql, params, many=False)
    driver: Any = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    # A read transaction reads through the inline cursor, as SQLAlchemy's path would: a
    # statement that runs long moves off the event loop, and the progress handler alone
    # decides whether the budget stops it (persistence/sqlite_inline.py).
    reading = c.returns and getattr(driver, "offload", False)
    handle = await _sqlite_handle(conn, check=not reading)
    if handle is None:
        result = await conn.exec_driver_sql(c.sql, params)
        return list(result.all()) if c.returns else []
    try:
        if reading:
            cursor = await driver.cursor().execute(c.sql, params)
            rows: list[Any] = await cursor.fetchall()
            return rows
        cursor = handle.execute(c.sql, params)
        return cursor.fetchall() if c.returns else []
    except sqlite3.Error as error:
        raise _wrapped(c.sql, params, error) from error


def _wrapped(sql: str, params: Any, error: sqlite3.Error) -> Exception:
    """As SQLAlchemy raises it (IntegrityError, OperationalError, ...)."""
    return DBAPIError.instance(sql, params, error, sqlite3.Error)

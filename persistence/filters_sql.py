"""Compiles the domain `ContactFilter` tree to one SQL boolean expression.

Every leaf is two-valued (NULL columns are excluded explicitly) so that NOT agrees with the
domain predicate; `tests/integration/test_filter_agreement.py` proves both select the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from domain.contacts import ERASED_SUFFIX
from domain.filters import IN_FIELDS, ContactFilter
from persistence.tables import metadata

contact_t: Table = metadata.tables["contact"]
company_t: Table = metadata.tables["company"]
tag_t: Table = metadata.tables["tag"]
contact_tag_t: Table = metadata.tables["contact_tag"]

Expr = ColumnElement[bool]


def erased_contact() -> Expr:
    """The contact was erased (GDPR; domain.contacts.is_erased)."""
    return contact_t.c.email.endswith(ERASED_SUFFIX, autoescape=True)


def not_erased() -> Expr:
    return not_(erased_contact())


def _has_tags(codes: tuple[str, ...]) -> Expr:
    return exists(
        select(1)
        .select_from(contact_tag_t.join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id))
        .where(contact_tag_t.c.contact_id == contact_t.c.id, tag_t.c.code.in_(codes))
    )


def _has_tag_points(code: str, min_points: int) -> Expr:
    return exists(
        select(1)
        .select_from(contact_tag_t.join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id))
        .where(
            contact_tag_t.c.contact_id == contact_t.c.id,
            tag_t.c.code == code,
            contact_tag_t.c.points >= min_points,
        )
    )


def _in(column: ColumnElement[Any], values: tuple[Any, ...]) -> Expr:
    return and_(column.is_not(None), column.in_(values)) if values else false()


def _company_type_in(values: tuple[str, ...]) -> Expr:
    if not values:
        return false()
    matching = select(company_t.c.id).where(company_t.c.company_type.in_(values))
    return and_(contact_t.c.company_id.is_not(None), contact_t.c.company_id.in_(matching))


def _activity() -> ColumnElement[Any]:
    return func.coalesce(contact_t.c.last_activity_at, contact_t.c.created_at)


def _leaves(node: ContactFilter, now: datetime) -> list[Expr]:
    score = contact_t.c.score
    out: list[Expr] = []
    if node.score_above is not None:
        out.append(score > node.score_above)
    if node.score_below is not None:
        out.append(score < node.score_below)
    if node.score_between is not None:
        out.append(score.between(node.score_between.min, node.score_between.max))
    for name, attr in IN_FIELDS.items():
        values = getattr(node, name)
        if values is None:
            continue
        if attr == "company_type":
            out.append(_company_type_in(values))
        else:
            out.append(_in(contact_t.c[attr], values))
    if node.has_any_tag is not None:
        out.append(_has_tags(node.has_any_tag) if node.has_any_tag else false())
    if node.has_all_tags is not None:
        out.extend(_has_tags((code,)) for code in node.has_all_tags)
    if node.tag_points is not None:
        out.extend(_has_tag_points(t.code, t.min_points) for t in node.tag_points)
    if node.created_between is not None:
        span = node.created_between
        if span.start is not None:
            out.append(contact_t.c.created_at >= span.start)
        if span.end is not None:
            out.append(contact_t.c.created_at <= span.end)
    if node.last_activity_within_days is not None:
        out.append(_activity() >= now - timedelta(days=node.last_activity_within_days))
    if node.last_activity_older_than_days is not None:
        out.append(_activity() < now - timedelta(days=node.last_activity_older_than_days))
    if node.email_contains is not None:
        needle = node.email_contains.strip().lower()
        out.append(contact_t.c.email.contains(needle, autoescape=True))
    return out


def compile_filter(node: ContactFilter, now: datetime) -> Expr:
    parts = _leaves(node, now)
    parts.extend(compile_filter(child, now) for child in node.all_of)
    if node.any_of:
        parts.append(or_(*(compile_filter(child, now) for child in node.any_of)))
    if node.not_ is not None:
        parts.append(not_(compile_filter(node.not_, now)))
    return and_(true(), *parts)

"""Hypothesis strategies for contacts and filters, shared by the domain and SQL tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from domain.contacts import CompanyType, ContactType, ContactView, FunnelStage, Source
from domain.filters import ContactFilter, DateRange, IntRange, TagPoints

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECTORS = ["IT", "Moda", "Sanità", None]
REGIONS = ["Lazio", "Lombardia", "Emilia-Romagna", None]
CITIES = ["Roma", "Milano", "Forlì", "ROMA", None]
TAGS = ["lead-caldo", "fiere-2025", "webinar"]
TIERS = ["Tier 1", "Tier 2", "Tier 2+", None]
SEGMENTS = ["A", "B", "F", None]
LEAD_STATUSES = ["HOT", "WARM", "COLD", None]
EMAIL_PARTS = ["mario.rossi", "a_b", "c%d", "anna", "x"]
COMPANIES = {1: CompanyType.CLIENT, 2: CompanyType.PROSPECT, 3: None}
DAY_OFFSETS = [0, 1, 6, 7, 8, 30, 31, 90]

moments = st.builds(
    lambda days, hours: NOW - timedelta(days=days, hours=hours),
    st.sampled_from(DAY_OFFSETS),
    st.sampled_from([0, 0, 1, -1]),
)


@st.composite
def contact_views(draw: st.DrawFn, ident: int) -> ContactView:
    company_id = draw(st.sampled_from([1, 2, 3, None]))
    created = draw(moments)
    last = draw(st.one_of(st.none(), moments))
    return ContactView(
        id=ident,
        email=f"{draw(st.sampled_from(EMAIL_PARTS))}{ident}@example.it",
        score=draw(st.integers(-30, 120)),
        tier=draw(st.sampled_from(TIERS)),
        segment=draw(st.sampled_from(SEGMENTS)),
        lead_status=draw(st.sampled_from(LEAD_STATUSES)),
        sector=draw(st.sampled_from(SECTORS)),
        region=draw(st.sampled_from(REGIONS)),
        city=draw(st.sampled_from(CITIES)),
        contact_type=draw(st.sampled_from([*ContactType, None])),
        company_type=COMPANIES[company_id] if company_id else None,
        company_id=company_id,
        source=draw(st.sampled_from([*Source, None])),
        funnel_stage=draw(st.sampled_from([*FunnelStage, None])),
        created_at=created,
        last_activity_at=last,
        tag_points=draw(st.dictionaries(st.sampled_from(TAGS), st.integers(1, 5), max_size=3)),
    )


@st.composite
def contact_sets(draw: st.DrawFn, max_size: int = 12) -> list[ContactView]:
    size = draw(st.integers(0, max_size))
    return [draw(contact_views(i + 1)) for i in range(size)]


def _date_range(a: datetime | None, b: datetime | None) -> DateRange:
    if a is not None and b is not None and a > b:
        a, b = b, a
    return DateRange(a, b)


def _values(pool: list[object]) -> st.SearchStrategy[tuple[object, ...]]:
    return st.lists(st.sampled_from([p for p in pool if p is not None]), max_size=3).map(tuple)


def _enum_values(kind: type) -> st.SearchStrategy[tuple[object, ...]]:
    return st.lists(st.sampled_from([m.value for m in kind]), max_size=3).map(tuple)


LEAVES: dict[str, st.SearchStrategy[object]] = {
    "score_above": st.integers(-40, 130),
    "score_below": st.integers(-40, 130),
    "score_between": st.builds(
        lambda a, b: IntRange(min(a, b), max(a, b)), st.integers(-40, 130), st.integers(-40, 130)
    ),
    "tier_in": _values(TIERS),
    "segment_in": _values(SEGMENTS),
    "lead_status_in": _values(LEAD_STATUSES),
    "has_any_tag": _values([*TAGS, "unknown"]),
    "has_all_tags": _values([*TAGS, "unknown"]),
    "tag_points": st.lists(
        st.builds(TagPoints, st.sampled_from([*TAGS, "unknown"]), st.integers(1, 6)), max_size=2
    ).map(tuple),
    "sector_in": _values(SECTORS),
    "region_in": _values(REGIONS),
    "city_in": _values(CITIES),
    "contact_type_in": _enum_values(ContactType),
    "company_type_in": _enum_values(CompanyType),
    "source_in": _enum_values(Source),
    "funnel_stage_in": _enum_values(FunnelStage),
    "company_id_in": st.lists(st.sampled_from([1, 2, 3, 4]), max_size=2).map(tuple),
    "created_between": st.builds(
        _date_range, st.one_of(st.none(), moments), st.one_of(st.none(), moments)
    ),
    "last_activity_within_days": st.sampled_from([0, 1, 7, 30]),
    "last_activity_older_than_days": st.sampled_from([0, 1, 7, 30]),
    "email_contains": st.sampled_from(["rossi", "_", "%", "a", "1@", "ANNA", "x"]),
}


@st.composite
def leaf_filters(draw: st.DrawFn) -> ContactFilter:
    names = draw(st.lists(st.sampled_from(sorted(LEAVES)), min_size=1, max_size=3, unique=True))
    return ContactFilter(**{name: draw(LEAVES[name]) for name in names})


def filters() -> st.SearchStrategy[ContactFilter]:
    return st.recursive(
        leaf_filters(),
        lambda children: st.one_of(
            st.builds(lambda xs: ContactFilter(all_of=tuple(xs)), st.lists(children, max_size=3)),
            st.builds(lambda xs: ContactFilter(any_of=tuple(xs)), st.lists(children, max_size=3)),
            st.builds(lambda x: ContactFilter(not_=x), children),
            st.builds(lambda x, y: ContactFilter(not_=x, all_of=(y,)), children, children),
        ),
        max_leaves=6,
    )

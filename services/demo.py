"""A realistic Italian CRM sample (`segmento demo`), built only through the use cases."""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from domain.contacts import Company, ContactType, FunnelStage
from domain.tags import slugify
from services import demo_data as data
from services.companies import create_company
from services.contacts import MAX_BATCH, upsert_contacts
from services.ports import UnitOfWorkFactory
from services.tags import assign_tag, create_tag, list_tags

K = TypeVar("K")


def _pick(rng: random.Random, table: Mapping[K, int]) -> K:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _region_order(rng: random.Random, count: int) -> list[str]:
    """Every region once (shuffled) while there is room, then weighted by economic weight."""
    spread = rng.sample(list(data.REGIONS), len(data.REGIONS))[:count]
    return spread + [_pick(rng, data.REGION_WEIGHTS) for _ in range(count - len(spread))]


def _company_name(rng: random.Random, sector: str, size: int, used: set[str]) -> tuple[str, str]:
    """A unique (name, web domain) such as ("Rossi Meccanica S.r.l.", "rossimeccanica.it")."""
    patterns = data.SECTORS[sector][1]
    base = ""
    for _ in range(20):
        base = rng.choice(patterns).format(rng.choice(data.SURNAMES))
        if _ascii(base) not in used:
            break
    else:
        base = f"{base} {len(used) + 1}"
    used.add(_ascii(base))
    form = (
        "S.p.A."
        if size > 500
        else _pick(rng, data.LEGAL_FORMS if size <= 50 else data.MID_SIZE_FORMS)
    )
    return f"{base} {form}", f"{_ascii(base)}.it"


def _company_values(rng: random.Random, region: str, used: set[str]) -> dict[str, Any]:
    sector = _pick(rng, data.SECTOR_WEIGHTS)
    size = rng.randint(*_pick(rng, data.SIZE_BANDS))
    name, domain = _company_name(rng, sector, size, used)
    return {
        "name": name,
        "company_type": _pick(rng, data.COMPANY_TYPES),
        "sector": sector,
        "size": size,
        "region": region,
        "city": rng.choice(data.CITIES_BY_REGION[region]),
        "country": "IT",
        "website": f"https://www.{domain}",
    }


def _email(rng: random.Random, first: str, last: str, domain: str, used: set[str]) -> str:
    f, last_ = _ascii(first), _ascii(last)
    local = rng.choice((f"{f}.{last_}", f"{f}.{last_}", f"{f[0]}.{last_}", f"{f}{last_}"))
    email, n = f"{local}@{domain}", 1
    while email in used:
        n += 1
        email = f"{local}{n}@{domain}"
    used.add(email)
    return email


def _phone(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    digits = f"{rng.randrange(1000):03d} {rng.randrange(10000):04d}"
    return f"+39 {rng.choice(data.MOBILE_PREFIXES)} {digits}"


def _funnel(rng: random.Random, contact_type: ContactType) -> FunnelStage:
    if contact_type is ContactType.CLIENT:
        return _pick(rng, {FunnelStage.CONSIDERATION: 3, FunnelStage.DECISION: 7})
    stages = {FunnelStage.AWARENESS: 50, FunnelStage.CONSIDERATION: 32, FunnelStage.DECISION: 18}
    return _pick(rng, stages)


def _contact_type(rng: random.Random, company: Company | None) -> ContactType:
    if company is None:
        return _pick(rng, {ContactType.PROSPECT: 8, ContactType.OTHER: 2})
    if company.company_type is not None and rng.random() < 0.9:
        return ContactType(company.company_type.value)
    return ContactType.PROSPECT


def _contact_item(rng: random.Random, company: Company | None, used: set[str]) -> dict[str, Any]:
    first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.SURNAMES)
    if company is not None and company.website:
        domain, job = company.website.removeprefix("https://www."), _pick(rng, data.JOB_TITLES)
        sector, region, city = company.sector, company.region, company.city
    else:
        domain, job = (
            rng.choice(data.FREE_MAIL),
            rng.choice(("Libero professionista", "Consulente")),
        )
        sector, region = None, _pick(rng, data.REGION_WEIGHTS)
        city = rng.choice(data.CITIES_BY_REGION[region])
    contact_type = _contact_type(rng, company)
    consent_email = rng.random() < 0.85
    return {
        "email": _email(rng, first, last, domain, used),
        "first_name": first,
        "last_name": last,
        "phone": _phone(rng),
        "job_title": job,
        "contact_type": contact_type,
        "source": _pick(rng, data.SOURCES),
        "funnel_stage": _funnel(rng, contact_type),
        "sector": sector,
        "region": region,
        "city": city,
        "country": "IT",
        "company_id": company.id if company else None,
        "custom_attributes": {
            "lingua": "it" if rng.random() < 0.95 else "en",
            "newsletter": _pick(rng, data.NEWSLETTER) if consent_email else "nessuna",
        },
        "consent_email": consent_email,
        "consent_profiling": rng.random() < 0.55,
    }


def _contact_items(
    rng: random.Random, companies: Sequence[Company], count: int
) -> list[dict[str, Any]]:
    """About 5% without a company; bigger companies get a few more contacts."""
    weights = [math.log10((company.size or 1) + 1) for company in companies]
    used: set[str] = set()
    items = []
    for _ in range(count):
        company = None
        if companies and rng.random() >= 0.05:
            company = rng.choices(companies, weights=weights)[0]
        items.append(_contact_item(rng, company, used))
    return items


def _fits(name: str, item: Mapping[str, Any]) -> bool:
    if name == "Newsletter":
        return bool(item["consent_email"])
    if name in ("Acquisto", "Cliente fedele"):
        return item["contact_type"] is ContactType.CLIENT
    if name in ("Lead caldo", "Richiesta demo"):
        return item["funnel_stage"] is not FunnelStage.AWARENESS
    if name == "Decisore":
        return item["job_title"] in data.DECISION_MAKERS
    return True


def _tag_plan(rng: random.Random, items: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], int]:
    """(index of the contact, tag name) -> how many times the tag is given (its points)."""
    wanted = len(items) * 3 // 20
    plan: dict[tuple[int, str], int] = {}
    for _ in range(wanted * 10):
        if len(plan) >= wanted:
            break
        index, name = rng.randrange(len(items)), rng.choice(list(data.TAGS))
        if (index, name) not in plan and _fits(name, items[index]):
            plan[index, name] = _pick(rng, {1: 7, 2: 2, 3: 1})
    return plan


async def _create_companies(
    uows: UnitOfWorkFactory, rng: random.Random, count: int, now: datetime
) -> list[Company]:
    used: set[str] = set()
    return [
        await create_company(uows, _company_values(rng, region, used), now)
        for region in _region_order(rng, count)
    ]


async def _upsert(
    uows: UnitOfWorkFactory, items: Sequence[Mapping[str, Any]], now: datetime
) -> list[int]:
    """The ids of the contacts stored, in the order of `items`; any refusal is a bug here."""
    ids: list[int] = []
    for start in range(0, len(items), MAX_BATCH):
        for result in await upsert_contacts(uows, items[start : start + MAX_BATCH], now):
            if result.error is not None or result.contact is None:
                raise RuntimeError(f"demo contact {start + result.index} refused: {result.error}")
            ids.append(result.contact.id)
    return ids


async def _tag_codes(uows: UnitOfWorkFactory, now: datetime) -> dict[str, str]:
    """Tag name -> code; tags that already exist are reused."""
    known = {key: tag for tag in await list_tags(uows) for key in (tag.name, tag.code)}
    codes: dict[str, str] = {}
    for name, description in data.TAGS.items():
        tag = known.get(name) or known.get(slugify(name))
        if tag is None:
            tag = await create_tag(uows, name, None, description, now)
        codes[name] = tag.code
    return codes


async def load_demo(
    uows: UnitOfWorkFactory,
    now: datetime,
    contacts: int = 2000,
    companies: int = 200,
    seed: int = 42,
) -> str:
    """Fill an empty database with the sample; a database with companies is left alone."""
    async with uows() as uow:
        existing = await uow.companies.count(None)
        if existing:
            stored = await uow.contacts.count(None, now)
            return (
                f"demo: data already there ({existing} companies, {stored} contacts); "
                "nothing loaded"
            )
    rng = random.Random(seed)
    created = await _create_companies(uows, rng, companies, now)
    items = _contact_items(rng, created, contacts)
    ids = await _upsert(uows, items, now)
    codes = await _tag_codes(uows, now)
    plan = _tag_plan(rng, items)
    for (index, name), points in plan.items():
        for _ in range(points):
            await assign_tag(uows, ids[index], codes[name], now)
    return (
        f"demo: {len(ids)} contacts, {len(created)} companies, {len(codes)} tags, "
        f"{len(plan)} tag assignments ({sum(plan.values())} points)"
    )

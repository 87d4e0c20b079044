"""GDPR: export everything stored about a contact; erase a contact's personal data.

Erasure is irreversible and keeps what aggregates need: the contact row stays (same id,
sector, region, city, country, company, dates), as do its ledger, interaction types and
times and tier history. Like any write it is settled at commit: fit points earned by what
was erased (e.g. a job title) are taken back in the ledger. It leaves every list, static
and dynamic (LIST_LEFT each), and from then on it is in no list, no contact listing, tier
distribution, top contacts, KPI or export, and any write naming it is refused with GONE
(its email, in the reserved `erased.invalid` domain, is what marks it). Gone: the email (now
`erased-<id>@erased.invalid`), names, phone, job title, custom attributes and consents on
the contact; interaction properties, page query strings and idempotency keys (they may
embed an address); ledger comments; and any occurrence of the email or phone in the
contact's event-log snapshots, webhook delivery bodies and errors, automation-run logs and
tier-change reasons. The same goes for every contact merged into it: the aliases remember
who was merged (email, names, phone), their events and webhook deliveries (which keep the
merged id) are scrubbed of those values as well, and the aliases forget them. Erasing an
erased contact again changes nothing and logs nothing more. Merged ids resolve to the kept
contact.

The freed bytes are then wiped from the files where the database allows it (done by the
unit of work after the commit, persistence/db.py `Database.reclaim`): SQLite overwrites
deleted content (`secure_delete`) and the erasure ends with a TRUNCATE checkpoint, so the
old values are in neither the database file nor its `-wal`; Postgres keeps the old row
versions as dead tuples until VACUUM, which runs on the touched tables after the commit.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from domain.contacts import ERASED_DOMAIN, Contact
from domain.duplicates import Person, fold
from domain.errors import NotFound
from services import lists
from services.ports import UnitOfWork, UnitOfWorkFactory

ERASED = "[erased]"


async def _resolve(uow: UnitOfWork, contact_id: int) -> int:
    if await uow.contacts.get(contact_id) is not None:
        return contact_id
    kept = await uow.lifecycle.alias_of(contact_id)
    if kept is None:
        raise NotFound(f"no contact with id {contact_id}", field="id")
    return kept


async def export_contact(uows: UnitOfWorkFactory, contact_id: int) -> dict[str, Any]:
    """Every row stored about the contact, JSON-ready (dates as ISO 8601 text)."""
    async with uows() as uow:
        found = await uow.lifecycle.everything(await _resolve(uow, contact_id))
    assert found is not None
    for delivery in found["webhook_deliveries"]:
        delivery["body"] = json.loads(delivery["body"])  # JSON text as sent
    data: dict[str, Any] = _json_ready(found)
    contact = data["contact"]
    data["consent"] = {
        "email_marketing": contact["consent_email"],
        "profiling": contact["consent_profiling"],
    }
    return data


def erased_email(contact_id: int) -> str:
    return f"erased-{contact_id}@{ERASED_DOMAIN}"


async def erase_contact(
    uows: UnitOfWorkFactory, contact_id: int, key_id: int | None, now: datetime
) -> int:
    """Returns the id of the erased contact. The contacts merged into it are erased with it:
    their events, deliveries and aliases are scrubbed of their email, names and phone too."""
    async with uows(write=True) as uow:
        target = await _resolve(uow, contact_id)
        await uow.contacts.lock([target])
        contact = await uow.contacts.get(target)
        assert contact is not None
        if await uow.lifecycle.erased(target):
            return target
        merged = await uow.lifecycle.merged_people(target)
        scrub = _scrubber([_person(contact), *merged], erased_email(target))
        ids = sorted({target, *(p.id for p in merged)})
        await uow.contacts.update(target, _blank(target), now)
        await uow.lifecycle.forget_interactions(target)
        await uow.lifecycle.scrub_rows(ids, SCRUBBED, scrub)
        await uow.lifecycle.scrub_rows(ids, {"interaction": ["page"]}, _page_scrubber(scrub))
        await uow.lifecycle.forget_aliases(target)
        await lists.leave_static_lists(uow, target, now)
        await uow.lifecycle.log_erasure(target, key_id, now)
        await uow.commit()
    return target


# Text and JSON columns of a contact's rows that can carry its email, names or phone.
SCRUBBED: dict[str, list[str]] = {
    "event": ["payload"],
    "webhook_delivery": ["body", "last_error"],
    "webhook_attempt": ["error"],
    "automation_run": ["trigger", "actions"],
    "tier_change": ["reason"],
    "score_entry": ["label"],
}


def _person(contact: Contact) -> Person:
    return Person(contact.id, contact.email, contact.first_name, contact.last_name, contact.phone)


def _blank(contact_id: int) -> dict[str, Any]:
    return {
        "email": erased_email(contact_id), "first_name": None, "last_name": None,
        "phone": None, "job_title": None, "custom_attributes": {}, "consent_email": False,
        "consent_profiling": False,
    }  # fmt: skip


def _scrubber(people: list[Person], placeholder: str) -> Any:
    """Replaces each person's email (with the placeholder) and phone wherever they occur in
    a value (text, JSON text, or JSON structures); a value equal to a name becomes
    `[erased]`."""
    contained: list[tuple[str, str]] = []
    names: set[str] = set()
    for person in people:
        if person.email:
            contained.append((person.email, placeholder))
        if person.phone and len(person.phone.strip()) >= 5:
            contained.append((person.phone.strip(), ERASED))
        first, last = person.first_name, person.last_name
        names |= {fold(n) for n in (first, last) if n and n.strip()}
        full = fold(f"{first or ''} {last or ''}")
        if full:
            names.add(full)

    def text(value: str) -> str:
        if fold(value) in names:
            return ERASED
        for needle, replacement in contained:
            value = _replace_ci(value, needle, replacement)
        return value

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return scrub


def _page_scrubber(scrub: Any) -> Any:
    """Pages lose their query string and fragment (they may carry an address or a token)."""

    def page(value: Any) -> Any:
        if not value:
            return value
        parts = urlsplit(str(value))
        return scrub(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))

    return page


def _replace_ci(value: str, needle: str, replacement: str) -> str:
    lowered, target = value.lower(), needle.lower()
    if not target or target not in lowered:
        return value
    out, start = [], 0
    while (found := lowered.find(target, start)) >= 0:
        out.append(value[start:found] + replacement)
        start = found + len(target)
    return "".join(out) + value[start:]


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value

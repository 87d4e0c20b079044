"""Tags: a name and a stable machine code (slug) that the API uses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInput

CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_CODE = 64


def slugify(name: str) -> str:
    """'Interessato a servizi premium' -> 'interessato-a-servizi-premium'; accents folded."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:MAX_CODE].rstrip("-")


def clean_tag_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("tag name must not be blank", field="name")
    if len(name) > 100:
        raise InvalidInput("tag name is longer than 100 characters", field="name")
    return name


def code_for(name: str, explicit: str | None = None) -> str:
    """The code given (validated) or one derived from the name."""
    if explicit is not None:
        code = explicit.strip()
        if not CODE_RE.match(code) or len(code) > MAX_CODE:
            raise InvalidInput(
                f"tag code {explicit!r} must be lower-case letters, digits and single dashes",
                field="code",
            )
        return code
    code = slugify(name)
    if not code:
        raise InvalidInput(
            f"cannot derive a code from tag name {name!r}; give one explicitly", field="code"
        )
    return code


def label(name: str, code: str) -> str:
    return f"{name} ({code})"


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    code: str
    description: str | None
    created_at: datetime


@dataclass(frozen=True)
class ContactTag:
    contact_id: int
    tag: Tag
    points: int
    first_at: datetime
    last_at: datetime

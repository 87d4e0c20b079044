"""Tag types: a tag, and a tag as held by one contact (with its points)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import AppInfo
from api.schema.fields import field
from domain.tags import ContactTag as ContactTagRecord
from domain.tags import Tag as TagRecord
from domain.tags import label


@strawberry.type
class Tag:
    id: strawberry.ID
    name: str
    code: str = strawberry.field(description="Stable machine code (slug) used by the API.")
    description: str | None
    created_at: datetime

    @classmethod
    def from_domain(cls, t: TagRecord) -> Tag:
        return cls(
            id=strawberry.ID(str(t.id)),
            name=t.name,
            code=t.code,
            description=t.description,
            created_at=t.created_at,
        )

    @field(description='Shown as "name (code)".')
    def label(self) -> str:
        return label(self.name, self.code)

    @field(description="How many contacts hold this tag.")
    async def contact_count(self, info: AppInfo) -> int:
        return await info.context.loaders.tag_contact_count.load(int(self.id))


@strawberry.type
class ContactTag:
    tag: Tag
    points: int = strawberry.field(description="How many times the tag was given or triggered.")
    first_at: datetime
    last_at: datetime

    @classmethod
    def from_domain(cls, ct: ContactTagRecord) -> ContactTag:
        return cls(
            tag=Tag.from_domain(ct.tag), points=ct.points, first_at=ct.first_at, last_at=ct.last_at
        )

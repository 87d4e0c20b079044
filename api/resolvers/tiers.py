"""Tier policy and segment scheme: read, update (new version, everyone re-placed), restore."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.permissions import IsAdmin
from api.schema.tiers import (
    ContactMove,
    Count,
    DictionaryFormat,
    Move,
    PolicyKind,
    PolicyVersion,
    SegmentScheme,
    SegmentSchemeInput,
    Simulation,
    TierPolicyInput,
    TierPolicyType,
)
from domain.pagination import page_request
from services import dictionary, tiers


async def tier_policy(info: AppInfo) -> TierPolicyType:
    return TierPolicyType.from_domain(await tiers.current_policy(info.context.uows))


async def segment_scheme(info: AppInfo) -> SegmentScheme:
    return SegmentScheme.from_domain(await tiers.current_scheme(info.context.uows))


async def policy_versions(info: AppInfo, kind: PolicyKind) -> list[PolicyVersion]:
    found = await tiers.versions(info.context.uows, kind.value)
    return [PolicyVersion(kind=kind, version=v, comment=c, created_at=at) for v, c, at in found]


async def update_tier_policy(
    info: AppInfo, input: TierPolicyInput, comment: str | None = None
) -> TierPolicyType:
    ctx = info.context
    policy = await tiers.update_policy(ctx.uows, input.to_domain(), comment, ctx.clock())
    return TierPolicyType.from_domain(policy)


async def update_segment_scheme(
    info: AppInfo, input: SegmentSchemeInput, comment: str | None = None
) -> SegmentScheme:
    ctx = info.context
    scheme = await tiers.update_scheme(ctx.uows, input.to_domain(), comment, ctx.clock())
    return SegmentScheme.from_domain(scheme)


async def restore_policy_version(info: AppInfo, kind: PolicyKind, version: int) -> int:
    """Returns the new version number (a copy of the restored one)."""
    ctx = info.context
    if kind is PolicyKind.TIER:
        return (await tiers.restore_policy(ctx.uows, version, ctx.clock())).version
    return (await tiers.restore_scheme(ctx.uows, version, ctx.clock())).version


def _simulation(result: tiers.Simulation) -> Simulation:
    m = result.movement

    def counts(table: dict[str | None, int]) -> list[Count]:
        return [Count(value=k, contacts=v) for k, v in sorted(table.items(), key=_by_name)]

    return Simulation(
        now=counts(m.now),
        proposed=counts(m.proposed),
        matrix=[
            Move(from_value=a, to_value=b, contacts=n)
            for (a, b), n in sorted(m.matrix.items(), key=lambda kv: tuple(map(_name, kv[0])))
        ],
        moving_count=result.moving,
        moving=[
            ContactMove(contact_id=strawberry.ID(str(x.contact_id)), from_value=x.old,
                        to_value=x.new, reason=x.reason)
            for x in result.sample
        ],
    )  # fmt: skip


def _name(value: str | None) -> str:
    return value or ""


def _by_name(item: tuple[str | None, int]) -> str:
    return _name(item[0])


async def simulate_tier_policy(
    info: AppInfo, input: TierPolicyInput, first: int = 50
) -> Simulation:
    ctx = info.context
    page_request(first, None, None, None, "ID")
    result = await tiers.simulate(ctx.uows, ctx.clock(), policy=input.to_domain(), first=first)
    return _simulation(result)


async def simulate_segment_scheme(
    info: AppInfo, input: SegmentSchemeInput, first: int = 50
) -> Simulation:
    ctx = info.context
    page_request(first, None, None, None, "ID")
    result = await tiers.simulate(ctx.uows, ctx.clock(), scheme=input.to_domain(), first=first)
    return _simulation(result)


async def segmentation_dictionary(
    info: AppInfo, format: DictionaryFormat = DictionaryFormat.JSON
) -> str:
    return await dictionary.render(info.context.uows, markdown=format is DictionaryFormat.MARKDOWN)


@strawberry.type
class TierQueries:
    tier_policy: TierPolicyType | None = strawberry.field(
        resolver=tier_policy, description="The current tier policy."
    )
    segment_scheme: SegmentScheme | None = strawberry.field(
        resolver=segment_scheme, description="The current segment scheme."
    )
    policy_versions: list[PolicyVersion] | None = strawberry.field(
        resolver=policy_versions, description="Every version, newest first."
    )
    simulate_tier_policy: Simulation | None = strawberry.field(
        resolver=simulate_tier_policy,
        description="Tier distribution now vs under a proposed policy. Writes nothing.",
    )
    simulate_segment_scheme: Simulation | None = strawberry.field(
        resolver=simulate_segment_scheme,
        description="Segment distribution now vs under a proposed scheme. Writes nothing.",
    )
    segmentation_dictionary: str | None = strawberry.field(
        resolver=segmentation_dictionary,
        description="Every rule, weight, threshold, override and segment, as JSON or Markdown.",
    )


@strawberry.type
class TierMutations:
    update_tier_policy: TierPolicyType | None = strawberry.field(
        resolver=update_tier_policy,
        permission_classes=[IsAdmin.doing("changing the tier policy")],
        description="Admin. Creates the next version and re-tiers every contact.",
    )
    update_segment_scheme: SegmentScheme | None = strawberry.field(
        resolver=update_segment_scheme,
        permission_classes=[IsAdmin.doing("changing the segment scheme")],
        description="Admin. Creates the next version and re-segments every contact.",
    )
    restore_policy_version: int | None = strawberry.field(
        resolver=restore_policy_version,
        permission_classes=[IsAdmin.doing("restoring a policy version")],
        description="Admin. Makes an old version current again (as a new version).",
    )

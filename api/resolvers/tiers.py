"""Tier policy and segment scheme: read, update (new version, everyone re-placed), restore."""

from __future__ import annotations

from api.context import AppInfo
from api.schema.tiers import (
    PolicyKind,
    PolicyVersion,
    SegmentScheme,
    SegmentSchemeInput,
    TierPolicyInput,
    TierPolicyType,
)
from domain.auth import Scope
from services import tiers


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
    ctx.require(Scope.ADMIN, "changing the tier policy")
    policy = await tiers.update_policy(ctx.uows, input.to_domain(), comment, ctx.clock())
    return TierPolicyType.from_domain(policy)


async def update_segment_scheme(
    info: AppInfo, input: SegmentSchemeInput, comment: str | None = None
) -> SegmentScheme:
    ctx = info.context
    ctx.require(Scope.ADMIN, "changing the segment scheme")
    scheme = await tiers.update_scheme(ctx.uows, input.to_domain(), comment, ctx.clock())
    return SegmentScheme.from_domain(scheme)


async def restore_policy_version(info: AppInfo, kind: PolicyKind, version: int) -> int:
    """Returns the new version number (a copy of the restored one)."""
    ctx = info.context
    ctx.require(Scope.ADMIN, "restoring a policy version")
    if kind is PolicyKind.TIER:
        return (await tiers.restore_policy(ctx.uows, version, ctx.clock())).version
    return (await tiers.restore_scheme(ctx.uows, version, ctx.clock())).version

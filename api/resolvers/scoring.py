"""Scoring rules, fit rules, interactions, manual adjustments and decay."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import AppInfo
from api.permissions import IsAdmin
from api.schema.contact import Contact, load_contact
from api.schema.enums import RuleGroupEnum, RuleKindEnum, RuleStatusEnum
from api.schema.errors import ItemError
from api.schema.fields import field
from api.schema.scoring import DecayPolicy, DecayRun, FitRule, Interaction, ScoringRule
from api.schema.scoring_inputs import (
    DecayPolicyInput,
    FitRuleInput,
    FitRuleUpdateInput,
    InteractionInput,
    ScoringRuleInput,
    ScoringRuleUpdateInput,
)
from domain.errors import parse_id
from services import contacts, decay, fit, interactions, ledger, rules
from services import fit_rules as fit_rule_service


@strawberry.type
class AppliedRule:
    rule_id: strawberry.ID | None
    name: str
    points: int


async def _contact(info: AppInfo, contact_id: int | None) -> Contact | None:
    return None if contact_id is None else await load_contact(info, contact_id)


@strawberry.type
class RecordInteractionPayload:
    interaction: Interaction
    score_delta: int
    applied_rules: list[AppliedRule]
    duplicate: bool = strawberry.field(description="The key was seen before; nothing changed.")
    contact_id: strawberry.Private[int]

    @field(description="The contact after the change.")
    async def contact(self, info: AppInfo) -> Contact:
        found = await _contact(info, self.contact_id)
        assert found is not None
        return found


@strawberry.type
class RecordInteractionResult:
    index: int
    interaction: Interaction | None
    score_delta: int
    applied_rules: list[AppliedRule]
    duplicate: bool
    error: ItemError | None
    contact_id: strawberry.Private[int | None]

    @field(description="The contact after the batch.")
    async def contact(self, info: AppInfo) -> Contact | None:
        return await _contact(info, self.contact_id)


@strawberry.type
class RecordInteractionsPayload:
    recorded_count: int
    duplicate_count: int
    error_count: int
    raw: strawberry.Private[list[interactions.RecordResult]]

    @field(description="One per input item, in input order.")
    def results(self) -> list[RecordInteractionResult]:
        return [_result(r) for r in self.raw]


def _result(r: interactions.RecordResult) -> RecordInteractionResult:
    return RecordInteractionResult(
        index=r.index,
        interaction=Interaction.from_domain(r.interaction) if r.interaction else None,
        contact_id=r.interaction.contact_id if r.interaction else None,
        score_delta=r.score_delta,
        applied_rules=[
            AppliedRule(
                rule_id=strawberry.ID(str(a.rule_id)) if a.rule_id else None,
                name=a.name,
                points=a.points,
            )
            for a in r.applied
        ],
        duplicate=r.duplicate,
        error=ItemError.from_domain(r.error),
    )


async def record_interaction(info: AppInfo, input: InteractionInput) -> RecordInteractionPayload:
    ctx = info.context
    [result] = await interactions.record_interactions(ctx.uows, [input.to_record()], ctx.clock())
    if result.error is not None:
        raise result.error
    item = _result(result)
    assert item.interaction is not None and item.contact_id is not None
    return RecordInteractionPayload(
        interaction=item.interaction,
        contact_id=item.contact_id,
        score_delta=item.score_delta,
        applied_rules=item.applied_rules,
        duplicate=item.duplicate,
    )


async def record_interactions(
    info: AppInfo,
    items: Annotated[list[InteractionInput], strawberry.argument(name="interactions")],
) -> RecordInteractionsPayload:
    ctx = info.context
    results = await interactions.record_interactions(
        ctx.uows, [i.to_record() for i in items], ctx.clock()
    )
    return RecordInteractionsPayload(
        raw=results,
        recorded_count=sum(1 for r in results if not r.error and not r.duplicate),
        duplicate_count=sum(1 for r in results if r.duplicate),
        error_count=sum(1 for r in results if r.error),
    )


async def scoring_rules(
    info: AppInfo,
    group: RuleGroupEnum | None = None,
    status: RuleStatusEnum | None = None,
    kind: RuleKindEnum | None = None,
) -> list[ScoringRule]:
    found = await rules.list_rules(info.context.uows, group, status, kind)
    return [ScoringRule.from_domain(r) for r in found]


async def scoring_rule(info: AppInfo, id: strawberry.ID) -> ScoringRule:
    return ScoringRule.from_domain(await rules.get_rule(info.context.uows, parse_id(id, "rule")))


async def create_scoring_rule(info: AppInfo, input: ScoringRuleInput) -> ScoringRule:
    ctx = info.context
    return ScoringRule.from_domain(
        await rules.create_rule(ctx.uows, input.to_values(), ctx.clock())
    )


async def update_scoring_rule(
    info: AppInfo, id: strawberry.ID, input: ScoringRuleUpdateInput
) -> ScoringRule:
    ctx = info.context
    rule_id = parse_id(id, "rule")
    return ScoringRule.from_domain(
        await rules.update_rule(ctx.uows, rule_id, input.to_values(), ctx.clock())
    )


async def delete_scoring_rule(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    await rules.delete_rule(info.context.uows, parse_id(id, "rule"))
    return id


async def fit_rules(info: AppInfo) -> list[FitRule]:
    return [FitRule.from_domain(r) for r in await fit.list_fit_rules(info.context.uows)]


async def create_fit_rule(info: AppInfo, input: FitRuleInput) -> FitRule:
    ctx = info.context
    return FitRule.from_domain(
        await fit_rule_service.save_fit_rule(ctx.uows, None, input.to_values(), ctx.clock())
    )


async def update_fit_rule(info: AppInfo, id: strawberry.ID, input: FitRuleUpdateInput) -> FitRule:
    ctx = info.context
    rule_id = parse_id(id, "fit rule")
    return FitRule.from_domain(
        await fit_rule_service.save_fit_rule(ctx.uows, rule_id, input.to_values(), ctx.clock())
    )


async def delete_fit_rule(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    await fit_rule_service.delete_fit_rule(ctx.uows, parse_id(id, "fit rule"), ctx.clock())
    return id


async def adjust_score(
    info: AppInfo, contact_id: strawberry.ID, points: int, comment: str
) -> Contact:
    ctx = info.context
    cid = parse_id(contact_id, "contact", "contactId")
    await ledger.adjust_score(ctx.uows, cid, points, comment, ctx.clock())
    return Contact.from_domain(await contacts.get_contact(ctx.uows, cid))


async def decay_policy(info: AppInfo) -> DecayPolicy:
    return DecayPolicy.from_domain(await decay.current_policy(info.context.uows))


async def decay_policies(info: AppInfo) -> list[DecayPolicy]:
    return [DecayPolicy.from_domain(p) for p in await decay.policy_history(info.context.uows)]


async def update_decay_policy(info: AppInfo, input: DecayPolicyInput) -> DecayPolicy:
    ctx = info.context
    policy = await decay.update_policy(ctx.uows, input.to_values(), ctx.clock())
    return DecayPolicy.from_domain(policy)


async def run_decay(info: AppInfo) -> DecayRun:
    ctx = info.context
    result = await decay.run_decay(ctx.uows, ctx.clock())
    return DecayRun(
        policy_version=result.policy_version,
        contacts_changed=result.contacts_changed,
        points=result.points,
    )


@strawberry.type
class ScoringQueries:
    scoring_rules: list[ScoringRule] | None = strawberry.field(
        resolver=scoring_rules, description="Filtered by group, status and kind."
    )
    scoring_rule: ScoringRule | None = strawberry.field(resolver=scoring_rule)
    fit_rules: list[FitRule] | None = strawberry.field(resolver=fit_rules)
    decay_policy: DecayPolicy | None = strawberry.field(resolver=decay_policy)
    decay_policies: list[DecayPolicy] | None = strawberry.field(
        resolver=decay_policies, description="Every version, newest first."
    )


@strawberry.type
class ScoringMutations:
    record_interaction: RecordInteractionPayload | None = strawberry.field(
        resolver=record_interaction,
        description="Score one behaviour. Idempotent by idempotencyKey.",
    )
    record_interactions: RecordInteractionsPayload | None = strawberry.field(
        resolver=record_interactions,
        description=(
            "Up to 1,000 interactions in one transaction; a result per item in input order. "
            "Invalid items are reported and skipped; re-sending the batch changes nothing."
        ),
    )
    create_scoring_rule: ScoringRule | None = strawberry.field(
        resolver=create_scoring_rule,
        permission_classes=[IsAdmin.doing("changing scoring rules")],
        description="Admin.",
    )
    update_scoring_rule: ScoringRule | None = strawberry.field(
        resolver=update_scoring_rule,
        permission_classes=[IsAdmin.doing("changing scoring rules")],
        description="Admin. Applies to interactions recorded from now on.",
    )
    delete_scoring_rule: strawberry.ID | None = strawberry.field(
        resolver=delete_scoring_rule,
        permission_classes=[IsAdmin.doing("changing scoring rules")],
        description="Admin. SYSTEM rules cannot be deleted (FORBIDDEN): suspend them.",
    )
    create_fit_rule: FitRule | None = strawberry.field(
        resolver=create_fit_rule,
        permission_classes=[IsAdmin.doing("changing fit rules")],
        description="Admin. Re-scores every contact's fit.",
    )
    update_fit_rule: FitRule | None = strawberry.field(
        resolver=update_fit_rule,
        permission_classes=[IsAdmin.doing("changing fit rules")],
        description="Admin. Re-scores every contact's fit.",
    )
    delete_fit_rule: strawberry.ID | None = strawberry.field(
        resolver=delete_fit_rule,
        permission_classes=[IsAdmin.doing("changing fit rules")],
        description="Admin. Takes its points back.",
    )
    adjust_score: Contact | None = strawberry.field(
        resolver=adjust_score,
        permission_classes=[IsAdmin.doing("adjusting scores by hand")],
        description="Admin. A MANUAL ledger entry.",
    )
    update_decay_policy: DecayPolicy | None = strawberry.field(
        resolver=update_decay_policy,
        permission_classes=[IsAdmin.doing("changing the decay policy")],
        description="Admin. Creates a new version.",
    )
    run_decay: DecayRun | None = strawberry.field(
        resolver=run_decay,
        permission_classes=[IsAdmin.doing("running decay")],
        description="Admin. The scheduler also runs it.",
    )

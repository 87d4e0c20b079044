"""The Query root."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from api.resolvers import api_keys as key_r
from api.resolvers import automations as automation_r
from api.resolvers import companies as company_r
from api.resolvers import contacts as contact_r
from api.resolvers import lifecycle as lifecycle_r
from api.resolvers import lists as list_r
from api.resolvers import scoring as scoring_r
from api.resolvers import tags as tag_r
from api.resolvers import tiers as tier_r
from api.resolvers import webhooks as webhook_r
from api.schema.api_key import ApiKey
from api.schema.automations import AutomationRun, AutomationType
from api.schema.company import Company
from api.schema.contact import Contact
from api.schema.lists import Cluster, ContactListType
from api.schema.pagination import Connection
from api.schema.scoring import DecayPolicy, FitRule, ScoringRule
from api.schema.tag import Tag
from api.schema.tiers import PolicyVersion, SegmentScheme, Simulation, TierPolicyType


@strawberry.type
class Query:
    contact: Contact | None = strawberry.field(
        resolver=contact_r.contact, description="null with a NOT_FOUND error when absent."
    )
    contact_by_email: Contact | None = strawberry.field(
        resolver=contact_r.contact_by_email,
        description="Looked up by normalised email; null with NOT_FOUND when absent.",
    )
    contacts: Connection[Contact] | None = strawberry.field(
        resolver=contact_r.contact_list,
        description="Contacts matching `filter`, in `orderBy` order, Relay-paginated (max 500).",
    )
    company: Company | None = strawberry.field(
        resolver=company_r.company, description="null with a NOT_FOUND error when absent."
    )
    companies: Connection[Company] | None = strawberry.field(resolver=company_r.company_list)
    tags: list[Tag] | None = strawberry.field(
        resolver=tag_r.tag_list, description="All tags by name."
    )
    tag: Tag | None = strawberry.field(
        resolver=tag_r.tag, description="By code; null with a NOT_FOUND error when absent."
    )
    api_keys: list[ApiKey] | None = strawberry.field(
        resolver=key_r.api_keys, description="Admin only."
    )
    scoring_rules: list[ScoringRule] | None = strawberry.field(
        resolver=scoring_r.scoring_rules, description="Filtered by group, status and kind."
    )
    scoring_rule: ScoringRule | None = strawberry.field(resolver=scoring_r.scoring_rule)
    fit_rules: list[FitRule] | None = strawberry.field(resolver=scoring_r.fit_rules)
    decay_policy: DecayPolicy | None = strawberry.field(resolver=scoring_r.decay_policy)
    decay_policies: list[DecayPolicy] | None = strawberry.field(
        resolver=scoring_r.decay_policies, description="Every version, newest first."
    )
    tier_policy: TierPolicyType | None = strawberry.field(
        resolver=tier_r.tier_policy, description="The current tier policy."
    )
    segment_scheme: SegmentScheme | None = strawberry.field(
        resolver=tier_r.segment_scheme, description="The current segment scheme."
    )
    policy_versions: list[PolicyVersion] | None = strawberry.field(
        resolver=tier_r.policy_versions, description="Every version, newest first."
    )
    simulate_tier_policy: Simulation | None = strawberry.field(
        resolver=tier_r.simulate_tier_policy,
        description="Tier distribution now vs under a proposed policy. Writes nothing.",
    )
    simulate_segment_scheme: Simulation | None = strawberry.field(
        resolver=tier_r.simulate_segment_scheme,
        description="Segment distribution now vs under a proposed scheme. Writes nothing.",
    )
    segmentation_dictionary: str | None = strawberry.field(
        resolver=tier_r.segmentation_dictionary,
        description="Every rule, weight, threshold, override and segment, as JSON or Markdown.",
    )
    webhooks: list[webhook_r.Webhook] | None = strawberry.field(
        resolver=webhook_r.webhook_list, description="Admin. Every webhook, by name."
    )
    webhook: webhook_r.Webhook | None = strawberry.field(
        resolver=webhook_r.webhook, description="Admin. With its delivery log."
    )
    lists: list[ContactListType] | None = strawberry.field(
        resolver=list_r.contact_lists, description="Saved lists by name (of `kind`, if given)."
    )
    list: ContactListType | None = strawberry.field(
        resolver=list_r.contact_list, description="null with a NOT_FOUND error when absent."
    )
    clusters: list[Cluster] | None = strawberry.field(
        resolver=list_r.clusters,
        description=(
            "Contacts matching `filter` grouped by `by`: count and average score per group, "
            "largest first (at most 1,000 groups)."
        ),
    )
    automations: list[AutomationType] | None = strawberry.field(
        resolver=automation_r.automation_list, description="Every automation, oldest first."
    )
    automation: AutomationType | None = strawberry.field(resolver=automation_r.automation)
    automation_runs: list[AutomationRun] | None = strawberry.field(
        resolver=automation_r.automation_runs,
        description="The run log, newest first (1-500): trigger, actions, outcome.",
    )
    duplicate_candidates: list[lifecycle_r.DuplicateCandidate] | None = strawberry.field(
        resolver=lifecycle_r.duplicate_candidates,
        description=(
            "Pairs of contacts that are probably one person (normalised email, phone, name at "
            "the same company, fuzzy email/name similarity), most alike first, with reasons."
        ),
    )
    export_contact_data: JSON | None = strawberry.field(
        resolver=lifecycle_r.export_contact_data,
        description="Admin. Everything stored about a contact (GDPR access request), as JSON.",
    )
    kpis: list[lifecycle_r.KpiRow] | None = strawberry.field(
        resolver=lifecycle_r.kpi_rows,
        description=(
            "Per tier, segment or list over [from, to): contacts, average score, conversion "
            "rate, email open rate, tier transitions."
        ),
    )

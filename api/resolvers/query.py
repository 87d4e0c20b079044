"""The Query root."""

from __future__ import annotations

import strawberry

from api.resolvers import api_keys as key_r
from api.resolvers import companies as company_r
from api.resolvers import contacts as contact_r
from api.resolvers import scoring as scoring_r
from api.resolvers import tags as tag_r
from api.resolvers import tiers as tier_r
from api.schema.api_key import ApiKey
from api.schema.company import Company
from api.schema.contact import Contact
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

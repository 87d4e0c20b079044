"""The Mutation root: every mutation needs a key with `write` scope (some `admin`)."""

from __future__ import annotations

import strawberry

from api.resolvers import api_keys as key_r
from api.resolvers import automations as automation_r
from api.resolvers import companies as company_r
from api.resolvers import contacts as contact_r
from api.resolvers import imports as import_r
from api.resolvers import lifecycle as lifecycle_r
from api.resolvers import lists as list_r
from api.resolvers import scoring as scoring_r
from api.resolvers import tags as tag_r
from api.resolvers import tiers as tier_r
from api.resolvers import webhooks as webhook_r
from api.schema.api_key import CreatedApiKey
from api.schema.automations import AutomationType
from api.schema.company import Company
from api.schema.contact import Contact
from api.schema.lists import ContactListType
from api.schema.scoring import DecayPolicy, DecayRun, FitRule, ScoringRule
from api.schema.tag import Tag
from api.schema.tiers import SegmentScheme, TierPolicyType


@strawberry.type
class Mutation:
    create_contact: Contact | None = strawberry.field(
        resolver=contact_r.create_contact, description="CONFLICT if the email is taken."
    )
    update_contact: Contact | None = strawberry.field(resolver=contact_r.update_contact)
    delete_contact: strawberry.ID | None = strawberry.field(resolver=contact_r.delete_contact)
    upsert_contacts: contact_r.UpsertContactsPayload | None = strawberry.field(
        resolver=contact_r.upsert_contacts,
        description=(
            "Create or update up to 1,000 contacts by normalised email. Valid items are stored "
            "in one transaction; invalid ones are reported per item and store nothing."
        ),
    )
    create_company: Company | None = strawberry.field(resolver=company_r.create_company)
    update_company: Company | None = strawberry.field(resolver=company_r.update_company)
    delete_company: strawberry.ID | None = strawberry.field(
        resolver=company_r.delete_company, description="Its contacts stay, without company."
    )
    create_tag: Tag | None = strawberry.field(resolver=tag_r.create_tag)
    update_tag: Tag | None = strawberry.field(
        resolver=tag_r.update_tag, description="The code never changes."
    )
    delete_tag: str | None = strawberry.field(resolver=tag_r.delete_tag)
    assign_tag: Contact | None = strawberry.field(
        resolver=tag_r.assign_tag, description="Adds the tag, or one point if already held."
    )
    remove_tag: Contact | None = strawberry.field(resolver=tag_r.remove_tag)
    create_api_key: CreatedApiKey | None = strawberry.field(resolver=key_r.create_api_key)
    revoke_api_key: strawberry.ID | None = strawberry.field(resolver=key_r.revoke_api_key)
    record_interaction: scoring_r.RecordInteractionPayload | None = strawberry.field(
        resolver=scoring_r.record_interaction,
        description="Score one behaviour. Idempotent by idempotencyKey.",
    )
    record_interactions: scoring_r.RecordInteractionsPayload | None = strawberry.field(
        resolver=scoring_r.record_interactions,
        description=(
            "Up to 1,000 interactions in one transaction; a result per item in input order. "
            "Invalid items are reported and skipped; re-sending the batch changes nothing."
        ),
    )
    create_scoring_rule: ScoringRule | None = strawberry.field(
        resolver=scoring_r.create_scoring_rule, description="Admin."
    )
    update_scoring_rule: ScoringRule | None = strawberry.field(
        resolver=scoring_r.update_scoring_rule,
        description="Admin. Applies to interactions recorded from now on.",
    )
    delete_scoring_rule: strawberry.ID | None = strawberry.field(
        resolver=scoring_r.delete_scoring_rule,
        description="Admin. SYSTEM rules cannot be deleted (FORBIDDEN): suspend them.",
    )
    create_fit_rule: FitRule | None = strawberry.field(
        resolver=scoring_r.create_fit_rule, description="Admin. Re-scores every contact's fit."
    )
    update_fit_rule: FitRule | None = strawberry.field(
        resolver=scoring_r.update_fit_rule, description="Admin. Re-scores every contact's fit."
    )
    delete_fit_rule: strawberry.ID | None = strawberry.field(
        resolver=scoring_r.delete_fit_rule, description="Admin. Takes its points back."
    )
    adjust_score: Contact | None = strawberry.field(
        resolver=scoring_r.adjust_score, description="Admin. A MANUAL ledger entry."
    )
    update_decay_policy: DecayPolicy | None = strawberry.field(
        resolver=scoring_r.update_decay_policy, description="Admin. Creates a new version."
    )
    run_decay: DecayRun | None = strawberry.field(
        resolver=scoring_r.run_decay, description="Admin. The scheduler also runs it."
    )
    update_tier_policy: TierPolicyType | None = strawberry.field(
        resolver=tier_r.update_tier_policy,
        description="Admin. Creates the next version and re-tiers every contact.",
    )
    update_segment_scheme: SegmentScheme | None = strawberry.field(
        resolver=tier_r.update_segment_scheme,
        description="Admin. Creates the next version and re-segments every contact.",
    )
    restore_policy_version: int | None = strawberry.field(
        resolver=tier_r.restore_policy_version,
        description="Admin. Makes an old version current again (as a new version).",
    )
    import_contacts: import_r.ImportContactsPayload | None = strawberry.field(
        resolver=import_r.import_contacts,
        description=(
            "Create or update contacts from CSV (an uploaded `file`, multipart, or `text`), "
            "matched by normalised email. One transaction: good rows are stored and bad rows "
            "reported by line; with `strict`, nothing is stored if any row is bad; a header "
            "with an unknown column stores nothing. `dryRun` only reports. Rows equal to the "
            "stored contact are left alone, so re-importing a file changes nothing."
        ),
    )
    create_webhook: webhook_r.CreatedWebhook | None = strawberry.field(
        resolver=webhook_r.create_webhook, description="Admin. The secret is shown only here."
    )
    update_webhook: webhook_r.Webhook | None = strawberry.field(
        resolver=webhook_r.update_webhook, description="Admin. Fields left out keep their value."
    )
    delete_webhook: strawberry.ID | None = strawberry.field(
        resolver=webhook_r.delete_webhook, description="Admin. Its delivery log goes with it."
    )
    retry_webhook_delivery: webhook_r.WebhookDelivery | None = strawberry.field(
        resolver=webhook_r.retry_webhook_delivery,
        description="Admin. A FAILED delivery gets one more attempt, at once.",
    )
    create_list: ContactListType | None = strawberry.field(
        resolver=list_r.create_list,
        description="A dynamic list (a filter) or a static one (explicit members).",
    )
    update_list: ContactListType | None = strawberry.field(
        resolver=list_r.update_list,
        description="A new filter moves contacts in and out, with listMembershipChanged events.",
    )
    delete_list: strawberry.ID | None = strawberry.field(resolver=list_r.delete_list)
    add_list_members: ContactListType | None = strawberry.field(
        resolver=list_r.add_list_members, description="Static lists only; up to 1,000 ids."
    )
    remove_list_members: ContactListType | None = strawberry.field(
        resolver=list_r.remove_list_members, description="Static lists only; up to 1,000 ids."
    )
    create_automation: AutomationType | None = strawberry.field(
        resolver=automation_r.create_automation, description="Admin."
    )
    update_automation: AutomationType | None = strawberry.field(
        resolver=automation_r.update_automation,
        description="Admin. Suspend with status SUSPENDED; resume with ACTIVE.",
    )
    delete_automation: strawberry.ID | None = strawberry.field(
        resolver=automation_r.delete_automation, description="Admin. Its run log goes with it."
    )
    merge_contacts: Contact | None = strawberry.field(
        resolver=lifecycle_r.merge_contacts,
        description=(
            "Merge up to 50 contacts into `keepId`: interactions, ledger, tag points and static "
            "list memberships move to it; its score is its ledger sum; merged ids resolve to it."
        ),
    )
    erase_contact: strawberry.ID | None = strawberry.field(
        resolver=lifecycle_r.erase_contact,
        description="Admin. Irreversibly removes a contact's personal data; aggregates stay.",
    )

"""The root types. Each capability declares its fields next to its resolvers; the roots merge
them in the order the schema lists them."""

from __future__ import annotations

from strawberry.tools import merge_types

from api.resolvers.api_keys import ApiKeyMutations, ApiKeyQueries
from api.resolvers.automations import AutomationMutations, AutomationQueries
from api.resolvers.companies import CompanyMutations, CompanyQueries
from api.resolvers.contacts import ContactMutations, ContactQueries
from api.resolvers.imports import ImportMutations
from api.resolvers.lifecycle import LifecycleMutations, LifecycleQueries
from api.resolvers.lists import ListMutations, ListQueries
from api.resolvers.scoring import ScoringMutations, ScoringQueries
from api.resolvers.subscription import Subscription
from api.resolvers.tags import TagMutations, TagQueries
from api.resolvers.tiers import TierMutations, TierQueries
from api.resolvers.webhooks import WebhookMutations, WebhookQueries

QUERIES: tuple[type, ...] = (
    ContactQueries,
    CompanyQueries,
    TagQueries,
    ApiKeyQueries,
    ScoringQueries,
    TierQueries,
    WebhookQueries,
    ListQueries,
    AutomationQueries,
    LifecycleQueries,
)
MUTATIONS: tuple[type, ...] = (
    ContactMutations,
    CompanyMutations,
    TagMutations,
    ApiKeyMutations,
    ScoringMutations,
    TierMutations,
    ImportMutations,
    WebhookMutations,
    ListMutations,
    AutomationMutations,
    LifecycleMutations,
)


# merge_types subclasses its arguments; Strawberry lists the fields of the first one first.
Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)

__all__ = ["Mutation", "Query", "Subscription"]
